// What the page's address says: `?cluster=<name>` (else the decider's first cluster),
// `?writer=<url>` (a writer's stats to show, as the sandbox prints it) and, once, a token in
// the fragment (`#token=…`, so a printed link just works) that is moved to sessionStorage
// and wiped from the address bar.
import { saveToken } from "./api.js";

export interface PageParams {
  readonly cluster: string | null;
  readonly writerUrl: string | null;
}

export function pageParams(loc: Location): PageParams {
  const q = new URLSearchParams(loc.search);
  const fragment = new URLSearchParams(loc.hash.replace(/^#/, ""));
  const token = fragment.get("token");
  if (token) {
    saveToken(token);
    history.replaceState(null, "", `${loc.pathname}${loc.search}`);
  }
  const writer = q.get("writer");
  return {
    cluster: q.get("cluster"),
    writerUrl: writer && /^https?:\/\//.test(writer) ? writer : null,
  };
}
