import { describe, expect, it } from "vitest";
import type { MessageRecord } from "../../src/emulator/store/messages.js";
import { renderMarkdown } from "../../src/emulator/web/markdown.js";
import { messageView } from "../../src/emulator/web/view.js";

describe("renderMarkdown", () => {
  it("renders Teams' markdown: emphasis, code, lists, links, mentions and line breaks", () => {
    expect(renderMarkdown("**bold** and _it_ and *it2* and ~~gone~~")).toBe(
      "<p><strong>bold</strong> and <em>it</em> and <em>it2</em> and <del>gone</del></p>",
    );
    expect(renderMarkdown("- one\n- two\n\n1. first")).toBe("<ul><li>one</li><li>two</li></ul><ol><li>first</li></ol>");
    expect(renderMarkdown("line one\nline two")).toBe("<p>line one<br>line two</p>");
    expect(renderMarkdown("see [docs](https://example.com/a?b=1&c=2)")).toBe(
      '<p>see <a href="https://example.com/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">docs</a></p>',
    );
    expect(renderMarkdown("<at>Herald</at> hi")).toBe('<p><span class="mention">Herald</span> hi</p>');
    expect(renderMarkdown("use `a**b**` here")).toBe("<p>use <code>a**b**</code> here</p>");
    expect(renderMarkdown("```\n<b>x</b>\n```")).toBe("<pre><code>&lt;b&gt;x&lt;/b&gt;</code></pre>");
    expect(renderMarkdown("## Title")).toBe("<h4>Title</h4>");
  });

  it("never lets HTML or script URLs through", () => {
    const html = renderMarkdown('<img src=x onerror="alert(1)"> [x](javascript:alert(1)) "quoted"');
    expect(html).not.toContain("<img");
    expect(html).not.toContain('href="javascript');
    expect(html).toContain("&lt;img");
    expect(renderMarkdown('[x](https://e.com/"onmouseover=alert(1))')).not.toContain('"onmouseover');
  });
});

describe("messageView", () => {
  const base: MessageRecord = {
    id: "1700000000001",
    conversationId: "a:1x",
    threadId: undefined,
    from: "bot",
    user: 0,
    activity: JSON.stringify({
      type: "message",
      text: "hi",
      attachments: [{ contentType: "application/vnd.microsoft.card.adaptive", content: { type: "AdaptiveCard" } }],
    }),
    createdAt: 1_700_000_000_000,
    updatedAt: undefined,
    deletedAt: undefined,
    split: false,
    history: undefined,
    live: true,
  };

  it("shows the bot's name, the text and the cards; edits are marked, card refreshes are not", () => {
    const view = messageView(base, "Herald");
    expect(view).toMatchObject({ fromName: "Herald", text: "hi", textFormat: "markdown", editedAt: null, deletedAt: null });
    expect(view.attachments[0]!.contentType).toBe("application/vnd.microsoft.card.adaptive");
    const edited = messageView({ ...base, updatedAt: 1_700_000_001_000, history: [{ at: 1, kind: "update", previous: "{}" }] }, "Herald");
    expect(edited.editedAt).not.toBeNull();
    const refreshed = messageView(
      { ...base, updatedAt: 1_700_000_001_000, history: [{ at: 1, kind: "refresh", previous: "{}" }] },
      "Herald",
    );
    expect(refreshed.editedAt).toBeNull();
  });

  it("shows nothing of a deleted message's content", () => {
    const view = messageView({ ...base, deletedAt: 1_700_000_002_000 }, "Herald");
    expect(view.deletedAt).not.toBeNull();
    expect(view.text).toBeNull();
    expect(view.attachments).toEqual([]);
  });
});
