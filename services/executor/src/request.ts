// Admission of one exec request: decode, validate, resolve cluster and server. Pure: it
// decides, from bytes and config, whether the request may run; nothing is executed here.
import {
  type ErrorBody,
  type ExecRequest,
  ExecRequestMessage,
  errorBody,
  parseMessage,
} from "@marina/contracts";
import type { ResolvedCluster, ResolvedServer } from "./targets.js";

export type Admission =
  | {
      readonly ok: true;
      readonly request: ExecRequest;
      readonly cluster: ResolvedCluster;
      readonly server: ResolvedServer;
      /** The server named by change-master's or compare-tables' `source`. */
      readonly source: ResolvedServer | undefined;
    }
  | {
      readonly ok: false;
      /** The request's stepId when one could be read, so the reply can still be matched. */
      readonly stepId: string;
      readonly error: ErrorBody;
      readonly request: ExecRequest | undefined;
    };

/** Used as stepId in replies to requests whose stepId is missing or malformed. */
export const UNKNOWN_STEP_ID = "unknown";

function bestEffortStepId(data: Uint8Array | string): string {
  try {
    const text = typeof data === "string" ? data : new TextDecoder().decode(data);
    const raw: unknown = JSON.parse(text);
    if (typeof raw === "object" && raw !== null && "payload" in raw) {
      const p = (raw as { payload: unknown }).payload;
      if (typeof p === "object" && p !== null && "stepId" in p) {
        const id = (p as { stepId: unknown }).stepId;
        if (typeof id === "string" && id.length >= 1 && id.length <= 128) return id;
      }
    }
  } catch {
    // not JSON: nothing to echo
  }
  return UNKNOWN_STEP_ID;
}

/**
 * `subjectCluster` is the cluster token of the subject the request arrived on: a request
 * naming another cluster is refused rather than run against a cluster nobody addressed.
 */
export function admit(
  data: Uint8Array | string,
  subjectCluster: string,
  clusters: ReadonlyMap<string, ResolvedCluster>,
): Admission {
  const parsed = parseMessage(ExecRequestMessage, data);
  if (!parsed.ok) {
    return { ok: false, stepId: bestEffortStepId(data), error: parsed.error, request: undefined };
  }
  const request = parsed.value.payload;
  const refuse = (error: ErrorBody): Admission => ({
    ok: false,
    stepId: request.stepId,
    error,
    request,
  });
  const cluster = clusters.get(request.cluster);
  if (!cluster) {
    return refuse(
      errorBody(
        "UNKNOWN_CLUSTER",
        `cluster "${request.cluster}" is not configured on this executor`,
        "payload.cluster",
      ),
    );
  }
  if (request.cluster !== subjectCluster) {
    return refuse(
      errorBody(
        "VALIDATION_FAILED",
        `payload.cluster: "${request.cluster}" does not match the subject's cluster "${subjectCluster}"`,
        "payload.cluster",
      ),
    );
  }
  const server = cluster.servers.get(request.server);
  if (!server) {
    return refuse(
      errorBody(
        "UNKNOWN_SERVER",
        `server "${request.server}" is not part of cluster "${cluster.name}"`,
        "payload.server",
      ),
    );
  }
  let source: ResolvedServer | undefined;
  if (request.step.kind === "change-master" || request.step.kind === "compare-tables") {
    source = cluster.servers.get(request.step.source);
    if (!source) {
      return refuse(
        errorBody(
          "UNKNOWN_SERVER",
          `source "${request.step.source}" is not part of cluster "${cluster.name}"`,
          "payload.step.source",
        ),
      );
    }
    if (source.name === server.name) {
      return refuse(
        errorBody(
          "VALIDATION_FAILED",
          request.step.kind === "change-master"
            ? "payload.step.source: a server cannot replicate from itself"
            : "payload.step.source: a server is not compared with itself",
          "payload.step.source",
        ),
      );
    }
  }
  return { ok: true, request, cluster, server, source };
}
