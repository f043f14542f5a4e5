import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { EmulatorHandle } from "../../src/emulator/index.js";

/** A bot endpoint that records every activity the emulator posts to it. */
export interface RecordingBot {
  url: string;
  // biome-ignore lint/suspicious/noExplicitAny: activities are read loosely in tests
  activities: any[];
  close(): Promise<void>;
}

export async function startRecordingBot(): Promise<RecordingBot> {
  // biome-ignore lint/suspicious/noExplicitAny: activities are read loosely in tests
  const activities: any[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      activities.push(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      res.writeHead(200, { "content-length": 0 });
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/messages`,
    activities,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** A client-credentials token from the emulator for `scope`, asked at `/{tenant}/oauth2/v2.0/token`. */
export async function tokenFor(emu: EmulatorHandle, scope: string, tenant = "botframework.com", clientId = "herald-test"): Promise<string> {
  const res = await fetch(`${emu.url}/${tenant}/oauth2/v2.0/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "client_credentials", client_id: clientId, client_secret: "secret", scope }),
  });
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}
