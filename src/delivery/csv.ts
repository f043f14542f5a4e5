/**
 * CSV for the downloads (`?format=csv`): RFC 4180 quoting, CRLF line ends, and cells that a
 * spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) prefixed with `'`:
 * user names come from outside.
 */
export function csvCell(value: unknown): string {
  if (value === undefined || value === null) return "";
  let s = typeof value === "string" ? value : String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(values: readonly unknown[]): string {
  return `${values.map(csvCell).join(",")}\r\n`;
}

/**
 * A CSV download streamed page by page: `header`, then `row(item)` for every item of every page
 * that `page(cursor)` returns until a page has no next cursor. Memory holds one page.
 */
export function csvStream<T>(
  header: readonly string[],
  row: (item: T) => readonly unknown[],
  page: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor?: string | undefined }>,
  start?: string,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let cursor = start;
  let first = true;
  let done = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (first) {
        first = false;
        controller.enqueue(encoder.encode(csvLine(header)));
        return;
      }
      if (done) {
        controller.close();
        return;
      }
      const p = await page(cursor);
      let text = "";
      for (const item of p.items) text += csvLine(row(item));
      if (text) controller.enqueue(encoder.encode(text));
      cursor = p.nextCursor;
      if (cursor === undefined) done = true;
    },
  });
}
