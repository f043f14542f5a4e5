// The servers under test, each in its own process (optionally pinned to its own CPU, so the
// load generator and the server do not share a core on a 2-core machine).
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/**
 * CPU seconds a process has used (user + system), from /proc/<pid>/stat on Linux; undefined
 * elsewhere. Clock ticks are 1/100 s on Linux, which is precise enough over a run of seconds.
 */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** A free loopback port (the OS picks it; closed again before the server takes it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// The Playground opens a browser after it starts listening unless TEAMSAPPTESTER_BROWSER is
// `none` (BROWSER is not read); without xdg-open that spawn fails with an uncaught ENOENT and
// the process exits right after printing "Listening on", so every request would be refused.
const quiet = { BROWSER: "none", TEAMSAPPTESTER_BROWSER: "none" };

function launch(command, args, cpu, ready, timeoutMs = 60_000) {
  const argv = cpu === undefined ? [command, ...args] : ["taskset", "-c", String(cpu), command, ...args];
  const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...quiet } });
  let out = "";
  let err = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${args.join(" ")} did not start within ${timeoutMs} ms:\n${out}\n${err}`));
    }, timeoutMs);
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.stdout.on("data", (d) => {
      out += d;
      const found = ready(out);
      if (found !== undefined) {
        clearTimeout(timer);
        resolve({
          ...found,
          pid: child.pid,
          stop: () =>
            new Promise((done) => {
              if (child.exitCode !== null) return done();
              child.once("exit", () => done());
              child.kill("SIGTERM");
              setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
            }),
        });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(" ")} exited with ${code}:\n${out}\n${err}`));
    });
  });
}

/** Herald's emulator (limits and auth off) with `users` users. */
export function startHerald({ bundle, users, cpu }) {
  return launch(process.execPath, [join(here, "herald-server.mjs"), bundle, String(users)], cpu, (out) => {
    const line = out.split("\n").find((l) => l.startsWith("READY "));
    if (!line) return undefined;
    const { serviceUrl } = JSON.parse(line.slice(6));
    const url = new URL(serviceUrl);
    return { name: "Herald emulator", origin: url.origin, prefix: url.pathname.replace(/\/$/, "") };
  });
}

/**
 * The Microsoft 365 Agents Playground, headless: its mock Connector is an Express router
 * mounted at `/_connector` (dist/index.js: `router.post("/v3/conversations/:conversationId/activities", ...)`),
 * and it only knows the conversation given with `--conversation-id` (others answer 404).
 */
export async function startPlayground({ cpu, conversationId }) {
  const cli = join(dirname(require.resolve("@microsoft/m365agentsplayground/package.json")), "cli.js");
  const port = await freePort();
  const args = [cli, "start", "-p", String(port), "--disable-telemetry", "-c", "msteams", "--conversation-id", conversationId];
  return launch(process.execPath, args, cpu, (out) => {
    const m = /Listening on (\d+)/.exec(out);
    if (!m) return undefined;
    return { name: "M365 Agents Playground", origin: `http://127.0.0.1:${m[1]}`, prefix: "/_connector" };
  });
}
