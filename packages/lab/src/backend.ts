import { LabError, LabErrorCode } from "./errors.js";

/** Where a lab's servers run: processes on this machine (default) or containers. */
export const LabBackend = { Native: "native", Containers: "containers" } as const;
export type LabBackend = (typeof LabBackend)[keyof typeof LabBackend];

/** The environment variable that selects the backend of every lab a process starts. */
export const LAB_BACKEND_ENV = "MARINA_LAB_BACKEND";

/** The backend `MARINA_LAB_BACKEND` asks for (unset or empty: native); anything else is refused. */
export function labBackendFromEnv(env: NodeJS.ProcessEnv = process.env): LabBackend {
  const v = (env[LAB_BACKEND_ENV] ?? "").trim();
  if (v === "" || v === LabBackend.Native) return LabBackend.Native;
  if (v === LabBackend.Containers) return LabBackend.Containers;
  throw new LabError(
    LabErrorCode.BadOptions,
    `${LAB_BACKEND_ENV}=${JSON.stringify(v)} is not a lab backend: use "native" (the default) or "containers"`,
  );
}
