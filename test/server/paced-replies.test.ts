import { expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import type { ConnectorClient } from "../../src/connector/client.js";
import { ConnectorError } from "../../src/connector/errors.js";
import { InProcessRateLimiter } from "../../src/delivery/limits/memory.js";
import { policiesFor } from "../../src/delivery/policies.js";
import { silentLogger } from "../../src/log.js";
import { pacedReplies } from "../../src/server/paced-replies.js";

/** Welcomes and answers to commands are sent at most once, like notifications (found by review). */
it("a welcome reply whose POST was written and then reset is not sent again", async () => {
  let posts = 0;
  const connector = {
    async sendToConversation() {
      posts++;
      if (posts === 1)
        throw new ConnectorError({
          kind: "reset",
          source: "connector",
          operation: "sendToConversation",
          url: "https://x/",
          mayHaveArrived: true,
        });
      return { id: "1" };
    },
  } as unknown as ConnectorClient;
  const replies = pacedReplies({
    connector,
    limiter: new InProcessRateLimiter(),
    policies: policiesFor(50, 1),
    conversations: {} as never,
    clock: systemClock,
    logger: silentLogger,
    random: () => 0,
  });
  await replies.send("https://x/", "a:1", { text: "Welcome" }, "t1").catch(() => undefined);
  expect(posts).toBe(1);
});
