import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, expect, it } from "vitest";
import { launchTestBrowser } from "../helpers/browser.js";

/**
 * The README's first command, as a newcomer runs it: `herald demo` (the built CLI) starts the
 * emulator and Herald, installs the app, broadcasts, and the broadcast is visible in the
 * emulator's chat page in a real browser. The screenshot is the README's picture.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const cwd = mkdtempSync(join(tmpdir(), "herald-demo-"));
let child: ChildProcess | undefined;

afterAll(() => {
  child?.kill("SIGKILL");
  rmSync(cwd, { recursive: true, force: true });
});

function waitFor(output: () => string, pattern: RegExp, ms: number): Promise<RegExpMatchArray> {
  return new Promise((resolveMatch, reject) => {
    const deadline = Date.now() + ms;
    const tick = () => {
      const m = output().match(pattern);
      if (m) return resolveMatch(m);
      if (Date.now() > deadline || child?.exitCode !== null)
        return reject(new Error(`demo did not print ${pattern} in time; it printed:\n${output()}`));
      setTimeout(tick, 50);
    };
    tick();
  });
}

it("npx herald demo: installs, broadcasts, shows the broadcast in the chat page, and stops cleanly on Ctrl-C", {
  timeout: 180_000,
}, async () => {
  let out = "";
  child = spawn(process.execPath, [join(root, "bin/herald.js"), "demo", "--users", "300", "--port", "0", "--emulator-port", "0"], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  await waitFor(() => out, /Running until Ctrl-C/, 150_000);
  const done = out.match(/Done: (\d+) sent, (\d+) blocked the bot, (\d+) not found \(uninstalled\), (\d+) failed/);
  expect(done, out).not.toBeNull();
  expect(Number(done?.[1])).toBeGreaterThan(250);
  expect(Number(done?.[4])).toBe(0);
  // Some people never installed the app: the broadcast installed it for them through Graph (issue 15).
  const onTheWay = out.match(/; (\d+) installed on the way/);
  expect(onTheWay, out).not.toBeNull();
  expect(Number(onTheWay?.[1])).toBeGreaterThan(0);
  const chatUrl = out.match(/Chat view \(what each user sees\):\s+(\S+)/)?.[1];
  expect(chatUrl).toMatch(/\/_emulator\/chat\?conversation=/);

  const browser = await launchTestBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
    await page.goto(chatUrl ?? "");
    await page.waitForSelector("body[data-ready='1']", { timeout: 15_000 });
    const card = page.locator(".ac-adaptiveCard", { hasText: "first broadcast" });
    await card.first().waitFor({ timeout: 15_000 });
    expect(await page.locator(".msg", { hasText: "Welcome" }).count()).toBe(1);
    await page.screenshot({ path: join(root, "docs/images/demo-chat.png") });

    // The dashboard's one-time sign-in link: signs in once, then is spent.
    const signIn = out.match(/Dashboard \(one-time sign-in link\):\s+(\S+)/)?.[1];
    expect(signIn).toMatch(/\/dashboard\/sign-in\?token=/);
    const dash = await (await browser.newContext()).newPage();
    await dash.goto(signIn ?? "");
    await dash.getByRole("button", { name: "Sign out" }).waitFor({ timeout: 15_000 });
    const again = await (await browser.newContext()).newPage();
    const res = await again.goto(signIn ?? "");
    expect(res?.status()).toBe(401);
    expect(await again.textContent("body")).toContain("already used or has expired");
  } finally {
    await browser.close();
  }

  const exited = new Promise<number | null>((r) => child?.once("exit", (code) => r(code)));
  child.kill("SIGINT");
  expect(await exited).toBe(0);
});
