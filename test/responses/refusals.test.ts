import { execFile } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Activity } from "../../src/inbound/activity.js";
import type { Store } from "../../src/store/ports.js";
import { eventually, STACK_API_KEY, type Stack, startStack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";
import { answeredCard, api, cardText, control, download, sendAndWait } from "./helpers.js";

/**
 * Answers Herald must refuse, each with a clear card to the person and nothing stored; and the
 * answers it must take (an ack, a multiple-choice poll, an anonymous poll); reactions and read
 * receipts recorded against the delivery. 1:1 polls to 8 users through the real emulator.
 */
forEachStore((stores) => {
  let store: Store;
  let stack: Stack;
  const users = [0, 1, 2, 3, 4, 5, 6, 7];
  const conv = (i: number) => stack.emulator.org.personalConversationId(i);

  beforeAll(async () => {
    store = await stores.open();
    stack = await startStack(store, { emulator: { org: { users: 20, blockedShare: 0, uninstalledShare: 0 } } });
    await control(stack, "/_emulator/install", { users, wait: true });
    // The welcome messages first, so the bot's latest message in each chat is the poll sent next.
    await eventually("welcomes", async () =>
      users.every((i) => stack.emulator.context.messages.list(conv(i)).some((m) => m.from === "bot")) ? true : undefined,
    );
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  });

  const poll = (extra: Record<string, unknown> = {}) =>
    sendAndWait(stack, {
      audience: { conversations: users.map(conv) },
      message: { poll: { question: "Coffee or tea?", options: ["Coffee", "Tea"], ...extra } },
    });
  const vote = async (who: number[], data: unknown, verb = "herald.response.poll", replyToId?: string) => {
    const r = await control(stack, "/_emulator/invokes", { users: who, verb, data, withBody: true, ...(replyToId ? { replyToId } : {}) });
    return (r["results"] as { status: number; body: unknown }[]).map((x) => ({ status: x.status, text: cardText(answeredCard(x.body)) }));
  };
  const stored = async (id: string) => {
    const r = await api(stack, "GET", `/v1/notifications/${id}/responses`);
    return { items: r.json["items"] as Record<string, unknown>[], summary: r.json["summary"] as Record<string, unknown> };
  };

  describe("refusals: a clear card, nothing stored", () => {
    it("a second vote on a single-choice poll keeps the first", async () => {
      const { id } = await poll();
      const [first] = await vote([0], { heraldChoice: "0" });
      expect(first!.text).toContain("your answer is recorded");
      expect(first!.text).toMatch(/✔ Coffee/);
      const [second] = await vote([0], { heraldChoice: "1" });
      expect(second!.status).toBe(200);
      expect(second!.text).toContain("You already answered; your first answer stands.");
      expect(second!.text).toMatch(/✔ Coffee/);
      const s = await stored(id);
      expect(s.items).toHaveLength(1);
      expect(s.summary).toMatchObject({ total: 1, options: [{ count: 1 }, { count: 0 }] });
    });

    it("a forged option index (out of range, negative, not a number, several on single-choice) is refused", async () => {
      const { id } = await poll();
      for (const data of [
        { heraldChoice: "7" },
        { heraldChoice: "-1" },
        { heraldChoice: "x" },
        { heraldChoice: "0,1" },
        { options: [2] },
      ]) {
        const [r] = await vote([1], data);
        expect(r!.text).toContain("not one of this poll's options");
      }
      const [none] = await vote([1], {});
      expect(none!.text).toContain("Pick an option first");
      expect((await stored(id)).items).toHaveLength(0);
      // The person can still vote properly afterwards.
      const [ok] = await vote([1], { heraldChoice: "1" });
      expect(ok!.text).toContain("your answer is recorded");
    });

    it("a closed poll takes no answer", async () => {
      const { id } = await poll({ closesAt: "2020-01-01T00:00:00Z" });
      const [r] = await vote([2], { heraldChoice: "0" });
      expect(r!.text).toContain("This poll is closed");
      expect(r!.text).toContain("Closed: no more answers are taken.");
      expect((await stored(id)).items).toHaveLength(0);
    });

    it("an answer to a message Herald does not know is refused", async () => {
      const [r] = await vote([3], { heraldChoice: "0" }, "herald.response.poll", "no-such-activity");
      expect(r!.text).toContain("Herald does not know this message");
    });

    it("an answer from someone the message was not sent to is refused", async () => {
      const { id, deliveries } = await poll();
      const mine = deliveries.find((d) => d.conversationId === conv(4))!;
      const stranger = stack.emulator.org.user(15);
      // Teams would never route another user's click into this 1:1 chat; a forged or misrouted activity, handed to Herald directly.
      const forged = {
        type: "invoke",
        name: "adaptiveCard/action",
        id: "forged-1",
        serviceUrl: stack.emulator.connectorUrl,
        channelId: "msteams",
        from: { id: stranger.id, name: stranger.name, aadObjectId: stranger.aadObjectId },
        recipient: { id: `28:${stack.emulator.appId}` },
        conversation: { id: mine.conversationId, conversationType: "personal", tenantId: stranger.tenantId },
        channelData: { tenant: { id: stranger.tenantId } },
        replyToId: mine.activityId,
        value: { action: { type: "Action.Execute", verb: "herald.response.poll", data: { heraldChoice: "0" } }, trigger: "manual" },
      } as unknown as Activity;
      const result = await stack.herald.handler.handle(forged);
      expect(cardText((result.body as { value: unknown }).value)).toContain("sent to someone else");
      expect((await stored(id)).items).toHaveLength(0);
    });
  });

  it("an acknowledgement is stored once, with who and when", async () => {
    const { id } = await sendAndWait(stack, {
      audience: { conversations: users.map(conv) },
      message: { text: "New policy", ack: { label: "I have read it" } },
    });
    const [a] = await vote([5], { herald: "ack" }, "herald.response.ack");
    expect(a!.text).toContain("You acknowledged this message.");
    expect(a!.text).toContain("New policy");
    const [again] = await vote([5], {}, "herald.response.ack");
    expect(again!.text).toContain("You already answered");
    const s = await stored(id);
    expect(s.items).toMatchObject([{ kind: "ack", userId: stack.emulator.org.user(5).id, answer: "acknowledged" }]);
    expect(s.summary).toMatchObject({ kind: "ack", total: 1 });
  });

  it("a multiple-choice anonymous poll stores the choices without any identity", async () => {
    const { id } = await poll({ multiple: true, anonymous: true, options: ["Coffee", "Tea", "Water"] });
    const [r] = await vote([6], { heraldChoice: "0,2" });
    expect(r!.text).toMatch(/✔ Coffee[\s\S]*✔ Water/);
    const [dup] = await vote([6], { heraldChoice: "1" });
    expect(dup!.text).toContain("You already answered");
    const s = await stored(id);
    expect(s.items).toEqual([expect.objectContaining({ userId: null, userName: null, options: [0, 2] })]);
    const csv = await download(stack, `/v1/notifications/${id}/responses?format=csv`);
    expect(csv).not.toContain(stack.emulator.org.user(6).id);
    expect(csv).toContain("Coffee; Water");
    const raw = await api(stack, "GET", `/v1/notifications/${id}/responses`);
    expect(JSON.stringify(raw.json)).not.toContain(stack.emulator.org.user(6).name);
  });

  it("reactions and read receipts are recorded against the delivery: reactions per type, readAt, counts.read", async () => {
    const { id } = await sendAndWait(stack, { audience: { conversations: users.map(conv) }, message: { text: "Read me" } });
    await control(stack, "/_emulator/reactions", { users: [0, 1, 2], types: ["like"] });
    await control(stack, "/_emulator/reactions", { users: [0], types: ["heart"] });
    await control(stack, "/_emulator/reactions", { users: [1], types: ["like"], action: "remove" });
    const summary = (await api(stack, "GET", `/v1/notifications/${id}/responses`)).json["summary"];
    expect(summary).toMatchObject({ reactions: { heart: 1, like: 2 } });
    await control(stack, "/_emulator/reads", { users: [3, 4] });
    const view = await api(stack, "GET", `/v1/notifications/${id}`);
    expect(view.json["counts"]).toMatchObject({ read: 2, sent: users.length });
    const list = (await api(stack, "GET", `/v1/notifications/${id}/deliveries`)).json["items"] as {
      conversationId: string;
      readAt: string | null;
    }[];
    const read = list
      .filter((d) => d.readAt !== null)
      .map((d) => d.conversationId)
      .sort();
    expect(read).toEqual([conv(3), conv(4)].sort());
    // Reading again changes nothing; the CSV carries readAt.
    await control(stack, "/_emulator/reads", { users: [3] });
    expect((await api(stack, "GET", `/v1/notifications/${id}`)).json["counts"]).toMatchObject({ read: 2 });
    const csv = await download(stack, `/v1/notifications/${id}/deliveries?format=csv`);
    expect(csv.split("\r\n")[0]).toContain("readAt");
  });

  it("herald responses ID prints the totals and one JSON line per answer; --csv the CSV", async () => {
    const { id } = await poll();
    await vote([0, 1, 2], { heraldChoice: "1" });
    const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
    const cli = (args: string[]) =>
      new Promise<{ stdout: string; stderr: string }>((done, fail) =>
        execFile(
          process.execPath,
          ["--import", join(root, "test/delivery/helpers/ts-register.mjs"), join(root, "src/cli/main.ts"), ...args],
          { env: { ...process.env, HERALD_URL: stack.heraldUrl, HERALD_API_KEY: STACK_API_KEY }, timeout: 60_000 },
          (error, stdout, stderr) => (error ? fail(new Error(`${error.message}\n${stderr}`)) : done({ stdout, stderr })),
        ),
      );
    const out = await cli(["responses", id]);
    const lines = out.stdout.trim().split("\n");
    expect(lines[0]).toBe("poll: 3 answers");
    expect(lines[1]).toMatch(/^\s+Coffee\s+0\s+0%/);
    expect(lines[2]).toMatch(/^\s+Tea\s+3\s+100%/);
    const answers = lines.slice(3).map((l) => JSON.parse(l) as { answer: string });
    expect(answers.map((a) => a.answer)).toEqual(["Tea", "Tea", "Tea"]);
    const csv = await cli(["responses", id, "--csv"]);
    expect(csv.stdout.split("\r\n")[0]).toBe("seq,kind,userId,userName,options,answer,createdAt,questionId");
    expect(csv.stdout.trim().split("\r\n")).toHaveLength(4);
  }, 90_000);
});
