import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { type BrowserChoice, type BrowserEnv, chooseBrowser } from "./browser-finder.js";

/**
 * The one way browser tests get a browser: {@link launchTestBrowser} finds one with
 * {@link chooseBrowser} (HERALD_TEST_BROWSER, an installed Chrome/Chromium/Edge, Playwright's
 * browsers, then the Chromium inside @sparticuz/chromium) and launches it headless with
 * playwright-core, or throws HERALD_E_TEST_NO_BROWSER saying how to get one.
 */

const require = createRequire(import.meta.url);

/**
 * Flags for every browser: no sandbox (tests run as root in CI), nothing that reaches the
 * network on its own (component updates, safe-browsing lists, first-run pages), no GPU.
 * @sparticuz/chromium's own `chromium.args` are not used: they are tuned for AWS Lambda
 * (`--single-process`, `--disable-web-security`, `--allow-running-insecure-content`) and would
 * test the emulator's page in a browser that behaves unlike anyone's; its Chromium runs
 * headless with the flags below (checked: navigation, clicks, screenshots, several pages).
 */
export const BROWSER_ARGS: readonly string[] = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-default-apps",
  "--disable-dev-shm-usage",
  "--no-first-run",
  "--no-default-browser-check",
];

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function canResolve(name: string): boolean {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}

/** This machine's {@link BrowserEnv}. */
export function systemBrowserEnv(): BrowserEnv {
  let playwrightExpected: string | undefined;
  try {
    playwrightExpected = chromium.executablePath();
  } catch {
    playwrightExpected = undefined;
  }
  return {
    env: process.env,
    platform: process.platform,
    arch: process.arch,
    home: homedir(),
    exists: isFile,
    list: (dir) => {
      try {
        return readdirSync(dir);
      } catch {
        return [];
      }
    },
    playwrightExpected,
    sparticuzInstalled: canResolve("@sparticuz/chromium"),
  };
}

/** The installed @sparticuz/chromium's version (its exports hide package.json from require). */
function sparticuzVersion(): string {
  for (let dir = dirname(require.resolve("@sparticuz/chromium")); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (!isFile(manifest)) continue;
    const pkg = JSON.parse(readFileSync(manifest, "utf8")) as { name?: string; version?: string };
    if (pkg.name === "@sparticuz/chromium" && pkg.version) return pkg.version;
  }
  throw new Error("HERALD_E_TEST_NO_BROWSER: cannot find @sparticuz/chromium's package.json; run `npm ci` again.");
}

/**
 * Unpacks @sparticuz/chromium's Chromium (about 200 MB, 2 s) into the temp directory once per
 * version. Test files run in parallel processes and the package returns `<tmp>/chromium` as soon
 * as that file exists, even half written, so the first process unpacks under a lock directory
 * and marks the version done; the others wait for the mark (polling, 2 minutes at most).
 */
async function unpackSparticuz(): Promise<string> {
  const { default: sparticuz } = await import("@sparticuz/chromium");
  const version = sparticuzVersion();
  const dir = tmpdir();
  const binary = join(dir, "chromium");
  const done = join(dir, `herald-sparticuz-chromium-${version}.done`);
  const lock = join(dir, "herald-sparticuz-chromium.lock");
  const deadline = Date.now() + 120_000;
  while (!(isFile(done) && isFile(binary))) {
    if (Date.now() > deadline)
      throw new Error(`HERALD_E_TEST_NO_BROWSER: unpacking @sparticuz/chromium took over 2 minutes (lock ${lock}).`);
    try {
      mkdirSync(lock);
    } catch {
      // Someone else is unpacking; a lock older than the deadline is a crashed process's.
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 120_000) rmSync(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    try {
      if (!isFile(done)) {
        // No mark for this version: a binary there is another version's or half written.
        rmSync(binary, { force: true });
        const path = await sparticuz.executablePath();
        if (path !== binary) throw new Error(`@sparticuz/chromium unpacked to ${path}, expected ${binary}`);
        writeFileSync(done, `${new Date().toISOString()}\n`);
      }
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
  return binary;
}

/** The executable to launch for a choice, unpacking @sparticuz/chromium if that is the choice. */
export async function resolveBrowser(choice: BrowserChoice): Promise<string> {
  if (choice.kind === "none") throw new Error(choice.reason);
  if (choice.kind === "path") return choice.path;
  return unpackSparticuz();
}

/** Launches the test browser headless (see the file's comment for how it is found). */
export async function launchTestBrowser(): Promise<Browser> {
  const executablePath = await resolveBrowser(chooseBrowser(systemBrowserEnv()));
  return chromium.launch({ executablePath, headless: true, args: [...BROWSER_ARGS] });
}
