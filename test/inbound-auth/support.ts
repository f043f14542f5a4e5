import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { pino } from "pino";
import type { Clock } from "../../src/clock.js";
import { jwksPath, openIdDocuments, openIdMetadataPath, type SigningKeys } from "../../src/inbound/auth/signing.js";
import type { Logger } from "../../src/log.js";

export const ISSUER = "https://api.botframework.com";
export const APP_ID = "00000000-0000-0000-0000-0000000000b0";
export const SERVICE_URL = "https://smba.trafficmanager.net/teams/";
export const TEAMS = { serviceUrl: SERVICE_URL, channelId: "msteams" };

/** A clock that moves only when told; `sleep` resolves once `advance` passes its deadline. */
export class ManualClock implements Clock {
  private sleepers: { at: number; resolve: () => void }[] = [];
  constructor(private t: number = Date.UTC(2026, 0, 15, 12, 0, 0)) {}
  now(): number {
    return this.t;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const sleeper = { at: this.t + ms, resolve };
      this.sleepers.push(sleeper);
      signal?.addEventListener(
        "abort",
        () => {
          this.sleepers = this.sleepers.filter((s) => s !== sleeper);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }
  advance(ms: number): void {
    this.t += ms;
    const due = this.sleepers.filter((s) => s.at <= this.t);
    this.sleepers = this.sleepers.filter((s) => s.at > this.t);
    for (const s of due) s.resolve();
  }
}

export type ServerMode = "up" | "error" | "drop" | "hang";

/** A loopback login host serving the OpenID metadata and JWKS, counting requests per document. */
export interface OpenIdServer {
  metadataUrl: string;
  counts: { metadata: number; jwks: number };
  /** Keys published from now on. */
  setKeys(keys: readonly SigningKeys[]): void;
  /** `up` serves; `error` answers 503; `drop` resets the connection; `hang` never answers. */
  setMode(mode: ServerMode): void;
  close(): Promise<void>;
}

export async function startOpenIdServer(keys: readonly SigningKeys[]): Promise<OpenIdServer> {
  let published = keys;
  let mode: ServerMode = "up";
  const counts = { metadata: 0, jwks: 0 };
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === openIdMetadataPath) counts.metadata++;
    else if (path === jwksPath) counts.jwks++;
    if (mode === "drop") return void req.socket.destroy();
    if (mode === "hang") return;
    if (mode === "error") {
      res.writeHead(503).end("unavailable");
      return;
    }
    const docs = openIdDocuments({ baseUrl: base, issuer: ISSUER, keys: published });
    const body = path === openIdMetadataPath ? docs.metadata : path === jwksPath ? docs.jwks : undefined;
    if (body === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    metadataUrl: base + openIdMetadataPath,
    counts,
    setKeys: (next) => {
      published = next;
    },
    setMode: (next) => {
      mode = next;
    },
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}

/** A URL on loopback where nothing listens (a port that was just released). */
export async function deadUrl(): Promise<string> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  server.close();
  await once(server, "close");
  return `http://127.0.0.1:${port}${openIdMetadataPath}`;
}

/** A logger whose JSON lines are kept for assertions. */
export function recordingLogger(): { logger: Logger; lines: () => { level: number; msg: string; code?: string }[] } {
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      raw.push(String(chunk));
      done();
    },
  });
  const logger = pino({ level: "debug" }, stream);
  return { logger, lines: () => raw.map((l) => JSON.parse(l) as { level: number; msg: string; code?: string }) };
}

/** Poll until `check` holds or the deadline passes (no sleeps). */
export async function waitFor(check: () => boolean, what: string, deadlineMs = 5000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

export function bearer(token: string): string {
  return `Bearer ${token}`;
}
