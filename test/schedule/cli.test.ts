import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerClientCommands } from "../../src/cli/client.js";
import { registerSeriesCommands } from "../../src/cli/series.js";
import { STACK_API_KEY, type Stack, startStack } from "../helpers/stack.js";
import { createStoreFactory } from "../helpers/stores.js";

/**
 * `herald send --cron` / `--local-time` and `herald series ...` against a running Herald over
 * HTTP, the commands parsed and run in process (their output captured).
 */
const stores = createStoreFactory("sqlite");
let stack: Stack;

beforeAll(async () => {
  stack = await startStack(await stores.open(), { emulator: { org: { tenants: 1, users: 3 }, limits: false } });
});
afterAll(async () => {
  await stack?.close();
  await stores.cleanup();
});

/** Run `herald <args>` in process; its stdout. */
async function herald(...args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerClientCommands(program);
  registerSeriesCommands(program);
  let out = "";
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(["node", "herald", ...args, "--url", stack.heraldUrl, "--api-key", STACK_API_KEY]);
  } finally {
    process.stdout.write = write;
  }
  return out;
}

/** `herald send` of `text` to the emulator's user `index` (its id and tenant), with `flags`. */
function sendTo(index: number, text: string, ...flags: string[]): Promise<string> {
  const user = stack.emulator.org.user(index);
  return herald("send", "--users", user.id, "--tenant", user.tenantId, "--text", text, ...flags);
}

describe("herald series", () => {
  it("send --cron makes a series; list, show, pause, resume, edit and cancel it", async () => {
    const made = JSON.parse(await sendTo(0, "weekly", "--cron", "0 9 * * 1", "--time-zone", "Europe/Paris")) as {
      id: string;
      series: boolean;
      status: string;
    };
    expect(made).toMatchObject({ series: true, status: "active" });
    const listed = (await herald("series", "list"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { id: string });
    expect(listed.map((s) => s.id)).toContain(made.id);
    expect(JSON.parse(await herald("series", "show", made.id))).toMatchObject({
      id: made.id,
      schedule: { cron: "0 9 * * 1", timeZone: "Europe/Paris" },
    });
    expect(JSON.parse(await herald("series", "pause", made.id))).toMatchObject({ state: "paused" });
    expect(JSON.parse(await herald("series", "resume", made.id))).toMatchObject({ state: "active" });
    const edited = JSON.parse(await herald("series", "edit", made.id, "--time-zone", "America/New_York", "--text", "weekly (edited)")) as {
      schedule: { cron: string; timeZone: string };
      message: { text: string };
    };
    expect(edited.schedule).toEqual({ cron: "0 9 * * 1", timeZone: "America/New_York" });
    expect(edited.message.text).toBe("weekly (edited)");
    expect(JSON.parse(await herald("series", "cancel", made.id))).toMatchObject({ state: "canceled" });
    const canceled = (await herald("series", "list", "--state", "canceled"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { id: string });
    expect(canceled.map((s) => s.id)).toEqual([made.id]);
  });

  it("send --local-time schedules each recipient in their own zone", async () => {
    const made = JSON.parse(await sendTo(1, "hi", "--local-time", "09:00", "--date", "2099-01-05", "--time-zone", "Asia/Tokyo")) as {
      id: string;
      status: string;
    };
    expect(made.status).toBe("scheduled");
    const row = JSON.parse((await herald("deliveries", made.id)).trim()) as { notBefore: string; timezone: string };
    // No conversation is stored for the user: the request's zone applies.
    expect(row).toMatchObject({ timezone: "Asia/Tokyo", notBefore: "2099-01-05T00:00:00.000Z" });
  });
});
