import { afterAll, beforeAll, expect, it } from "vitest";
import { parseActivity } from "../../src/inbound/activity.js";
import { ActivityHandler, type BotReplies } from "../../src/inbound/handler.js";
import type { OutgoingMessage } from "../../src/inbound/messages.js";
import { silentLogger } from "../../src/log.js";
import type { Store } from "../../src/store/ports.js";
import { personalInstall } from "../helpers/activities.js";
import { createStoreFactory } from "../helpers/stores.js";

/**
 * The welcome is stored before the install is answered (durable replies), so a name lookup Teams
 * is slow to answer (a tenant-wide install queues thousands on the tenant's budget) must not hold
 * the answer past Teams' 15 s: past a bound the welcome goes without the name.
 */
const stores = createStoreFactory("sqlite");
let store: Store;
beforeAll(async () => {
  store = await stores.open();
});
afterAll(() => stores.cleanup());

it("an install is answered within a few seconds and welcomed without the name when Teams does not tell the name", async () => {
  const sent: OutgoingMessage[] = [];
  const replies: BotReplies = {
    async send(_s, _c, message) {
      sent.push(message);
    },
    member: () => new Promise(() => {}),
    channelName: () => new Promise(() => {}),
  };
  const handler = new ActivityHandler({ store, replies, logger: silentLogger, now: () => new Date().toISOString() });
  const user = { id: "29:slow", name: null as unknown as string, aadObjectId: "aad-slow" };
  const started = Date.now();
  for (const body of personalInstall(user)) {
    const parsed = parseActivity({ ...body, from: { id: user.id } });
    if (!parsed.ok) throw new Error(parsed.reason);
    await handler.handle(parsed.activity);
  }
  const took = Date.now() - started;
  expect(took).toBeLessThan(8_000);
  expect(sent).toHaveLength(1);
}, 30_000);
