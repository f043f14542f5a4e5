import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

const newest = (dir: string): number => Math.max(...readdirSync(dir).map((f) => statSync(join(dir, f)).mtimeMs));

/**
 * Bundles the dashboard into dist/dashboard when the bundle is missing or older than its
 * sources (what `npm run build` does). Test files run in parallel: each builds into its own
 * folder and renames the files into place, so nobody serves a half-written bundle.
 */
export function ensureDashboardBuilt(): void {
  const out = join(root, "dist/dashboard");
  let built = 0;
  try {
    built = statSync(join(out, "app.js")).mtimeMs;
  } catch {
    built = 0;
  }
  if (built > newest(join(root, "src/dashboard"))) return;
  const tmp = join(root, `dist/.dashboard-${process.pid}`);
  execFileSync(process.execPath, ["scripts/build-dashboard.mjs", tmp], { cwd: root, stdio: "inherit" });
  mkdirSync(out, { recursive: true });
  for (const f of readdirSync(tmp)) renameSync(join(tmp, f), join(out, f));
  rmSync(tmp, { recursive: true, force: true });
}
