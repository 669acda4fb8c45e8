// Bundles the dashboard (src/web) into static files in dist/public at build time: one
// script (Preact included), one stylesheet, one page. Run by the root `pnpm build` after
// tsc has type-checked it (tsconfig.web.json).
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist", "public");
mkdirSync(out, { recursive: true });

await build({
  entryPoints: [join(root, "src", "web", "main.tsx")],
  outfile: join(out, "app.js"),
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["es2022"],
  jsx: "automatic",
  jsxImportSource: "preact",
  minify: true,
  sourcemap: false,
  legalComments: "none",
  logLevel: "warning",
});
copyFileSync(join(root, "src", "web", "index.html"), join(out, "index.html"));
copyFileSync(join(root, "src", "web", "app.css"), join(out, "app.css"));
