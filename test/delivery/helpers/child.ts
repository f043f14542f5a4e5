import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const register = fileURLToPath(new URL("./ts-register.mjs", import.meta.url));
const serveScript = fileURLToPath(new URL("../fixtures/serve.ts", import.meta.url));

/** A Herald server in a child process (test/delivery/fixtures/serve.ts), reachable over HTTP. */
export interface ServerProcess {
  url: string;
  pid: number;
  /** Its stderr so far (for failure messages). */
  stderr(): string;
  /** SIGKILL, then wait for the process to be gone. */
  kill(): Promise<void>;
  /** JSON call with the API key. */
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }>;
}

/** Start the server with `env`; resolves when it prints READY (within 30 s). */
export async function startServer(env: Record<string, string>, apiKey: string): Promise<ServerProcess> {
  const child: ChildProcess = spawn(process.execPath, ["--import", register, serveScript], {
    env: { ...process.env, ...env, API_KEY: apiKey },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start in 30 s: ${err}`)), 30_000);
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /READY (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code} before it was ready: ${err}`));
    });
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    pid: child.pid ?? -1,
    stderr: () => err,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
    async api<T>(method: string, path: string, body?: unknown) {
      const res = await fetch(url + path, {
        method,
        headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, json: (text ? JSON.parse(text) : undefined) as T };
    },
  };
}
