import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

/**
 * The emulator stands for Teams, an outside party: it must not reuse Herald's code (its JWT
 * signing, Connector client, delivery rules...), or a mistake shared by both would pass every
 * test. Only generic helpers with no protocol knowledge may be imported from outside
 * src/emulator; each is listed here with its reason.
 */
const allowed: Record<string, string> = {
  "src/clock.ts": "the injected Clock interface and the system clock: time, no protocol",
};

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** Every module a file imports, re-exports or loads with `import()`, relative ones resolved to a repository path. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
  return info.importedFiles.map(({ fileName }) =>
    fileName.startsWith(".")
      ? relative(root, resolve(dirname(file), fileName))
          .split("\\")
          .join("/")
          .replace(/\.js$/, ".ts")
      : fileName,
  );
}

describe("the emulator's separation from Herald", () => {
  it("imports nothing from Herald's own code except the generic helpers listed", () => {
    const herald = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { name: string }).name;
    const outside: string[] = [];
    for (const file of files(join(root, "src/emulator"))) {
      for (const target of importsOf(file)) {
        const fromRepo = target.startsWith("src/") && !target.startsWith("src/emulator/");
        const fromPackage = target === herald || target.startsWith(`${herald}/`);
        if ((fromRepo && !(target in allowed)) || fromPackage) outside.push(`${relative(root, file)} -> ${target}`);
      }
    }
    expect(outside).toEqual([]);
  });

  it("finds imports of every form (so the check above can fail)", () => {
    const probe = join(root, "src/emulator/auth/routes.ts");
    expect(importsOf(probe)).toContain("src/emulator/auth/keys.ts");
    const sample = ts.preProcessFile(
      'import type { A } from "../../inbound/a.js"; export * from "../x.js"; await import("../../delivery/b.js");',
      true,
      true,
    );
    expect(sample.importedFiles.map((f) => f.fileName)).toEqual(["../../inbound/a.js", "../x.js", "../../delivery/b.js"]);
  });
});
