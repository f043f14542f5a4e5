import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, errorText, type Page } from "./api.js";

/** A paged listing of the API shown as a table; "More" follows `nextCursor`. */
export function PagedTable<T>(props: {
  title: string;
  path: string;
  columns: { label: string; cell: (row: T) => ComponentChildren }[];
  rowKey: (row: T, i: number) => string;
  empty: string;
  children?: ComponentChildren;
  reload?: number;
}) {
  const [rows, setRows] = useState<T[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState("");
  const load = async (cursor: string | null) => {
    try {
      const sep = props.path.includes("?") ? "&" : "?";
      const page = await api<Page<T>>("GET", cursor ? `${props.path}${sep}cursor=${encodeURIComponent(cursor)}` : props.path);
      setRows((r) => (cursor ? [...r, ...page.items] : page.items));
      setNext(page.nextCursor ?? null);
    } catch (e) {
      setError(errorText(e));
    }
  };
  useEffect(() => {
    void load(null);
  }, [props.path, props.reload]);
  return (
    <section>
      <h1>{props.title}</h1>
      {props.children}
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {rows.length === 0 && !error ? (
        <p>{props.empty}</p>
      ) : (
        <TableWrap label={props.title}>
          <table>
            <thead>
              <tr>
                {props.columns.map((c) => (
                  <th scope="col" key={c.label}>
                    {c.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((r, i) => (
                <tr key={props.rowKey(r, i)}>
                  {props.columns.map((c) => (
                    <td key={c.label}>{c.cell(r)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      {next && (
        <button type="button" class="secondary" onClick={() => load(next)}>
          More
        </button>
      )}
    </section>
  );
}

/** A time for a table cell. */
export const when = (iso: string | null | undefined): string => (iso ? new Date(iso).toLocaleString() : "");

/**
 * A table's scrolling box (wide tables scroll sideways on a phone): a labelled region keyboard
 * users can focus to scroll it (axe's scrollable-region-focusable, WCAG 2.1.1).
 */
export function TableWrap(props: { label: string; children: ComponentChildren }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a region that scrolls must take focus to be scrolled with the keyboard
    <section class="table-wrap" aria-label={props.label} tabIndex={0}>
      {props.children}
    </section>
  );
}
