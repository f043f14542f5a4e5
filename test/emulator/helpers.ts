import { type EmulatorHandle, type EmulatorOptions, startEmulator } from "../../src/emulator/index.js";

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are read loosely
  json: any;
}

/** Start an emulator on 127.0.0.1:0 (no blocked/uninstalled users unless asked). */
export async function start(options: EmulatorOptions = {}): Promise<EmulatorHandle> {
  return startEmulator({ ...options, org: { blockedShare: 0, uninstalledShare: 0, ...options.org } });
}

export async function http(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)["content-type"] ??= "application/json";
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** A client-credentials token from the emulator. */
export async function token(emu: EmulatorHandle, clientId = "herald-test", secret = "secret"): Promise<string> {
  const res = await fetch(emu.tokenUrl, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: clientId,
      client_secret: secret,
      scope: "https://api.botframework.com/.default",
    }),
  });
  const body = (await res.json()) as { access_token: string };
  return body.access_token;
}

/** Calls to the emulator's Connector with a bearer token. */
export function connector(emu: EmulatorHandle, bearer?: string) {
  const headers: Record<string, string> = bearer ? { authorization: `Bearer ${bearer}` } : {};
  const url = (path: string) => emu.connectorUrl + path.replace(/^\//, "");
  return {
    get: (path: string) => http("GET", url(path), undefined, headers),
    post: (path: string, body: unknown) => http("POST", url(path), body, headers),
    put: (path: string, body: unknown) => http("PUT", url(path), body, headers),
    del: (path: string) => http("DELETE", url(path), undefined, headers),
  };
}

/** Control API calls. */
export function control(emu: EmulatorHandle) {
  const url = (path: string) => `${emu.url}/_emulator${path}`;
  return {
    get: (path: string) => http("GET", url(path)),
    post: (path: string, body: unknown) => http("POST", url(path), body),
    put: (path: string, body: unknown) => http("PUT", url(path), body),
    patch: (path: string, body: unknown) => http("PATCH", url(path), body),
    del: (path: string) => http("DELETE", url(path)),
  };
}

/** Poll `check` until it returns a value other than undefined, or fail after `ms`. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("condition not met before the deadline");
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const enc = encodeURIComponent;
