// The third column of the throughput run: a bare keep-alive HTTP client (undici, the client
// Herald itself uses) with 32 requests in flight, no store, no limits, no retries, sending the
// same messages to the same emulator. What Herald would reach if its durable bookkeeping
// (rows, marks, results, counters) and its limits cost nothing: the ceiling of this machine.
import { Agent } from "undici";

/** Send one message to each of users [0, count) of `org`, `inFlight` at a time; returns elapsed seconds and the client's CPU seconds. */
export async function bareClientLoop(org, count, serviceUrl, appId, inFlight = 32) {
  const base = new URL(serviceUrl);
  const origin = base.origin;
  const prefix = base.pathname.replace(/\/$/, "");
  const agent = new Agent({ connections: inFlight, keepAliveTimeout: 30_000, pipelining: 1 });
  let next = 0;
  let failed = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      const u = org.user(i);
      const conversationId = org.personalConversationId(i);
      const body = JSON.stringify({
        type: "message",
        from: { id: `28:${appId}`, name: "Herald" },
        conversation: { id: conversationId },
        recipient: { id: u.id, name: u.name },
        text: `Hello ${u.name.split(" ")[0]}, this is a benchmark.`,
      });
      const res = await agent.request({
        origin,
        path: `${prefix}/v3/conversations/${encodeURIComponent(conversationId)}/activities`,
        method: "POST",
        headers: { "content-type": "application/json; charset=utf-8" },
        body,
      });
      await res.body.text();
      if (res.statusCode >= 300) failed++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  await agent.close();
  if (failed > 0) throw new Error(`bare client: ${failed} of ${count} requests failed`);
  return { seconds, cpu: (cpu.user + cpu.system) / 1e6 };
}
