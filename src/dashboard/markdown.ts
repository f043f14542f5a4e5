/**
 * The Markdown Teams shows in text and TextBlocks, to HTML for the preview: everything is
 * escaped first, so text holding `<script>` or `<img onerror>` shows as text and never runs;
 * only the markup made here (bold, italic, strike, code, links to http/https/mailto, lists,
 * line breaks) is HTML.
 */
export function markdownToHtml(text: string): string {
  const esc = (s: string) =>
    s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  const inline = (s: string) =>
    esc(s)
      .replace(/`([^`]+)`/g, "<code>$1</code>")
      .replace(/\[([^\]]+)\]\((https?:\/\/[^\s)]+|mailto:[^\s)]+)\)/g, '<a href="$2" target="_blank" rel="noopener noreferrer">$1</a>')
      .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
      .replace(/(^|[^*])\*([^*]+)\*/g, "$1<em>$2</em>")
      .replace(/~~([^~]+)~~/g, "<del>$1</del>");
  const out: string[] = [];
  let list: string[] = [];
  const flush = () => {
    if (list.length) out.push(`<ul>${list.map((i) => `<li>${i}</li>`).join("")}</ul>`);
    list = [];
  };
  for (const line of text.replace(/\r\n?/g, "\n").split("\n")) {
    const item = /^\s*[-*]\s+(.*)$/.exec(line);
    if (item) {
      list.push(inline(item[1] ?? ""));
      continue;
    }
    flush();
    if (line.trim() !== "") out.push(`<p>${inline(line)}</p>`);
  }
  flush();
  return out.join("");
}
