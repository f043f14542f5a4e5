import { exitCodes } from "./options.js";

/** Where client commands find the server and which key they present. */
export interface ClientOptions {
  url: string;
  apiKey: string | undefined;
}

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** Call Herald's API; errors become CliError with the server's code and message and a reliable exit code. */
export async function api<T>(client: ClientOptions, method: string, path: string, body?: unknown): Promise<T> {
  const raw = await apiRaw(client, method, path, body);
  const text = await raw.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export async function apiRaw(client: ClientOptions, method: string, path: string, body?: unknown): Promise<Response> {
  if (!client.apiKey) throw new CliError("No API key: pass --api-key or set HERALD_API_KEY.", exitCodes.usage);
  let res: Response;
  try {
    res = await fetch(new URL(path, client.url), {
      method,
      headers: { authorization: `Bearer ${client.apiKey}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new CliError(
      `Cannot reach Herald at ${client.url}: ${(e as Error).cause ?? (e as Error).message}. Is \`herald serve\` running? (--url / HERALD_URL)`,
      exitCodes.unreachable,
    );
  }
  if (!res.ok) {
    const text = await res.text();
    let message = text;
    try {
      const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
      if (parsed.error) message = `${parsed.error.code}: ${parsed.error.message}`;
    } catch {
      // not JSON: show it as it is
    }
    throw new CliError(
      `${method} ${path} → ${res.status}: ${message}`,
      res.status === 400 || res.status === 422 ? exitCodes.usage : exitCodes.failure,
    );
  }
  return res;
}
