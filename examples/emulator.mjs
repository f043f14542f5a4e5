// Shared by the three example bots: run one against `herald emulator` with one command.
// Not part of a bot: it plays the part of Teams (install the bot for a user) and of the
// system that sends the notification, then leaves the bot running until Ctrl-C.
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The app id the examples and the emulator agree on (any GUID; the emulator accepts any secret). */
export const exampleAppId = "00000000-0000-4000-8000-0000000e1a01";
export const exampleSecret = "example-secret";

/** The emulator's URLs, derived from its base URL as `herald emulator` prints it. */
export function emulatorUrls(base) {
  const url = base.replace(/\/+$/, "");
  return {
    url,
    connectorUrl: `${url}/`,
    loginUrl: `${url}/botframework.com`,
    tokenUrl: `${url}/botframework.com/oauth2/v2.0/token`,
    openIdMetadataUrl: `${url}/v1/.well-known/openidconfiguration`,
  };
}

/** A client-credentials token from the emulator, asked as Entra ID is asked (MSAL refuses its http URL). */
export async function emulatorToken(tokenUrl, clientId, secret, scope = "https://api.botframework.com/.default") {
  const res = await fetch(tokenUrl, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "client_credentials", client_id: clientId, client_secret: secret, scope }),
  });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${body.error_description ?? ""}`);
  return { token: body.access_token, expiresIn: body.expires_in ?? 3599 };
}

/**
 * A Node HTTP server for `POST /api/messages` that hands (req, res) to an SDK's `process`:
 * the body parsed into `req.body` and the express-style `status/header/send` the SDKs call.
 */
export async function listenForActivities(port, handle) {
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      req.body = chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : undefined;
      res.status = (code) => {
        res.statusCode = code;
        return res;
      };
      res.header = (name, value) => res.setHeader(name, value);
      res.send = (body) => {
        if (body === undefined) return res;
        const text = typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body);
        if (!res.headersSent && typeof body === "object" && !Buffer.isBuffer(body)) res.setHeader("content-type", "application/json");
        res.write(text);
        return res;
      };
      Promise.resolve(handle(req, res))
        .catch((e) => {
          console.error(e);
          if (!res.headersSent) res.statusCode = 500;
        })
        .finally(() => {
          if (!res.writableEnded) res.end();
        });
    });
  });
  await new Promise((r) => server.listen(port, "127.0.0.1", r));
  const url = `http://127.0.0.1:${server.address().port}/api/messages`;
  const close = () =>
    new Promise((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return { url, close };
}

/**
 * What an example's startBot resolves with: the URL of its `POST /api/messages`, Herald, the
 * SDK's own objects (`sdk`, e.g. `{ app }`), and close() (stop taking activities, then Herald).
 */
export function botHandle(endpoint, herald, sdk) {
  return {
    url: endpoint.url,
    herald,
    ...sdk,
    async close() {
      await endpoint.close();
      await herald.close();
    },
  };
}

/** runExample when `moduleUrl` is the file node was started with (`node examples/<sdk>/bot.mjs`), not when a test imports it. */
export async function runIfMain(moduleUrl, name, startBot) {
  if (process.argv[1] && moduleUrl === pathToFileURL(process.argv[1]).href) await runExample(name, startBot);
}

async function control(emulatorUrl, method, path, body) {
  const res = await fetch(`${emulatorUrl}/_emulator${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`emulator ${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : {};
}

/** Start `herald emulator` (this repository's CLI) on a free port and resolve with its base URL. */
function spawnEmulator() {
  const bin = fileURLToPath(new URL("../bin/herald.js", import.meta.url));
  const child = spawn(process.execPath, [bin, "emulator", "--port", "0", "--app-id", exampleAppId, "--users", "10", "--teams", "1"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.once("exit", (code) => reject(new Error(`herald emulator exited with ${code}`)));
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const m = /Teams emulator on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ url: m[1], stop: () => child.kill("SIGTERM") });
    });
  });
}

async function eventually(what, check, ms = 15_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Show an example bot working against the emulator: Teams installs the bot for a user (a signed
 * installationUpdate to the bot's endpoint), Herald keeps the reference, `herald.notify()`
 * reaches the user. Environment: EMULATOR_URL (a running `herald emulator --app-id
 * <exampleAppId>`; unset = start one), PORT (default 3978), RUN_ONCE=1 (exit after delivery).
 * @param startBot ({emulatorUrl, appId, secret, port, databaseUrl}) => Promise<{url, herald, close}>
 */
export async function runExample(name, startBot) {
  const spawned = process.env.EMULATOR_URL ? undefined : await spawnEmulator();
  const emulatorUrl = (process.env.EMULATOR_URL ?? spawned.url).replace(/\/+$/, "");
  const bot = await startBot({
    emulatorUrl,
    appId: exampleAppId,
    secret: exampleSecret,
    port: Number(process.env.PORT ?? 3978),
    databaseUrl: process.env.DATABASE_URL ?? `sqlite:./data/example-${name}.db`,
  });
  const stop = async () => {
    await bot.close();
    spawned?.stop();
  };
  try {
    await control(emulatorUrl, "PUT", "/bot", { endpoint: bot.url });
    const [user] = (await control(emulatorUrl, "GET", "/users?limit=1")).users;
    await control(emulatorUrl, "POST", "/install", { users: [user.id], wait: true });
    await eventually("Herald stored the reference", () => bot.herald.store.conversations.get(user.conversationId));
    console.log(`${name}: the bot was installed for ${user.name}; Herald stored conversation ${user.conversationId}`);
    const sent = await bot.herald.notify({
      audience: { conversations: [user.conversationId] },
      message: { text: `Hello ${user.name}: a notification sent by Herald inside the ${name} bot.` },
    });
    const done = await eventually("the notification was delivered", async () => {
      const n = await bot.herald.notification(sent.id);
      return n?.status === "completed" ? n : undefined;
    });
    console.log(`${name}: notification ${done.id} ${done.status}, sent=${done.counts.sent}`);
    console.log(`${name}: see it at ${emulatorUrl}/_emulator/chat?conversation=${encodeURIComponent(user.conversationId)}`);
  } catch (e) {
    await stop();
    throw e;
  }
  if (process.env.RUN_ONCE === "1") return stop();
  console.log(`${name}: bot listening on ${bot.url}; Ctrl-C to stop.`);
  process.once("SIGINT", () => void stop());
  process.once("SIGTERM", () => void stop());
}
