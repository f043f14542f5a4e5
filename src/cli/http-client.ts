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
  try {
    return (text ? JSON.parse(text) : undefined) as T;
  } catch {
    throw new CliError(
      `${method} ${path} answered ${raw.status} with something that is not JSON; is --url (HERALD_URL) Herald?`,
      exitCodes.failure,
    );
  }
}

/** A request that gets no answer in this time fails (exit 3) instead of hanging a script: 30 s. */
const requestTimeoutMs = 30_000;

/** Join an API path to the base URL, keeping a path prefix of the base (a reverse proxy under /herald/). */
export function apiUrl(base: string, path: string): URL {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, "")}${path.split("?")[0]}`;
  url.search = path.includes("?") ? path.slice(path.indexOf("?")) : "";
  return url;
}

export async function apiRaw(client: ClientOptions, method: string, path: string, body?: unknown): Promise<Response> {
  if (!client.apiKey) throw new CliError("No API key: pass --api-key or set HERALD_API_KEY.", exitCodes.usage);
  let res: Response;
  try {
    res = await fetch(apiUrl(client.url, path), {
      method,
      signal: AbortSignal.timeout(requestTimeoutMs),
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
