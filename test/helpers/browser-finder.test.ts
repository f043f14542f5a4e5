import { describe, expect, it } from "vitest";
import { type BrowserEnv, chooseBrowser } from "./browser-finder.js";

/** A machine with exactly the given files (and directory listings). */
function machine(files: string[], over: Partial<BrowserEnv> = {}): BrowserEnv {
  const set = new Set(files);
  return {
    env: {},
    platform: "linux",
    arch: "x64",
    home: "/home/dev",
    exists: (p) => set.has(p),
    list: (dir) => [...new Set(files.filter((f) => f.startsWith(`${dir}/`)).map((f) => f.slice(dir.length + 1).split("/")[0] ?? ""))],
    playwrightExpected: "/home/dev/.cache/ms-playwright/chromium-1255/chrome-linux64/chrome",
    sparticuzInstalled: true,
    ...over,
  };
}

const pwExpected = "/home/dev/.cache/ms-playwright/chromium-1255/chrome-linux64/chrome";

describe("chooseBrowser", () => {
  it("takes HERALD_TEST_BROWSER first, before an installed browser", () => {
    const e = machine(["/opt/my/chrome", "/usr/bin/chromium", pwExpected], { env: { HERALD_TEST_BROWSER: "/opt/my/chrome" } });
    expect(chooseBrowser(e)).toEqual({ kind: "path", path: "/opt/my/chrome", source: "HERALD_TEST_BROWSER" });
  });

  it("fails, naming the setting, when HERALD_TEST_BROWSER points at nothing (no silent fallback)", () => {
    const c = chooseBrowser(machine(["/usr/bin/chromium"], { env: { HERALD_TEST_BROWSER: "/nope" } }));
    expect(c.kind).toBe("none");
    expect(c.kind === "none" && c.reason).toMatch(/HERALD_TEST_BROWSER is set to "\/nope", which does not exist/);
  });

  it("takes an installed Chromium, Chrome or Edge before Playwright's browsers", () => {
    expect(chooseBrowser(machine(["/usr/bin/google-chrome", pwExpected]))).toEqual({
      kind: "path",
      path: "/usr/bin/google-chrome",
      source: "installed",
    });
    expect(chooseBrowser(machine(["/opt/microsoft/msedge/msedge"]))).toMatchObject({ path: "/opt/microsoft/msedge/msedge" });
    expect(chooseBrowser(machine(["/usr/bin/chromium", "/usr/bin/google-chrome"]))).toMatchObject({ path: "/usr/bin/chromium" });
  });

  it("knows the usual places on macOS and Windows", () => {
    const mac = "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome";
    expect(chooseBrowser(machine([mac], { platform: "darwin", arch: "arm64" }))).toMatchObject({ path: mac, source: "installed" });
    const edge = "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe";
    const win = machine([edge], {
      platform: "win32",
      env: { PROGRAMFILES: "C:\\Program Files", "PROGRAMFILES(X86)": "C:\\Program Files (x86)" },
    });
    expect(chooseBrowser(win)).toMatchObject({ path: edge, source: "installed" });
  });

  it("then takes the Chromium this playwright-core expects, then any other Playwright build, newest first", () => {
    expect(chooseBrowser(machine([pwExpected]))).toEqual({ kind: "path", path: pwExpected, source: "playwright" });
    const older = "/home/dev/.cache/ms-playwright/chromium-1100/chrome-linux/chrome";
    const newer = "/home/dev/.cache/ms-playwright/chromium_headless_shell-1200/chrome-linux/headless_shell";
    expect(chooseBrowser(machine([older, newer]))).toMatchObject({ path: newer, source: "playwright" });
    const custom = "/srv/pw/chromium-1300/chrome-linux64/chrome";
    expect(chooseBrowser(machine([custom, older], { env: { PLAYWRIGHT_BROWSERS_PATH: "/srv/pw" } }))).toMatchObject({ path: custom });
  });

  it("then, on Linux x64 only, the Chromium inside @sparticuz/chromium", () => {
    expect(chooseBrowser(machine([]))).toEqual({ kind: "sparticuz" });
    expect(chooseBrowser(machine([], { arch: "arm64" })).kind).toBe("none");
    expect(chooseBrowser(machine([], { platform: "darwin" })).kind).toBe("none");
    expect(chooseBrowser(machine([], { sparticuzInstalled: false })).kind).toBe("none");
  });

  it("says how to get a browser when there is none", () => {
    const c = chooseBrowser(machine([], { sparticuzInstalled: false }));
    expect(c.kind === "none" && c.reason).toMatch(/HERALD_E_TEST_NO_BROWSER.*HERALD_TEST_BROWSER.*npx playwright install chromium.*npm ci/);
  });
});
