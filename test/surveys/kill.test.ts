import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type EmulatorHandle, startEmulator } from "../../src/emulator/index.js";
import type { Store } from "../../src/store/ports.js";
import { call, eventually } from "../helpers/stack.js";
import { forEachStore, testPostgresUrl } from "../helpers/stores.js";

const register = fileURLToPath(new URL("../delivery/helpers/ts-register.mjs", import.meta.url));
const main = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const KEY = "kill-test-admin-key-0123456789abcdef";

/** `herald serve` from source in a child process; resolves with its URL once it listens. */
async function serve(env: Record<string, string>): Promise<{ url: string; child: ChildProcess; kill(): Promise<void> }> {
  const child = spawn(process.execPath, ["--import", register, main, "serve", "--port", "0"], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`herald serve did not start in 60 s: ${err}`)), 60_000);
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /Herald listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`herald serve exited with ${code}: ${err}`));
    });
  });
  return {
    url,
    child,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}

type Json = Record<string, unknown>;

/**
 * Issue 10, proof: `herald serve` killed with SIGKILL in the middle of a survey. After a restart
 * on the same database the person goes on where they were: the next question comes, and every
 * answer is stored exactly once.
 */
forEachStore((stores) => {
  let emulator: EmulatorHandle;
  let store: Store;
  let env: Record<string, string>;
  const running: { kill(): Promise<void> }[] = [];
  beforeAll(async () => {
    store = await stores.open();
    emulator = await startEmulator({ org: { tenants: 1, users: 2, teams: 0, blockedShare: 0, uninstalledShare: 0 } });
    const databaseUrl =
      stores.name === "sqlite"
        ? stores.databaseUrl
        : `${testPostgresUrl}?options=${encodeURIComponent(`-c search_path=${stores.options.schema ?? "public"}`)}`;
    if (stores.name === "sqlite") await store.close();
    env = {
      HERALD_DATABASE_URL: databaseUrl,
      HERALD_APP_ID: emulator.appId,
      HERALD_APP_PASSWORD: "emulator-secret",
      HERALD_APP_TYPE: "MultiTenant",
      HERALD_TOKEN_ENDPOINT: emulator.tokenUrl,
      HERALD_OPENID_METADATA_URL: emulator.openIdMetadataUrl,
      HERALD_TOKEN_ISSUER: emulator.tokenIssuer,
      HERALD_TRUSTED_HOSTS: "127.0.0.1",
      HERALD_API_KEY: KEY,
      HERALD_TENANT_RPS: "0",
      HERALD_LOG_LEVEL: "error",
      // A retry of a question that was on its way when the process died is sent again.
      HERALD_IN_FLIGHT_POLICY: "resend",
    };
  }, 60_000);
  afterAll(async () => {
    for (const p of running) await p.kill();
    await emulator?.close();
  });

  const control = (method: string, path: string, body?: unknown) => call(method, `${emulator.url}/_emulator${path}`, body);
  const botSaid = async (chat: string) =>
    (((await control("GET", `/conversations/${encodeURIComponent(chat)}/messages`)).json["messages"] ?? []) as Json[])
      .filter((m) => m["from"] === "bot")
      .map((m) => JSON.stringify(m["activity"]));
  const said = (chat: string, pattern: RegExp, ms = 30_000) =>
    eventually(
      `the bot says ${pattern}`,
      async () => {
        const m = await botSaid(chat);
        return pattern.test(m.at(-1) ?? "") ? m.length : undefined;
      },
      ms,
    );
  const start = async () => {
    const p = await serve(env);
    running.push(p);
    await control("PUT", "/bot", { endpoint: `${p.url}/api/messages` });
    return p;
  };
  const type = async (user: string, text: string) => {
    const r = await control("POST", "/messages", { from: user, text });
    expect(r.json["status"], JSON.stringify(r.json)).toBe(200);
  };

  it("a survey goes on after SIGKILL and a restart, each answer stored once", async () => {
    const first = await start();
    const users = ((await control("GET", "/users?limit=1")).json["users"] ?? []) as { id: string; personalConversationId?: string }[];
    const user = users[0]?.id ?? "";
    await control("POST", "/install", { users: [user], wait: true });
    const list = await eventually("chat stored", async () => {
      const r = await call("GET", `${first.url}/v1/conversations?kind=personal`, undefined, KEY);
      const items = (r.json["items"] ?? []) as { id: string }[];
      return items.length === 1 ? items : undefined;
    });
    const chat = list[0]?.id ?? "";
    await said(chat, /Welcome/);
    const survey = {
      questions: [
        { id: "q1", text: "First question?" },
        { id: "q2", text: "Second question?", choices: ["Red", "Blue"] },
        { id: "q3", text: "Third question?" },
      ],
      outro: "All done.",
    };
    const sent = await call("POST", `${first.url}/v1/notifications`, { audience: { users: [user] }, message: { survey } }, KEY);
    expect(sent.status).toBe(202);
    const id = String(sent.json["id"]);
    await said(chat, /First question\?/);
    await type(user, "one");
    await said(chat, /Second question\?/);

    // Teams cannot be reached when the answer arrives: the next question is stored, not sent, when the process dies.
    await control("PUT", "/faults", { status503: 1 });
    await type(user, "blue");
    await first.kill();
    await control("DELETE", "/faults");
    expect((await botSaid(chat)).at(-1)).toMatch(/Second question\?/);

    await start();
    // PostgreSQL: the dead process's rows are taken over once its heartbeat is stale (30 s).
    await said(chat, /Third question\?/, 90_000);
    await type(user, "three");
    await said(chat, /All done\./);

    // A SQLite file is one process's: stop the server before reading it here.
    for (const p of running) await p.kill();
    const reopened = stores.name === "sqlite" ? await stores.open() : store;
    const answers = (await reopened.surveys.answers(id)).map((a) => [a.questionId, a.value.text]);
    expect(answers).toEqual([
      ["q1", "one"],
      ["q2", "blue"],
      ["q3", "three"],
    ]);
    const texts = await botSaid(chat);
    expect(texts.filter((t) => /Third question\?/.test(t))).toHaveLength(1);
  }, 180_000);
});
