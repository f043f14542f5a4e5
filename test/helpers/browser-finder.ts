import { join, win32 } from "node:path";

/**
 * Which Chromium-family browser the browser tests drive: a pure decision over the environment,
 * so its order is tested without touching the disk (test/helpers/browser-finder.test.ts).
 *
 * Order, first match wins:
 * 1. `HERALD_TEST_BROWSER` (a path). When set it is the only choice: a path that does not exist
 *    fails the suite instead of silently testing with another browser.
 * 2. an installed Chrome, Chromium or Edge at its usual place for the platform.
 * 3. Playwright's own browsers (`npx playwright install chromium`, under `PLAYWRIGHT_BROWSERS_PATH`
 *    or ~/.cache/ms-playwright): the build this playwright-core expects, else any other build.
 * 4. on Linux x64, the Chromium shipped inside the `@sparticuz/chromium` devDependency, so
 *    `npm ci && npm test` works on a machine with no browser and no network beyond npm.
 * 5. nothing: the suite fails with {@link noBrowserMessage}.
 */
export type BrowserChoice =
  | { kind: "path"; path: string; source: "HERALD_TEST_BROWSER" | "installed" | "playwright" }
  | { kind: "sparticuz" }
  | { kind: "none"; reason: string };

/** What {@link chooseBrowser} may look at; every field is injectable for tests. */
export interface BrowserEnv {
  /** `process.env`. */
  env: Readonly<Record<string, string | undefined>>;
  /** `process.platform`. */
  platform: NodeJS.Platform;
  /** `process.arch`. */
  arch: string;
  /** The user's home directory. */
  home: string;
  /** Whether a file exists (and is a file). */
  exists: (path: string) => boolean;
  /** Names in a directory, `[]` when it does not exist. */
  list: (dir: string) => string[];
  /** The executable playwright-core would launch (`chromium.executablePath()`), or undefined. */
  playwrightExpected: string | undefined;
  /** Whether `@sparticuz/chromium` can be imported. */
  sparticuzInstalled: boolean;
}

/** The usual install paths of Chrome, Chromium and Edge, in order of preference. */
export function installedBrowserPaths(platform: NodeJS.Platform, env: BrowserEnv["env"], home: string): string[] {
  if (platform === "darwin") {
    const apps = [
      "Google Chrome.app/Contents/MacOS/Google Chrome",
      "Chromium.app/Contents/MacOS/Chromium",
      "Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
    ];
    return [...apps.map((a) => `/Applications/${a}`), ...apps.map((a) => join(home, "Applications", a))];
  }
  if (platform === "win32") {
    const roots = [env["PROGRAMFILES"], env["PROGRAMFILES(X86)"], env["LOCALAPPDATA"]].filter((r): r is string => Boolean(r));
    const rel = [
      "Google\\Chrome\\Application\\chrome.exe",
      "Chromium\\Application\\chrome.exe",
      "Microsoft\\Edge\\Application\\msedge.exe",
    ];
    return rel.flatMap((r) => roots.map((root) => win32.join(root, r)));
  }
  return [
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
    "/usr/bin/google-chrome-stable",
    "/opt/google/chrome/chrome",
    "/usr/bin/microsoft-edge",
    "/usr/bin/microsoft-edge-stable",
    "/opt/microsoft/msedge/msedge",
    "/snap/bin/chromium",
  ];
}

/** Where `npx playwright install` puts browsers. */
export function playwrightBrowsersDir(platform: NodeJS.Platform, env: BrowserEnv["env"], home: string): string {
  const set = env["PLAYWRIGHT_BROWSERS_PATH"];
  if (set && set !== "0") return set;
  if (platform === "darwin") return join(home, "Library", "Caches", "ms-playwright");
  if (platform === "win32") return win32.join(env["LOCALAPPDATA"] ?? win32.join(home, "AppData", "Local"), "ms-playwright");
  return join(home, ".cache", "ms-playwright");
}

/** The executables inside one `chromium-NNNN` / `chromium_headless_shell-NNNN` folder of Playwright's. */
function playwrightBuildExecutables(dir: string, platform: NodeJS.Platform): string[] {
  if (platform === "darwin") {
    return [
      join(dir, "chrome-mac", "Chromium.app", "Contents", "MacOS", "Chromium"),
      join(dir, "chrome-mac-arm64", "Chromium.app", "Contents", "MacOS", "Chromium"),
      join(dir, "chrome-headless-shell-mac-arm64", "chrome-headless-shell"),
      join(dir, "chrome-headless-shell-mac-x64", "chrome-headless-shell"),
    ];
  }
  if (platform === "win32") {
    return [win32.join(dir, "chrome-win", "chrome.exe"), win32.join(dir, "chrome-win64", "chrome.exe")];
  }
  return [
    join(dir, "chrome-linux", "chrome"),
    join(dir, "chrome-linux64", "chrome"),
    join(dir, "chrome-linux", "headless_shell"),
    join(dir, "chrome-headless-shell-linux64", "chrome-headless-shell"),
  ];
}

/** Playwright build folders, newest build number first. */
function playwrightBuilds(names: string[]): string[] {
  const build = (n: string) => Number(n.slice(n.lastIndexOf("-") + 1));
  return names
    .filter((n) => /^chromium(_headless_shell)?-\d+$/.test(n))
    .sort((a, b) => build(b) - build(a) || (a.startsWith("chromium-") ? -1 : 1));
}

/** Decides which browser to launch; see {@link BrowserChoice} for the order. */
export function chooseBrowser(e: BrowserEnv): BrowserChoice {
  const forced = e.env["HERALD_TEST_BROWSER"];
  if (forced) {
    return e.exists(forced)
      ? { kind: "path", path: forced, source: "HERALD_TEST_BROWSER" }
      : {
          kind: "none",
          reason: `HERALD_E_TEST_NO_BROWSER: HERALD_TEST_BROWSER is set to "${forced}", which does not exist; point it at a Chrome, Chromium or Edge executable, or unset it.`,
        };
  }
  const installed = installedBrowserPaths(e.platform, e.env, e.home).find((p) => e.exists(p));
  if (installed) return { kind: "path", path: installed, source: "installed" };

  if (e.playwrightExpected && e.exists(e.playwrightExpected)) return { kind: "path", path: e.playwrightExpected, source: "playwright" };
  const dir = playwrightBrowsersDir(e.platform, e.env, e.home);
  for (const build of playwrightBuilds(e.list(dir))) {
    const found = playwrightBuildExecutables(join(dir, build), e.platform).find((p) => e.exists(p));
    if (found) return { kind: "path", path: found, source: "playwright" };
  }

  if (e.platform === "linux" && e.arch === "x64" && e.sparticuzInstalled) return { kind: "sparticuz" };
  return { kind: "none", reason: noBrowserMessage(e.platform, e.arch) };
}

/** What to do when no browser was found. */
export function noBrowserMessage(platform: NodeJS.Platform, arch: string): string {
  const bundled =
    platform === "linux" && arch === "x64"
      ? " On Linux x64 `npm ci` installs @sparticuz/chromium, which is used when nothing else is found: run `npm ci` again if it is missing."
      : "";
  return (
    "HERALD_E_TEST_NO_BROWSER: the browser tests need a Chromium-family browser and none was found. " +
    "Install Google Chrome, Chromium or Microsoft Edge at its usual place, or set HERALD_TEST_BROWSER to the path of its executable, " +
    "or run `npx playwright install chromium`." +
    bundled
  );
}
