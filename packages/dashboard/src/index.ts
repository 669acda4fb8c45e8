// The dashboard as the decider serves it: static files bundled at build time
// (scripts/bundle.mjs writes them to dist/public), so the page needs nothing from the
// internet at run time. The page itself is src/web.
import { fileURLToPath } from "node:url";

/** The files of the bundle and their content types: nothing else is ever served. */
export const DASHBOARD_FILES = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "app.css": "text/css; charset=utf-8",
} as const;

export type DashboardFile = keyof typeof DASHBOARD_FILES;

/** Where the built files are (this package's dist/public). */
export function dashboardAssetsDir(): string {
  return fileURLToPath(new URL("./public/", import.meta.url));
}

export function isDashboardFile(name: string): name is DashboardFile {
  return Object.hasOwn(DASHBOARD_FILES, name);
}
