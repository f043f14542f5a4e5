// Microsoft's documented proactive pattern, the baseline: botbuilder's CloudAdapter
// `continueConversationAsync` with a stored ConversationReference, one after the other
// ("Send proactive messages", Bot Framework docs), over the same references Herald sends to.
import { CloudAdapter, ConfigurationBotFrameworkAuthentication } from "botbuilder";

/** Send one message to each of users [0, count) of `org`; returns elapsed seconds. */
export async function botbuilderLoop(org, count, serviceUrl, appId, text) {
  // No app password, as with Herald in this run: the emulator runs with auth off.
  const adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication({}));
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const u = org.user(i);
    const reference = {
      channelId: "msteams",
      serviceUrl,
      conversation: { id: org.personalConversationId(i), conversationType: "personal", tenantId: u.tenantId },
      bot: { id: `28:${appId}`, name: "Herald" },
      user: { id: u.id, name: u.name, aadObjectId: u.aadObjectId },
    };
    await adapter.continueConversationAsync("", reference, async (context) => {
      await context.sendActivity(text);
    });
  }
  return (performance.now() - started) / 1000;
}
