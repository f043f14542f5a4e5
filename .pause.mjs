import { WebSocket } from "undici";
const ws = new WebSocket(process.argv[2]);
let id = 0;
const pending = new Map();
const send = (method, params = {}) => new Promise((res) => { const i = ++id; pending.set(i, res); ws.send(JSON.stringify({ id: i, method, params })); });
let n = 0;
ws.onopen = () => { send("Debugger.enable", { maxScriptsCacheSize: 0 }); send("Debugger.setAsyncCallStackDepth", { maxDepth: 16 }); send("Debugger.pause"); };
ws.onmessage = async (ev) => {
  const m = JSON.parse(ev.data);
  if (m.id && pending.has(m.id)) { pending.get(m.id)(m); pending.delete(m.id); return; }
  if (m.method === "Debugger.paused") {
    n++;
    const frames = m.params.callFrames;
    const f = frames.find((c) => c.functionName === "executeQuery");
    let sql = "";
    if (f) {
      const r = await send("Debugger.evaluateOnCallFrame", { callFrameId: f.callFrameId, expression: "String((typeof compiledQuery!=='undefined'?compiledQuery:arguments[0]).sql).slice(0,700)" });
      sql = r.result?.result?.value ?? JSON.stringify(r.result);
    }
    const async = [];
    for (let a = m.params.asyncStackTrace; a; a = a.parent) for (const c of a.callFrames) async.push(`${c.functionName}@${c.url.split("/").slice(-2).join("/")}:${c.lineNumber + 1}`);
    console.log("---- pause", n, frames.map((c) => `${c.functionName}@${c.url.split("/").slice(-2).join("/")}:${c.location.lineNumber + 1}`).slice(0, 8).join(" < "));
    console.log("  async:", async.slice(0, 14).join(" < "));
    if (sql) console.log("  sql:", sql);
    await send("Debugger.resume");
    if (n < 5) setTimeout(() => send("Debugger.pause"), 1500); else process.exit(0);
  }
};
setTimeout(() => { console.log("timeout"); process.exit(1); }, 120000);
