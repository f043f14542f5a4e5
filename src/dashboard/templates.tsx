import { useEffect, useState } from "preact/hooks";
import { api, errorText, type Page } from "./api.js";

/** A saved template as `GET /v1/templates` lists it. */
export interface SavedTemplate {
  id: string;
  name: string;
  description: string | null;
  message: Record<string, unknown>;
  category: string | null;
  options: { priority?: "normal" | "urgent"; footer?: boolean; data?: Record<string, unknown> };
  createdBy: string;
}

/** At most this many pages of 500 are loaded into the picker (100 000 templates). */
const maxPages = 200;

/** Every template the signed-in key may read: `GET /v1/templates` page after page. */
export async function allTemplates(): Promise<SavedTemplate[]> {
  const out: SavedTemplate[] = [];
  let cursor: string | null = null;
  for (let n = 0; n < maxPages; n++) {
    const page: Page<SavedTemplate> = await api<Page<SavedTemplate>>(
      "GET",
      `/v1/templates?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
    );
    out.push(...page.items);
    cursor = page.nextCursor;
    if (!cursor) break;
  }
  return out;
}

/** What "Save as template" stores: the body of `POST /v1/templates` without its name. */
export type TemplateContent = Pick<SavedTemplate, "message" | "options"> & { category?: string };

/**
 * Compose's templates: pick a saved template to start from, or save what is composed as a new
 * one (`POST /v1/templates`; the API refuses keys that may not write, and names a bad field).
 */
export function TemplateBar(props: {
  /** What is composed now, or why it cannot be saved. */
  current: () => TemplateContent | { error: string };
  onUse: (t: SavedTemplate) => void;
  /** The signed-in key may write templates (send or draft). */
  mayWrite: boolean;
}) {
  const [list, setList] = useState<SavedTemplate[]>([]);
  const [picked, setPicked] = useState("");
  const [name, setName] = useState("");
  const [note, setNote] = useState<{ text: string; error: boolean } | undefined>();
  const load = () =>
    allTemplates().then(
      (items) => setList(items),
      (e) => setNote({ text: errorText(e), error: true }),
    );
  useEffect(() => {
    load();
  }, []);

  const use = () => {
    const t = list.find((x) => x.id === picked);
    if (!t) return setNote({ text: "Choose a template first.", error: true });
    props.onUse(t);
    setNote({ text: `Started from the template "${t.name}".`, error: false });
  };
  const save = async () => {
    if (!name.trim()) return setNote({ text: "Give the template a name.", error: true });
    const content = props.current();
    if ("error" in content) return setNote({ text: content.error, error: true });
    try {
      const t = await api<SavedTemplate>("POST", "/v1/templates", { name: name.trim(), ...content });
      setNote({ text: `Saved the template "${t.name}".`, error: false });
      setName("");
      await load();
      setPicked(t.id);
    } catch (e) {
      setNote({ text: errorText(e), error: true });
    }
  };

  return (
    <fieldset class="templates">
      <legend>Templates</legend>
      <label for="template-pick">Start from a template</label>
      <div style={{ display: "flex", gap: "0.5rem", alignItems: "center" }}>
        <select id="template-pick" value={picked} onChange={(e) => setPicked(e.currentTarget.value)}>
          <option value="">{list.length === 0 ? "(no templates saved yet)" : "Choose…"}</option>
          {list.map((t) => (
            <option key={t.id} value={t.id}>
              {t.name}
              {t.category ? ` (${t.category})` : ""}
            </option>
          ))}
        </select>
        <button type="button" class="secondary" onClick={use} disabled={!picked}>
          Use template
        </button>
      </div>
      {props.mayWrite && (
        <>
          <label for="template-name">Save what is composed as a template named</label>
          <div style={{ display: "flex", gap: "0.5rem", alignItems: "center" }}>
            <input id="template-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
            <button type="button" class="secondary" onClick={() => save()}>
              Save as template
            </button>
          </div>
        </>
      )}
      {note && (
        <p role={note.error ? "alert" : "status"} class={note.error ? "error" : "note"}>
          {note.text}
        </p>
      )}
    </fieldset>
  );
}
