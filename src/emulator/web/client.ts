/**
 * The chat page's script. Self-contained like `renderMarkdown`: the server ships
 * `(${chatClient})(${renderMarkdown})` to the browser, so this function may use only its
 * parameter, browser globals and the `AdaptiveCards` global of the official renderer
 * (adaptivecards.min.js, served by the emulator). Types below are erased at build time.
 */

interface AcAction {
  getJsonTypeName(): string;
  id?: string;
  verb?: string;
  data?: unknown;
  url?: string;
}
interface AcCard {
  hostConfig: unknown;
  onExecuteAction?: (action: AcAction) => void;
  parse(json: unknown): void;
  render(): HTMLElement | undefined;
}
interface AcModule {
  AdaptiveCard: { new (): AcCard; onProcessMarkdown?: (text: string, result: { outputHtml?: unknown; didProcess: boolean }) => void };
  HostConfig: new (obj: unknown) => unknown;
}
interface Attachment {
  contentType: string;
  content: unknown;
  name?: string;
}
interface View {
  id: string;
  from: "bot" | "user";
  fromName: string;
  threadId: string | null;
  createdAt: string;
  editedAt: string | null;
  deletedAt: string | null;
  split: boolean;
  text: string | null;
  textFormat: string;
  summary: string | null;
  attachments: Attachment[];
}
interface Conversation {
  id: string;
  kind: "personal" | "channel" | "chat";
  thread: string | null;
  title: string;
  subtitle: string;
  tenantId: string;
  userId: string | null;
  userName: string | null;
}

export function chatClient(md: (text: string) => string): void {
  const AC = (window as unknown as { AdaptiveCards?: AcModule }).AdaptiveCards;
  const byId = (id: string) => document.getElementById(id) as HTMLElement;
  const el = (tag: string, cls?: string, text?: string) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const api = async (path: string, init?: RequestInit) => {
    const res = await fetch(path, init);
    const body = (await res.json().catch(() => undefined)) as { error?: { message?: string } } | undefined;
    if (!res.ok) throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
    return body as Record<string, unknown>;
  };
  const post = (path: string, body: unknown) =>
    api(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const toast = (text: string, bad = false) => {
    const t = el("div", bad ? "toast bad" : "toast", text);
    byId("toasts").appendChild(t);
    setTimeout(() => t.remove(), 4000);
  };

  if (AC) {
    AC.AdaptiveCard.onProcessMarkdown = (text, result) => {
      result.outputHtml = md(text);
      result.didProcess = true;
    };
  }
  const hostConfig = AC
    ? new AC.HostConfig({
        fontFamily: "'Segoe UI', system-ui, -apple-system, sans-serif",
        spacing: { small: 4, default: 8, medium: 16, large: 20, extraLarge: 28, padding: 12 },
        actions: {
          maxActions: 6,
          buttonSpacing: 8,
          actionsOrientation: "horizontal",
          actionAlignment: "left",
          showCard: { actionMode: "inline" },
        },
        containerStyles: {
          default: {
            backgroundColor: "#FFFFFF",
            foregroundColors: { default: { default: "#242424", subtle: "#616161" }, accent: { default: "#5B5FC7" } },
          },
          emphasis: { backgroundColor: "#F5F5F5", foregroundColors: { default: { default: "#242424", subtle: "#616161" } } },
        },
      })
    : undefined;

  let current: Conversation | undefined;
  let source: EventSource | undefined;
  const nodes = new Map<string, { view: View; node: HTMLElement }>();

  // ---- rendering -------------------------------------------------------------------------
  function safeXml(html: string): DocumentFragment {
    const allowed = new Set([
      "B",
      "STRONG",
      "I",
      "EM",
      "U",
      "S",
      "STRIKE",
      "DEL",
      "BR",
      "P",
      "DIV",
      "SPAN",
      "UL",
      "OL",
      "LI",
      "PRE",
      "CODE",
      "A",
      "H1",
      "H2",
      "H3",
      "BLOCKQUOTE",
      "AT",
    ]);
    const doc = new DOMParser().parseFromString(`<body>${html}</body>`, "text/html");
    const frag = document.createDocumentFragment();
    const copy = (from: Node, to: Node) => {
      from.childNodes.forEach((child) => {
        if (child.nodeType === Node.TEXT_NODE) to.appendChild(document.createTextNode(child.textContent ?? ""));
        else if (child.nodeType === Node.ELEMENT_NODE) {
          const tag = (child as Element).tagName.toUpperCase();
          if (!allowed.has(tag)) {
            copy(child, to);
            return;
          }
          const out = tag === "AT" ? el("span", "mention") : document.createElement(tag);
          const href = (child as Element).getAttribute("href");
          if (tag === "A" && href && /^(https?:|mailto:)/i.test(href)) {
            out.setAttribute("href", href);
            out.setAttribute("target", "_blank");
            out.setAttribute("rel", "noopener noreferrer");
          }
          copy(child, out);
          to.appendChild(out);
        }
      });
    };
    copy(doc.body, frag);
    return frag;
  }

  function renderText(view: View): HTMLElement {
    const box = el("div", "text");
    const text = view.text ?? "";
    if (view.textFormat === "plain") box.textContent = text;
    else if (view.textFormat === "xml") box.appendChild(safeXml(text));
    else box.innerHTML = md(text);
    return box;
  }

  function onAction(action: AcAction, messageId: string): void {
    const type = action.getJsonTypeName();
    if (type === "Action.OpenUrl" && action.url) {
      window.open(action.url, "_blank", "noopener");
      return;
    }
    if (type !== "Action.Execute" && type !== "Action.Submit") return;
    if (!current?.userId) {
      toast("Buttons can be pressed in 1:1 chats (the page presses them as that user).", true);
      return;
    }
    // Teams posts an Action.Submit whose data is `{msteams: {type: "imBack", value}}` into the chat
    // as a message the user typed (survey choices use it).
    const ms = (action.data as { msteams?: { type?: unknown; value?: unknown } } | undefined)?.msteams;
    if (type === "Action.Submit" && ms?.type === "imBack" && typeof ms.value === "string") {
      const text = ms.value;
      post("/_emulator/messages", { from: current.userId, text }).then(
        () => toast(`Sent "${text}" as ${current?.userId ?? "the user"}.`),
        (e: Error) => toast(e.message, true),
      );
      return;
    }
    const body: Record<string, unknown> = { from: current.userId, replyToId: messageId, conversationId: current.id };
    if (action.verb) body["verb"] = action.verb;
    if (action.data !== undefined) body["data"] = action.data;
    if (action.id) body["actionId"] = action.id;
    post("/_emulator/invoke", body).then(
      (r) => toast(`The bot answered ${String(r["status"])}${r["refreshed"] ? " and refreshed the card" : ""}.`),
      (e: Error) => toast(e.message, true),
    );
  }

  function renderCard(content: unknown, messageId: string): HTMLElement {
    const box = el("div", "card");
    if (!AC) {
      box.appendChild(el("pre", "raw", JSON.stringify(content, null, 2)));
      return box;
    }
    try {
      const card = new AC.AdaptiveCard();
      card.hostConfig = hostConfig;
      card.onExecuteAction = (action) => onAction(action, messageId);
      card.parse(content);
      const rendered = card.render();
      if (rendered) box.appendChild(rendered);
      else box.appendChild(el("div", "note", "This card could not be rendered."));
    } catch (e) {
      box.appendChild(el("div", "note", `This card could not be rendered: ${(e as Error).message}`));
    }
    return box;
  }

  function renderHero(content: Record<string, unknown>): HTMLElement {
    const box = el("div", "card hero");
    for (const key of ["title", "subtitle", "text"]) {
      const v = content[key];
      if (typeof v === "string") box.appendChild(el("div", `hero-${key}`, v));
    }
    const buttons = Array.isArray(content["buttons"]) ? (content["buttons"] as Record<string, unknown>[]) : [];
    if (buttons.length) {
      const row = el("div", "hero-buttons");
      for (const b of buttons) row.appendChild(el("span", "hero-button", String(b["title"] ?? "Button")));
      box.appendChild(row);
    }
    return box;
  }

  function renderAttachment(a: Attachment, messageId: string): HTMLElement {
    if (a.contentType === "application/vnd.microsoft.card.adaptive") return renderCard(a.content, messageId);
    if (a.contentType === "application/vnd.microsoft.card.hero" && a.content && typeof a.content === "object")
      return renderHero(a.content as Record<string, unknown>);
    const box = el("details", "card other");
    box.appendChild(el("summary", undefined, a.name ?? a.contentType));
    box.appendChild(el("pre", "raw", JSON.stringify(a.content, null, 2)));
    return box;
  }

  function renderMessage(view: View): HTMLElement {
    const node = el("div", `msg ${view.from}`);
    node.dataset["id"] = view.id;
    node.appendChild(el("div", "avatar", view.fromName.slice(0, 1).toUpperCase()));
    const bubble = el("div", "bubble");
    const meta = el("div", "meta");
    meta.appendChild(el("span", "author", view.fromName));
    meta.appendChild(el("time", undefined, new Date(view.createdAt).toLocaleTimeString()));
    if (view.editedAt && !view.deletedAt) meta.appendChild(el("span", "edited", "Edited"));
    if (view.split) meta.appendChild(el("span", "split", "split by Teams"));
    bubble.appendChild(meta);
    if (view.deletedAt) {
      node.classList.add("deleted");
      bubble.appendChild(el("div", "deleted-note", "This message has been deleted."));
    } else {
      if (view.text) bubble.appendChild(renderText(view));
      for (const a of view.attachments) bubble.appendChild(renderAttachment(a, view.id));
      if (!view.text && view.attachments.length === 0) bubble.appendChild(el("div", "note", "(empty message)"));
    }
    node.appendChild(bubble);
    return node;
  }

  function container(view: View): HTMLElement {
    const list = byId("messages");
    if (current?.kind !== "channel" || !view.threadId) return list;
    const root = view.threadId;
    let thread = list.querySelector<HTMLElement>(`.thread[data-thread="${CSS.escape(root)}"]`);
    if (!thread) {
      thread = el("div", "thread");
      thread.dataset["thread"] = root;
      thread.appendChild(el("div", "replies"));
      list.appendChild(thread);
    }
    if (view.id === root) return thread;
    return thread.querySelector<HTMLElement>(".replies") ?? thread;
  }

  function upsert(view: View): void {
    const old = nodes.get(view.id);
    const node = renderMessage(view);
    if (old) old.node.replaceWith(node);
    else {
      const box = container(view);
      if (box.classList.contains("thread")) box.insertBefore(node, box.querySelector(".replies"));
      else box.appendChild(node);
    }
    nodes.set(view.id, { view, node });
  }

  function atBottom(): boolean {
    const pane = byId("scroller");
    return pane.scrollHeight - pane.scrollTop - pane.clientHeight < 80;
  }

  function scrollDown(): void {
    const pane = byId("scroller");
    pane.scrollTop = pane.scrollHeight;
  }

  function setStatus(text: string, live: boolean): void {
    const s = byId("status");
    s.textContent = text;
    s.className = live ? "status live" : "status";
  }

  // ---- the conversation ------------------------------------------------------------------
  function open(conversationId: string): void {
    source?.close();
    nodes.clear();
    byId("messages").replaceChildren();
    byId("empty").hidden = true;
    const url = new URL(window.location.href);
    url.searchParams.set("conversation", conversationId);
    history.replaceState(null, "", url.toString());
    setStatus("connecting…", false);
    const es = new EventSource(`/_emulator/chat/events?conversation=${encodeURIComponent(conversationId)}`);
    source = es;
    es.addEventListener("snapshot", (ev) => {
      const data = JSON.parse((ev as MessageEvent<string>).data) as { conversation: Conversation; messages: View[] };
      current = data.conversation;
      nodes.clear();
      byId("messages").replaceChildren();
      byId("title").textContent = current.title;
      byId("subtitle").textContent = current.subtitle;
      byId("conversation-id").textContent = current.id + (current.thread ? `;messageid=${current.thread}` : "");
      byId("composer").hidden = current.kind !== "personal";
      for (const m of data.messages) upsert(m);
      byId("empty").hidden = data.messages.length > 0;
      scrollDown();
      setStatus("live", true);
      document.body.dataset["ready"] = "1";
    });
    es.addEventListener("message", (ev) => {
      const data = JSON.parse((ev as MessageEvent<string>).data) as { kind: string; message: View };
      const stick = atBottom();
      upsert(data.message);
      byId("empty").hidden = true;
      if (stick && data.kind === "add") scrollDown();
    });
    es.addEventListener("resync", () => open(conversationId));
    es.addEventListener("problem", (ev) => {
      es.close();
      setStatus("not found", false);
      byId("title").textContent = "No such conversation";
      byId("subtitle").textContent = JSON.parse((ev as MessageEvent<string>).data).message as string;
    });
    es.onerror = () => {
      if (es.readyState !== EventSource.CLOSED) setStatus("reconnecting…", false);
    };
  }

  // ---- the picker ------------------------------------------------------------------------
  function item(label: string, detail: string, onClick: () => void): HTMLElement {
    const li = el("li", "item");
    li.appendChild(el("span", "label", label));
    if (detail) li.appendChild(el("span", "detail", detail));
    li.tabIndex = 0;
    li.addEventListener("click", onClick);
    li.addEventListener("keydown", (e) => {
      if (e.key === "Enter") onClick();
    });
    return li;
  }

  let userCursor: string | null = "0";
  async function loadUsers(reset: boolean): Promise<void> {
    const tenant = (byId("tenant") as HTMLSelectElement).value;
    const list = byId("users");
    if (reset) {
      list.replaceChildren();
      userCursor = "0";
    }
    if (userCursor === null) return;
    const page = await api(`/_emulator/users?tenantId=${encodeURIComponent(tenant)}&limit=50&cursor=${userCursor}`);
    for (const u of page["users"] as Record<string, unknown>[]) {
      const flags = [u["blocked"] ? "blocked" : "", u["uninstalled"] ? "no app" : ""].filter(Boolean).join(", ");
      list.appendChild(item(String(u["name"]), flags, () => open(String(u["conversationId"]))));
    }
    userCursor = (page["cursor"] as string | null) ?? null;
    byId("more-users").hidden = userCursor === null;
  }

  async function loadPlaces(): Promise<void> {
    const tenant = (byId("tenant") as HTMLSelectElement).value;
    const teams = byId("teams");
    teams.replaceChildren();
    const t = await api(`/_emulator/teams?tenantId=${encodeURIComponent(tenant)}&limit=200`);
    for (const team of t["teams"] as Record<string, unknown>[]) {
      for (const c of team["channels"] as Record<string, unknown>[]) {
        teams.appendChild(item(`${String(team["name"])} › ${String(c["name"])}`, "", () => open(String(c["id"]))));
      }
    }
    const chats = byId("chats");
    chats.replaceChildren();
    const c = await api("/_emulator/chats");
    for (const chat of c["chats"] as Record<string, unknown>[]) {
      if (chat["tenantId"] !== tenant) continue;
      chats.appendChild(
        item(String(chat["topic"] ?? "Group chat"), `${(chat["members"] as unknown[]).length} people`, () => open(String(chat["id"]))),
      );
    }
  }

  async function loadActive(): Promise<void> {
    const list = byId("active");
    list.replaceChildren();
    const page = await api("/_emulator/conversations?limit=30");
    for (const c of page["conversations"] as Record<string, unknown>[]) {
      list.appendChild(item(String(c["id"]), `${String(c["kept"])} kept`, () => open(String(c["id"]))));
    }
  }

  async function go(ref: string): Promise<void> {
    const id = ref.trim();
    if (!id) return;
    if (id.startsWith("a:") || id.startsWith("19:")) {
      open(id);
      return;
    }
    try {
      const u = await api(`/_emulator/users/${encodeURIComponent(id)}`);
      open(String(u["conversationId"]));
    } catch (e) {
      toast((e as Error).message, true);
    }
  }

  async function start(): Promise<void> {
    const select = byId("tenant") as HTMLSelectElement;
    const t = await api("/_emulator/tenants");
    for (const tenant of t["tenants"] as Record<string, unknown>[]) {
      const opt = document.createElement("option");
      opt.value = String(tenant["id"]);
      opt.textContent = `${String(tenant["name"])} (${String(tenant["users"])} users)`;
      select.appendChild(opt);
    }
    select.addEventListener("change", () => {
      void loadUsers(true);
      void loadPlaces();
    });
    byId("more-users").addEventListener("click", () => void loadUsers(false));
    byId("refresh-active").addEventListener("click", () => void loadActive());
    byId("go-form").addEventListener("submit", (e) => {
      e.preventDefault();
      void go((byId("go") as HTMLInputElement).value);
    });
    byId("composer").addEventListener("submit", (e) => {
      e.preventDefault();
      const input = byId("compose") as HTMLInputElement;
      if (!current?.userId || !input.value.trim()) return;
      post("/_emulator/messages", { from: current.userId, text: input.value }).then(
        () => {
          input.value = "";
        },
        (err: Error) => toast(err.message, true),
      );
    });
    await Promise.all([loadUsers(true), loadPlaces(), loadActive()]);
    const wanted = new URL(window.location.href).searchParams.get("conversation");
    if (wanted) open(wanted);
  }

  start().catch((e: Error) => toast(e.message, true));
}
