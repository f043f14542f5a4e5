/**
 * The chat page's markup and styles (a Teams-like two-pane layout: a picker of tenants,
 * users, teams' channels, group chats and active conversations; the chosen chat, live).
 */
export function pageHtml(botName: string): string {
  const name = botName.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Teams emulator · chats</title>
<link rel="stylesheet" href="/_emulator/chat/adaptivecards.css">
<link rel="stylesheet" href="/_emulator/chat/app.css">
</head>
<body>
<aside id="picker">
  <header class="brand"><span class="logo">T</span><div><strong>Teams emulator</strong><small>what ${name} sent, live</small></div></header>
  <form id="go-form"><input id="go" placeholder="User id, object id, index, a:… or 19:…" aria-label="Open a conversation"><button>Open</button></form>
  <label class="field">Tenant <select id="tenant" aria-label="Tenant"></select></label>
  <details open><summary>Users</summary><ul id="users" class="list"></ul><button id="more-users" class="more" type="button">More users</button></details>
  <details open><summary>Teams and channels</summary><ul id="teams" class="list"></ul></details>
  <details><summary>Group chats</summary><ul id="chats" class="list"></ul></details>
  <details><summary>Active conversations <button id="refresh-active" class="link" type="button">refresh</button></summary><ul id="active" class="list"></ul></details>
</aside>
<main>
  <header id="head"><div><h1 id="title">Pick a chat</h1><div id="subtitle">Choose a user, a channel or a group chat on the left.</div></div>
  <div class="right"><span id="status" class="status">idle</span><code id="conversation-id"></code></div></header>
  <div id="scroller"><div id="empty" class="empty">No messages kept in this conversation yet.</div><div id="messages"></div></div>
  <form id="composer" hidden><input id="compose" placeholder="Write to ${name} as this user…" aria-label="Message"><button>Send</button></form>
</main>
<div id="toasts"></div>
<script src="/_emulator/chat/adaptivecards.js"></script>
<script src="/_emulator/chat/app.js"></script>
</body>
</html>
`;
}

export const pageCss = `
:root { --bg: #f5f5f5; --pane: #ffffff; --ink: #242424; --sub: #616161; --line: #e0e0e0; --brand: #5b5fc7; --mine: #e8ebfa; }
* { box-sizing: border-box; }
html, body { height: 100%; margin: 0; }
body { display: flex; font-family: "Segoe UI", system-ui, -apple-system, sans-serif; font-size: 14px; color: var(--ink); background: var(--bg); }
#picker { width: 310px; flex: none; overflow-y: auto; background: #ebebeb; border-right: 1px solid var(--line); padding: 12px; }
.brand { display: flex; gap: 10px; align-items: center; margin-bottom: 12px; }
.brand small { display: block; color: var(--sub); }
.logo { width: 32px; height: 32px; border-radius: 6px; background: var(--brand); color: #fff; display: grid; place-items: center; font-weight: 700; }
#go-form, #composer { display: flex; gap: 6px; }
#go-form input, #composer input, select { flex: 1; min-width: 0; padding: 6px 8px; border: 1px solid var(--line); border-radius: 4px; font: inherit; background: #fff; }
button { font: inherit; padding: 6px 12px; border: 0; border-radius: 4px; background: var(--brand); color: #fff; cursor: pointer; }
button.link { background: none; color: var(--brand); padding: 0 4px; font-size: 12px; }
button.more { width: 100%; margin-top: 4px; background: #fff; color: var(--brand); border: 1px solid var(--line); }
.field { display: flex; flex-direction: column; gap: 4px; margin: 12px 0; color: var(--sub); }
details { margin: 10px 0; }
summary { cursor: pointer; font-weight: 600; padding: 4px 0; }
.list { list-style: none; margin: 0; padding: 0; max-height: 260px; overflow-y: auto; }
.item { display: flex; justify-content: space-between; gap: 8px; padding: 6px 8px; border-radius: 4px; cursor: pointer; }
.item:hover, .item:focus { background: #fff; outline: none; }
.item .label { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.item .detail { color: var(--sub); font-size: 12px; white-space: nowrap; }
main { flex: 1; display: flex; flex-direction: column; min-width: 0; }
#head { display: flex; justify-content: space-between; align-items: center; gap: 12px; padding: 10px 20px; background: var(--pane); border-bottom: 1px solid var(--line); }
#head h1 { font-size: 18px; margin: 0; }
#subtitle { color: var(--sub); font-size: 12px; }
#head .right { display: flex; flex-direction: column; align-items: flex-end; gap: 4px; }
#conversation-id { font-size: 11px; color: var(--sub); max-width: 380px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.status { font-size: 12px; padding: 2px 8px; border-radius: 10px; background: #eee; color: var(--sub); }
.status.live { background: #dff6dd; color: #107c10; }
#scroller { flex: 1; overflow-y: auto; padding: 16px 20px; }
.empty { color: var(--sub); text-align: center; margin-top: 40px; }
.msg { display: flex; gap: 10px; margin: 10px 0; align-items: flex-start; }
.avatar { width: 32px; height: 32px; flex: none; border-radius: 50%; display: grid; place-items: center; background: var(--brand); color: #fff; font-weight: 600; }
.msg.user { flex-direction: row-reverse; }
.msg.user .avatar { background: #8a8886; }
.bubble { background: var(--pane); border-radius: 6px; padding: 8px 12px; max-width: min(640px, 80%); box-shadow: 0 1px 2px rgba(0,0,0,.08); }
.msg.user .bubble { background: var(--mine); }
.meta { display: flex; gap: 8px; align-items: baseline; font-size: 12px; color: var(--sub); margin-bottom: 4px; }
.meta .author { font-weight: 600; color: var(--ink); }
.meta .edited { font-style: italic; }
.meta .split { color: #a4262c; }
.text p { margin: 0 0 6px; } .text p:last-child { margin-bottom: 0; }
.text pre { background: #f0f0f0; padding: 8px; border-radius: 4px; overflow-x: auto; }
.text code { background: #f0f0f0; padding: 0 3px; border-radius: 3px; }
.text blockquote { border-left: 3px solid var(--line); margin: 4px 0; padding-left: 8px; color: var(--sub); }
.mention { color: var(--brand); font-weight: 600; }
.card { margin-top: 6px; border: 1px solid var(--line); border-radius: 6px; overflow: hidden; min-width: 280px; }
.card .ac-adaptiveCard { padding: 12px !important; }
.hero { padding: 12px; } .hero-title { font-weight: 600; font-size: 16px; } .hero-subtitle { color: var(--sub); }
.hero-buttons { display: flex; gap: 6px; margin-top: 8px; } .hero-button { border: 1px solid var(--line); padding: 4px 10px; border-radius: 4px; }
.raw { font-size: 11px; margin: 0; padding: 8px; max-height: 240px; overflow: auto; }
.deleted .bubble { background: transparent; box-shadow: none; border: 1px dashed var(--line); }
.deleted-note, .note { color: var(--sub); font-style: italic; }
.thread { background: #fafafa; border: 1px solid var(--line); border-radius: 8px; padding: 4px 12px; margin: 12px 0; }
.thread .replies { margin-left: 42px; }
#composer { padding: 10px 20px; background: var(--pane); border-top: 1px solid var(--line); }
#toasts { position: fixed; right: 16px; bottom: 16px; display: flex; flex-direction: column; gap: 8px; }
.toast { background: #323130; color: #fff; padding: 8px 12px; border-radius: 4px; max-width: 420px; }
.toast.bad { background: #a4262c; }
`;
