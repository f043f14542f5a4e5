/**
 * The Markdown Teams renders in message text and Adaptive Card TextBlocks, to safe HTML:
 * everything is escaped first, then headings, lists, quotes, fenced and inline code, bold,
 * italic, strike-through, links (http, https, mailto only), bare URLs, line breaks and the
 * `<at>Name</at>` mentions bots send. Self-contained (no imports, no outer references): the
 * chat page ships this very function to the browser with `renderMarkdown.toString()`.
 */
export function renderMarkdown(text: string): string {
  const esc = (s: string) =>
    s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  const held: string[] = [];
  const hold = (html: string) => `\uE000${held.push(html) - 1}\uE000`;
  // Fenced code is a block of its own: held apart from inline pieces, never inside a <p>.
  const holdBlock = (html: string) => `\n\uE001${held.push(html) - 1}\uE001\n`;
  let src = text.replace(/\r\n?/g, "\n");
  src = src.replace(/```[^\n]*\n([\s\S]*?)```/g, (_m, code: string) =>
    holdBlock(`<pre><code>${esc(code.replace(/\n$/, ""))}</code></pre>`),
  );
  src = src.replace(/`([^`\n]+)`/g, (_m, code: string) => hold(`<code>${esc(code)}</code>`));
  src = esc(src);
  const inline = (s: string) =>
    s
      .replace(/&lt;at&gt;([\s\S]*?)&lt;\/at&gt;/g, '<span class="mention">$1</span>')
      .replace(/\[([^\]\n]+)\]\((https?:\/\/[^\s)]+|mailto:[^\s)]+)\)/g, (_m, label: string, url: string) =>
        hold(`<a href="${url}" target="_blank" rel="noopener noreferrer">${label}</a>`),
      )
      .replace(
        /(^|[\s(])(https?:\/\/[^\s<)]+)/g,
        (_m, pre: string, url: string) => `${pre}${hold(`<a href="${url}" target="_blank" rel="noopener noreferrer">${url}</a>`)}`,
      )
      .replace(/\*\*([^*\n]+)\*\*/g, "<strong>$1</strong>")
      .replace(/__([^_\n]+)__/g, "<strong>$1</strong>")
      .replace(/(^|[^*\w])\*([^*\n]+)\*(?![*\w])/g, "$1<em>$2</em>")
      .replace(/(^|[^_\w])_([^_\n]+)_(?![_\w])/g, "$1<em>$2</em>")
      .replace(/~~([^~\n]+)~~/g, "<del>$1</del>");
  const out: string[] = [];
  let list: "ul" | "ol" | undefined;
  let para: string[] = [];
  const flushPara = () => {
    if (para.length) out.push(`<p>${para.map(inline).join("<br>")}</p>`);
    para = [];
  };
  const closeList = () => {
    if (list) out.push(`</${list}>`);
    list = undefined;
  };
  for (const line of src.split("\n")) {
    if (/^\uE001\d+\uE001$/.test(line)) {
      flushPara();
      closeList();
      out.push(line.replace(/\uE001/g, "\uE000"));
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    const bullet = /^\s*[-*+]\s+(.*)$/.exec(line);
    const numbered = /^\s*\d+[.)]\s+(.*)$/.exec(line);
    const quote = /^&gt;\s?(.*)$/.exec(line);
    if (heading) {
      flushPara();
      closeList();
      const level = Math.min(6, heading[1]!.length + 2);
      out.push(`<h${level}>${inline(heading[2]!)}</h${level}>`);
    } else if (bullet || numbered) {
      flushPara();
      const kind = bullet ? "ul" : "ol";
      if (list !== kind) {
        closeList();
        out.push(`<${kind}>`);
        list = kind;
      }
      out.push(`<li>${inline((bullet ?? numbered)![1]!)}</li>`);
    } else if (quote) {
      flushPara();
      closeList();
      out.push(`<blockquote>${inline(quote[1]!)}</blockquote>`);
    } else if (line.trim() === "") {
      flushPara();
      closeList();
    } else {
      closeList();
      para.push(line);
    }
  }
  flushPara();
  closeList();
  let html = out.join("");
  for (let i = 0; i < 3 && html.includes("\uE000"); i++)
    html = html.replace(/\uE000(\d+)\uE000/g, (_m, n: string) => held[Number(n)] ?? "");
  return html;
}
