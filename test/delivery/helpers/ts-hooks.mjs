// Node module hooks that run the project's TypeScript from source in a child process (the crash
// test's server), the way vitest does in the test process: `.ts` files are transformed with
// esbuild, and a relative `./x.js` import resolves to `./x.ts` when only the source exists.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { transform } from "esbuild";

export async function resolve(specifier, context, next) {
  if (specifier.endsWith(".js") && /^(\.|\/|file:)/.test(specifier) && context.parentURL?.startsWith("file:")) {
    const url = new URL(specifier, context.parentURL);
    const path = fileURLToPath(url);
    const ts = path.replace(/\.js$/, ".ts");
    if (!existsSync(path) && existsSync(ts)) return next(pathToFileURL(ts).href, context);
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.startsWith("file:") || !url.endsWith(".ts")) return next(url, context);
  const path = fileURLToPath(url);
  const { code } = await transform(await readFile(path, "utf8"), {
    loader: "ts",
    format: "esm",
    target: "node20",
    sourcemap: "inline",
    sourcefile: path,
  });
  return { format: "module", source: code, shortCircuit: true };
}
