import { Command } from "commander";
import { afterAll, beforeAll, expect, it } from "vitest";
import { registerInstall } from "../../src/cli/install.js";
import { call, STACK_API_KEY, type Stack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";
import { graphCounters, type Json, startGraphStack } from "./stack.js";

/** `POST /v1/installations`: install ahead of a broadcast, as a job with live counts and a CSV. */
forEachStore((stores) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startGraphStack(await stores.open(), {
      emulator: { org: { tenants: 1, users: 30, teams: 1, blockedShare: 0, uninstalledShare: 1 } },
      herald: { graphPageSize: 10 },
    });
  });
  afterAll(() => stack?.close());

  const org = () => stack.emulator.org;
  const tenantId = () => org().tenants[0]!.id;
  const api = (method: string, path: string, body?: unknown) => call(method, `${stack.heraldUrl}${path}`, body, STACK_API_KEY);
  const finished = async (id: string): Promise<Json> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await api("GET", `/v1/installations/${id}`);
      if (r.json["status"] !== "running") return r.json;
      if (Date.now() > deadline) throw new Error(`job ${id} still running: ${JSON.stringify(r.json)}`);
      await new Promise((res) => setTimeout(res, 150));
    }
  };

  it("a group's members (several pages) are installed; counts add up; a second run finds them installed", async () => {
    const group = org().teams[0]!.aadGroupId;
    const started = await api("POST", "/v1/installations", { groups: [group], tenantId: tenantId() });
    expect(started.status).toBe(202);
    const done = await finished(started.json["id"] as string);
    expect(done).toMatchObject({ status: "completed", total: 30, counts: { installed: 30, alreadyInstalled: 0, refused: 0, failed: 0 } });
    expect((await graphCounters(stack))["installs"]).toBe(30);
    const again = await finished((await api("POST", "/v1/installations", { all: true, tenantId: tenantId() })).json["id"] as string);
    expect(again).toMatchObject({ status: "completed", total: 30, counts: { installed: 0, alreadyInstalled: 30 } });
  });

  it("refusals are counted with their codes; the CSV lists each user", async () => {
    for (const i of [0, 1])
      await call("PATCH", `${stack.emulator.url}/_emulator/users/${encodeURIComponent(org().user(i).id)}`, { uninstalled: true });
    await call("PUT", `${stack.emulator.url}/_emulator/graph/refusals`, { tenantId: tenantId(), noLicense: [org().user(1).aadObjectId] });
    const unknown = `nobody@${org().user(0).userPrincipalName.split("@")[1]}`;
    const id = (
      await api("POST", "/v1/installations", {
        users: [org().user(0).userPrincipalName, org().user(1).aadObjectId, unknown],
        tenantId: tenantId(),
      })
    ).json["id"] as string;
    const done = await finished(id);
    expect(done["counts"]).toEqual({ installed: 1, alreadyInstalled: 0, refused: 2, failed: 0 });
    const res = await fetch(`${stack.heraldUrl}/v1/installations/${id}/items?format=csv`, {
      headers: { authorization: `Bearer ${STACK_API_KEY}` },
    });
    const csv = await res.text();
    expect(csv.split("\r\n")[0]).toBe("seq,userId,status,code,message,at");
    expect(csv).toContain("HERALD_E_INSTALL_NO_LICENSE");
    expect(csv).toContain(`${unknown},refused,HERALD_E_INSTALL_USER_NOT_FOUND`);
    await call("DELETE", `${stack.emulator.url}/_emulator/graph/refusals`);
  });

  it("one person named by UPN and by object id (in any letter case) is installed once and counted once", async () => {
    const user = org().user(2);
    await call("PATCH", `${stack.emulator.url}/_emulator/users/${encodeURIComponent(user.id)}`, { uninstalled: true });
    const before = await graphCounters(stack);
    const id = (
      await api("POST", "/v1/installations", {
        users: [user.userPrincipalName, user.aadObjectId, user.aadObjectId.toUpperCase(), user.userPrincipalName],
        tenantId: tenantId(),
      })
    ).json["id"] as string;
    const done = await finished(id);
    expect(done).toMatchObject({ status: "completed", total: 1, counts: { installed: 1, alreadyInstalled: 0, refused: 0, failed: 0 } });
    const after = await graphCounters(stack);
    expect(after["installs"]! - before["installs"]! + (after["conflicts"]! - before["conflicts"]!)).toBe(1);
  });

  it("the request is validated", async () => {
    const r = await api("POST", "/v1/installations", { users: ["x"], groups: ["y"], tenantId: tenantId() });
    expect(r.status).toBe(400);
  });

  it("the body gets every JSON route's checks: content type, NUL characters, size (it was read with no limit)", async () => {
    const post = (body: string, type = "application/json") =>
      fetch(`${stack.heraldUrl}/v1/installations`, {
        method: "POST",
        headers: { authorization: `Bearer ${STACK_API_KEY}`, "content-type": type },
        body,
      }).then(async (res) => ({ status: res.status, json: (await res.json()) as { error: { code: string; message: string } } }));
    const text = await post(JSON.stringify({ users: ["x"], tenantId: tenantId() }), "text/plain");
    expect(text.status).toBe(415);
    expect(text.json.error.code).toBe("HERALD_E_CONTENT_TYPE");
    const nul = await post('{"users":["a\\u0000b"],"tenantId":"t"}');
    expect(nul.status).toBe(400);
    expect(nul.json.error.message).toMatch(/^body\.users\[0\]: contains a NUL/);
    const big = await post(JSON.stringify({ users: ["x".repeat(6 * 1024 * 1024)], tenantId: tenantId() }));
    expect(big.status).toBe(413);
    expect(big.json.error.code).toBe("HERALD_E_BODY_TOO_LARGE");
  });

  it("herald install follows the job to its end and prints the counts", async () => {
    const write = process.stdout.write;
    let said = "";
    process.stdout.write = ((chunk: string) => {
      said += chunk;
      return true;
    }) as typeof process.stdout.write;
    try {
      const program = new Command().exitOverride();
      registerInstall(program);
      await program.parseAsync(
        ["install", "--users", org().user(2).aadObjectId, "--tenant", tenantId(), "--url", stack.heraldUrl, "--api-key", STACK_API_KEY],
        { from: "user" },
      );
    } finally {
      process.stdout.write = write;
    }
    expect(said.trim().split("\n").at(-1)).toMatch(/ completed total=1 installed=0 alreadyInstalled=1 refused=0 failed=0/);
  });
});
