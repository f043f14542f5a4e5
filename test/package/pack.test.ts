import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

/**
 * What `npm pack` puts in Herald's package: exactly what an installed Herald needs (the `bin`,
 * the compiled JavaScript and its type declarations, README, LICENSE, package.json) and nothing
 * else (no sources, tests, benchmarks, images, source maps). Migrations are TypeScript modules
 * (src/store/migrations) compiled into dist/store/migrations, not a folder of their own. The
 * expected list is derived from src/, so a new source file needs no edit here. Uses dist/ as
 * `npm test` builds it; `--ignore-scripts` keeps `npm pack` from rebuilding dist/ under the
 * tests that run it.
 */

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const temp: string[] = [];

afterAll(() => {
  for (const dir of temp) rmSync(dir, { recursive: true, force: true });
});

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [path] : [];
  });
}

/**
 * Every file the package must hold: compiled code and declarations for each source file, except
 * the dashboard's browser sources (src/dashboard), which ship as one bundle and its style sheet.
 */
function expectedFiles(): string[] {
  const compiled = sources(join(root, "src")).flatMap((file) => {
    const base = relative(join(root, "src"), file).split("\\").join("/").replace(/\.ts$/, "");
    return base.startsWith("dashboard/") ? [] : [`dist/${base}.js`, `dist/${base}.d.ts`];
  });
  const dashboard = ["dist/dashboard/app.js", "dist/dashboard/app.css", "dist/dashboard/app.js.LEGAL.txt"];
  return ["LICENSE", "README.md", "bin/herald.js", "package.json", ...compiled, ...dashboard].sort();
}

describe("npm pack", () => {
  it("holds the bin, dist's .js and .d.ts for every source file, README, LICENSE and package.json, and nothing else", async () => {
    expect(existsSync(join(root, "dist/cli/main.js")), "dist/ is missing: run `npm run build` first").toBe(true);
    const { stdout } = await run(npm, ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root });
    const [pack] = JSON.parse(stdout) as { files: { path: string }[] }[];
    const packed = (pack?.files ?? []).map((f) => f.path).sort();
    const expected = expectedFiles();
    expect({
      missing: expected.filter((f) => !packed.includes(f)),
      unexpected: packed.filter((f) => !expected.includes(f)),
    }).toEqual({ missing: [], unexpected: [] });
  });

  it("installs from its tarball into an empty project, where `npx herald --help` lists the commands", async () => {
    const dir = mkdtempSync(join(tmpdir(), "herald-pack-"));
    temp.push(dir);
    const { stdout } = await run(npm, ["pack", "--json", "--ignore-scripts", "--pack-destination", dir], { cwd: root });
    const [pack] = JSON.parse(stdout) as { filename: string }[];
    const app = join(dir, "app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "herald-pack-check", version: "1.0.0", private: true }));
    // Dependencies come from npm's cache (filled by `npm ci`); scripts are skipped because native
    // modules' install scripts would try to download prebuilt binaries, and `--help` needs none.
    await run(
      npm,
      ["install", "--no-save", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund", join(dir, pack?.filename ?? "")],
      { cwd: app },
    );
    const help = await run(process.platform === "win32" ? "npx.cmd" : "npx", ["--no-install", "herald", "--help"], { cwd: app });
    for (const command of ["serve", "worker", "emulator", "demo", "send", "status"])
      expect(help.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, "m"));
  }, 180_000);
});
