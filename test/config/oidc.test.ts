import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/config.js";
import { grantFor, parseOidcRoles } from "../../src/config/oidc-roles.js";

const map = {
  "roles:Herald.Author": { scopes: ["draft", "read"] as const, tenants: ["t1"], teams: ["19:a@thread.tacv2"] },
  "roles:Herald.Approver": { scopes: ["approve", "read"] as const },
  "groups:g-comms": { scopes: ["send"] as const, tenants: ["t2"], groups: ["g-comms"] },
};

it("HERALD_OIDC_ROLES: a person gets the union of every entry their roles and groups match; none = no grant", () => {
  const m = map as unknown as Parameters<typeof grantFor>[1];
  expect(grantFor({ roles: ["Other"], groups: ["g-other"] }, m)).toBeUndefined();
  const author = grantFor({ roles: ["Herald.Author"] }, m);
  expect(author).toMatchObject({ scopes: ["draft", "read"], tenants: ["t1"], teams: ["19:a@thread.tacv2"], groups: undefined });
  // Two limited entries: their reaches add up.
  const both = grantFor({ roles: ["Herald.Author"], groups: ["g-comms"] }, m);
  expect(both).toMatchObject({
    scopes: ["draft", "read", "send"],
    tenants: ["t1", "t2"],
    teams: ["19:a@thread.tacv2"],
    groups: ["g-comms"],
  });
  // An entry without a limit lifts it.
  const wide = grantFor({ roles: ["Herald.Author", "Herald.Approver"] }, m);
  expect(wide).toMatchObject({ tenants: undefined, teams: undefined, groups: undefined });
  // Claims that are not string arrays match nothing.
  expect(grantFor({ roles: "Herald.Author" }, m)).toBeUndefined();
});

it("HERALD_OIDC_ROLES parses JSON, YAML and file:, and names what is wrong", () => {
  expect(parseOidcRoles('{"roles:A": {"scopes": ["read"]}}')).toMatchObject({ ok: true, value: { "roles:A": { scopes: ["read"] } } });
  expect(parseOidcRoles("groups:g1:\n  scopes: [send]\n  teams: [t]\n")).toMatchObject({ ok: true });
  const dir = mkdtempSync(join(tmpdir(), "herald-oidc-"));
  writeFileSync(join(dir, "roles.yaml"), "roles:A: {scopes: [admin]}\n");
  expect(parseOidcRoles(`file:${join(dir, "roles.yaml")}`)).toMatchObject({ ok: true, value: { "roles:A": { scopes: ["admin"] } } });
  const badKey = parseOidcRoles('{"A": {"scopes": ["read"]}}');
  expect(badKey.ok).toBe(false);
  expect(JSON.stringify(badKey)).toContain("roles:<app role value>");
  const badScope = parseOidcRoles('{"roles:A": {"scopes": ["everything"]}}');
  expect(JSON.stringify(badScope)).toContain("roles:A.scopes");
  expect(parseOidcRoles("file:/nonexistent/roles.yaml")).toMatchObject({ ok: false });
});

it("the OIDC settings go together, and a plain-http issuer is only for loopback", () => {
  const base = { HERALD_INBOUND_AUTH: "off" };
  expect(loadConfig(base).oidcIssuer).toBeUndefined();
  const partial = () => loadConfig({ ...base, HERALD_OIDC_ISSUER: "https://login.microsoftonline.com/t/v2.0" });
  expect(partial).toThrow(ConfigError);
  expect(partial).toThrow(/HERALD_OIDC_CLIENT_ID, HERALD_OIDC_CLIENT_SECRET, HERALD_OIDC_ROLES are not set/);
  const full = {
    ...base,
    HERALD_OIDC_CLIENT_ID: "c",
    HERALD_OIDC_CLIENT_SECRET: "s",
    HERALD_OIDC_ROLES: '{"roles:A": {"scopes": ["read"]}}',
  };
  expect(() => loadConfig({ ...full, HERALD_OIDC_ISSUER: "http://login.example.com/t/v2.0" })).toThrow(/plain http/);
  expect(loadConfig({ ...full, HERALD_OIDC_ISSUER: "http://127.0.0.1:4000/t/v2.0" }).oidcRoles).toEqual({
    "roles:A": { scopes: ["read"] },
  });
  expect(() => loadConfig({ ...full, HERALD_OIDC_ISSUER: "https://x/v2.0", HERALD_OIDC_ROLES: "{" })).toThrow(/HERALD_OIDC_ROLES=/);
});
