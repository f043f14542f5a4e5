// Bundles the dashboard's UI (src/dashboard/main.tsx: Preact, the adaptivecards renderer, the
// style sheet) into dist/dashboard/app.js and app.css, which `herald serve` serves at `/`.
// Everything is in the bundle: no CDN, the page works offline and behind a firewall.
import { build } from "esbuild";

const outdir = process.argv[2] ?? "dist/dashboard";
await build({
  entryPoints: { app: "src/dashboard/main.tsx" },
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2020",
  jsx: "automatic",
  jsxImportSource: "preact",
  outdir,
  legalComments: "linked",
  logLevel: "warning",
});
