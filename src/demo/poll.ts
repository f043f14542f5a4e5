import { type ResponsesSummaryView, summaryLines } from "../cli/responses.js";
import type { EmulatorHandle } from "../emulator/index.js";

type Api = (method: string, path: string, body?: unknown) => Promise<Record<string, unknown>>;

/**
 * The demo's second act (issue 10): a poll posted in the first team's General channel, answered by
 * some of its members at once through the emulator (as if they clicked), then its results printed:
 * the totals per option, as `herald responses ID` shows them.
 */
export async function demoPoll(emulator: EmulatorHandle, api: Api, say: (line: string) => void, voters = 200): Promise<string> {
  const team = emulator.org.teams[0];
  if (!team) return "";
  const options = ["Monday", "Wednesday", "Friday"];
  const created = await api("POST", "/v1/notifications", {
    audience: { teams: [team.id], deliverTo: "channel" },
    message: { text: "Planning the all-hands", poll: { question: "Which day suits you best?", options } },
    idempotencyKey: "demo-first-poll",
  });
  const id = String(created["id"]);
  const count = Math.min(voters, team.memberCount);
  say(`Poll ${id} posted in ${team.name}'s General channel; ${count} members answer it at once…`);
  let post: { conversationId?: string; activityId?: string } | undefined;
  for (let i = 0; i < 400 && !post?.activityId; i++) {
    const page = await api("GET", `/v1/notifications/${encodeURIComponent(id)}/deliveries`);
    post = (page["items"] as { conversationId?: string; activityId?: string }[] | undefined)?.[0];
    if (!post?.activityId) await new Promise((r) => setTimeout(r, 100));
  }
  if (!post?.activityId || !post.conversationId) {
    say("The poll was not posted in time; skipping the votes.");
    return id;
  }
  // Each member picks a day; a fixed spread so the demo prints the same results every time.
  const byOption: number[][] = options.map(() => []);
  for (let k = 0; k < count; k++) byOption[k % 5 === 0 ? 0 : k % 5 < 3 ? 1 : 2]!.push(emulator.org.teamMember(team.index, k));
  const started = Date.now();
  const results = await Promise.all(
    byOption.map((users, option) =>
      users.length === 0
        ? undefined
        : emulator.context.bot.invokes({
            users,
            conversationId: post.conversationId,
            replyToId: post.activityId,
            verb: "herald.response.poll",
            data: { heraldChoice: String(option) },
          }),
    ),
  );
  const answered = results.reduce((n, r) => n + (r?.statuses["200"] ?? 0), 0);
  say(`${answered} answers in ${Date.now() - started} ms; each voter saw their own choice and the live totals at once.`);
  const page = await api("GET", `/v1/notifications/${encodeURIComponent(id)}/responses?limit=1`);
  for (const line of summaryLines(page["summary"] as ResponsesSummaryView | null)) say(`  ${line}`);
  say(`  (the channel card shows the same totals; herald responses ${id} --csv lists every answer)`);
  return id;
}
