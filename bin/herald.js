#!/usr/bin/env node
// The package's `bin`: runs the compiled CLI (built by `npm ci` through the `prepare` script);
// `herald serve` and `herald worker` in a worker thread with a larger V8 young generation
// (src/cli/young-generation.ts).
import { startCli } from "../dist/cli/young-generation.js";

await startCli(new URL("../dist/cli/main.js", import.meta.url));
