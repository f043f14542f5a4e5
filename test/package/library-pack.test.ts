import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

/**
 * Herald as a library from its tarball: `npm pack`, unpacked into an empty project's
 * node_modules (its dependencies linked from this checkout's node_modules: a registry install is
 * impossible offline), then a consumer imports "herald", "herald/client" and the three adapters
 * with node, and `tsc` type-checks a consumer file against the packed declarations. No bot SDK
 * is in the consumer's node_modules: the adapters must not need one at run time. Uses dist/ as
 * `npm test` builds it.
 */
const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const temp: string[] = [];
afterAll(() => {
  for (const dir of temp) rmSync(dir, { recursive: true, force: true });
});

interface PackageJson {
  dependencies: Record<string, string>;
  exports: Record<string, string | { types: string; default: string }>;
}
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as PackageJson;

const consumerJs = `
import { createHerald, HeraldError, version } from "herald";
import { createClient, HeraldApiError } from "herald/client";
import { heraldMiddleware, botbuilderTokens } from "herald/botbuilder";
import { useHerald as useAgents, agentsTokens } from "herald/agents";
import { useHerald as useTeams, teamsTokens } from "herald/teams";
const herald = await createHerald({ databaseUrl: "sqlite:./data/consumer.db", inboundAuth: "off", logLevel: "error" });
let refused;
try { await herald.notify({ audience: {}, message: { text: "x" } }); } catch (e) { refused = e; }
await herald.close();
let deep = "importable";
try { await import("herald/dist/server/herald.js"); } catch (e) { deep = e.code; }
console.log(JSON.stringify({
  version,
  refused: refused instanceof HeraldError ? refused.code : String(refused),
  client: typeof createClient({ baseUrl: "http://127.0.0.1:1", apiKey: "k" }).notify,
  clientError: typeof HeraldApiError,
  adapters: [heraldMiddleware, botbuilderTokens, useAgents, agentsTokens, useTeams, teamsTokens].map((f) => typeof f),
  deep,
}));
`;

const consumerTs = `
import { createHerald, type HeraldLibrary, type NotificationView } from "herald";
import { createClient, type HeraldClient, type NotificationRequest } from "herald/client";
import { heraldMiddleware } from "herald/botbuilder";
import { useHerald } from "herald/teams";

export async function main(): Promise<string> {
  const herald: HeraldLibrary = await createHerald({ databaseUrl: "sqlite:./x.db", tenantRps: 10, quiet: false });
  const view: NotificationView = await herald.notify({ audience: { users: ["29:a"], tenantId: "t" }, message: { text: "hi" } });
  // @ts-expect-error: an audience kind the API does not have
  await herald.notify({ audience: { everyone: true }, message: { text: "hi" } });
  // @ts-expect-error: a setting Herald does not have
  await createHerald({ databasePath: "x" });
  const client: HeraldClient = createClient({ baseUrl: "http://127.0.0.1:3978", apiKey: "key" });
  const request: NotificationRequest = { audience: { all: true }, message: { text: "all" } };
  const accepted: { id: string } = await client.notify(request);
  const middleware = heraldMiddleware(herald);
  useHerald({ use: () => undefined }, herald);
  return view.status + accepted.id + typeof middleware.onTurn;
}
`;

describe("herald as a library, from its tarball", () => {
  it("packs every exported entry point with its types, and nothing but the package's files", async () => {
    expect(existsSync(join(root, "dist/library/create.js")), "dist/ is missing: run `npm run build` first").toBe(true);
    const { stdout } = await run(npm, ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root });
    const files = ((JSON.parse(stdout) as { files: { path: string }[] }[])[0]?.files ?? []).map((f) => f.path);
    for (const target of Object.values(pkg.exports)) {
      const paths = typeof target === "string" ? [target] : [target.types, target.default];
      for (const p of paths) expect(files, `exports target ${p}`).toContain(p.replace(/^\.\//, ""));
    }
    // The dashboard's bundle brings its style sheet and the licences of what it bundles.
    const dashboard = ["dist/dashboard/app.css", "dist/dashboard/app.js.LEGAL.txt"];
    const stray = files.filter(
      (f) => ![...dashboard, "LICENSE", "README.md", "package.json", "bin/herald.js"].includes(f) && !/^dist\/.+\.(js|d\.ts)$/.test(f),
    );
    expect(stray).toEqual([]);
    expect(files.filter((f) => /^(src|test|examples|bench|types|docs)\//.test(f) || f.endsWith(".map"))).toEqual([]);
  });

  it("imports from an empty project (no bot SDK installed) and type-checks a consumer with tsc", async () => {
    const dir = mkdtempSync(join(tmpdir(), "herald-lib-pack-"));
    temp.push(dir);
    const { stdout } = await run(npm, ["pack", "--json", "--ignore-scripts", "--pack-destination", dir], { cwd: root });
    const tarball = join(dir, (JSON.parse(stdout) as { filename: string }[])[0]?.filename ?? "");
    const app = join(dir, "app");
    const installed = join(app, "node_modules", "herald");
    mkdirSync(installed, { recursive: true });
    await run("tar", ["-xzf", tarball, "-C", installed, "--strip-components=1"]);
    for (const dep of [...Object.keys(pkg.dependencies), "@types/node"]) {
      mkdirSync(dirname(join(app, "node_modules", dep)), { recursive: true });
      symlinkSync(join(root, "node_modules", dep), join(app, "node_modules", dep), "dir");
    }
    for (const sdk of ["botbuilder", "@microsoft/agents-hosting", "@microsoft/teams.apps"])
      expect(existsSync(join(app, "node_modules", sdk))).toBe(false);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true, type: "module" }));
    writeFileSync(join(app, "index.mjs"), consumerJs);
    const result = await run(process.execPath, ["index.mjs"], { cwd: app, timeout: 60_000 });
    expect(JSON.parse(result.stdout)).toEqual({
      version: "0.1.0",
      refused: "HERALD_E_INVALID_BODY",
      client: "function",
      clientError: "function",
      adapters: Array(6).fill("function"),
      deep: "ERR_PACKAGE_PATH_NOT_EXPORTED",
    });

    writeFileSync(join(app, "consumer.ts"), consumerTs);
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ["node"],
        },
        files: ["consumer.ts"],
      }),
    );
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
    const checked = await run(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: app, timeout: 120_000 }).catch(
      (e: { stdout?: string }) => ({ stdout: `tsc failed:\n${e.stdout ?? String(e)}` }),
    );
    expect(checked.stdout).toBe("");
  }, 180_000);
});
