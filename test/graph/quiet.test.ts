import { afterAll, beforeAll, expect, it } from "vitest";
import type { Stack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";
import { type Json, messagesOf, notifyAndWait, startGraphStack } from "./stack.js";

/**
 * A quiet Herald (the library's default: the host bot sends its own welcome, Herald sends none)
 * cannot see a welcome after an install, so it must not wait for one: waiting holds a delivery
 * permit (shared by every tenant) for the whole welcome wait on each install.
 */
forEachStore((stores) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startGraphStack(await stores.open(), {
      emulator: { org: { tenants: 1, users: 4, teams: 1, blockedShare: 0, uninstalledShare: 1 } },
      // Far longer than the notification may take: a wait for a welcome shows as a timeout.
      herald: { quiet: true, welcomeWaitMs: 60_000 },
    });
  });
  afterAll(() => stack?.close());

  it("quiet: the install is followed by the message at once, no welcome awaited (none comes)", async () => {
    const org = stack.emulator.org;
    const { view } = await notifyAndWait(
      stack,
      { audience: { users: [org.user(0).aadObjectId], tenantId: org.tenants[0]!.id }, message: { text: "Quiet install" } },
      15_000,
    );
    expect(view["counts"]).toMatchObject({ sent: 1 });
    const messages = await messagesOf(stack, org.personalConversationId(0));
    expect(messages.map((m: Json) => JSON.stringify(m).includes("Quiet install"))).toEqual([true]);
  });
});
