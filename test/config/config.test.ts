import { describe, expect, it } from "vitest";
import { clouds } from "../../src/config/clouds.js";
import { loadConfig, settings } from "../../src/config/config.js";
import { trustedHosts } from "../../src/config/trusted-hosts.js";
import { problems } from "./problems.js";

const base = { HERALD_APP_ID: "app" };

describe("loadConfig", () => {
  it("applies product.md's defaults", () => {
    const c = loadConfig(base);
    expect(c).toMatchObject({
      port: 3978,
      host: "127.0.0.1",
      databaseUrl: "sqlite:./data/herald.db",
      appType: "SingleTenant",
      cloud: "public",
      inboundAuth: "jwt",
      tenantRps: 50,
      logLevel: "info",
      trustedHosts: [],
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("reads durations with a unit (0 = never); HERALD_TENANT_DISABLED_TIMEOUT defaults to 24 h", () => {
    expect(loadConfig(base).tenantDisabledTimeoutMs).toBe(86_400_000);
    expect(loadConfig({ ...base, HERALD_TENANT_DISABLED_TIMEOUT: "90m" }).tenantDisabledTimeoutMs).toBe(5_400_000);
    expect(loadConfig({ ...base, HERALD_TENANT_DISABLED_TIMEOUT: "7d" }).tenantDisabledTimeoutMs).toBe(604_800_000);
    expect(loadConfig({ ...base, HERALD_TENANT_DISABLED_TIMEOUT: "0" }).tenantDisabledTimeoutMs).toBe(0);
    expect(loadConfig(base).blockedRetryMs).toBe(604_800_000);
    expect(loadConfig({ ...base, HERALD_BLOCKED_RETRY_INTERVAL: "36h" }).blockedRetryMs).toBe(129_600_000);
  });

  it("lets flags win over the environment", () => {
    expect(loadConfig({ ...base, HERALD_PORT: "4000" }, { port: "5000" }).port).toBe(5000);
  });

  it("has one flag per variable, named after it", () => {
    for (const s of settings) expect(s.flag).toBe(`--${s.env.slice("HERALD_".length).toLowerCase().replaceAll("_", "-")}`);
  });

  it.each([
    ["HERALD_PORT", "70000", /HERALD_PORT="70000" is invalid: expected an integer from 0 to 65535/],
    ["HERALD_PORT", "", /HERALD_PORT="" is invalid: expected an integer from 0 to 65535/],
    ["HERALD_PORT", "0x50", /HERALD_PORT="0x50" is invalid: expected an integer from 0 to 65535/],
    ["HERALD_CLOUD", "mars", /HERALD_CLOUD="mars" is invalid: expected one of public, gcc, gcch, dod, china/],
    ["HERALD_TENANT_RPS", "-1", /HERALD_TENANT_RPS="-1" is invalid: expected a number ≥ 0/],
    ["HERALD_DATABASE_URL", "mysql://x", /HERALD_DATABASE_URL="mysql:\/\/x" is invalid: expected sqlite:<path> or postgres/],
    ["HERALD_LOG_LEVEL", "loud", /HERALD_LOG_LEVEL="loud" is invalid: expected one of debug, info, warn, error/],
    ["HERALD_INBOUND_AUTH", "maybe", /HERALD_INBOUND_AUTH="maybe" is invalid/],
    ["HERALD_APP_TYPE", "Guest", /HERALD_APP_TYPE="Guest" is invalid: expected one of SingleTenant, MultiTenant, UserAssignedMSI/],
    ["HERALD_OPENID_METADATA_URL", "not a url", /HERALD_OPENID_METADATA_URL="not a url" is invalid/],
    ["HERALD_TRUSTED_HOSTS", "http://x.com", /HERALD_TRUSTED_HOSTS=.* host names without scheme/],
    ["HERALD_TRUSTED_HOSTS", "127.0.0.1,*.com", /HERALD_TRUSTED_HOSTS=.* a wildcard under a registrable domain/],
    ["HERALD_TENANT_DISABLED_TIMEOUT", "24", /HERALD_TENANT_DISABLED_TIMEOUT="24" is invalid: expected a duration such as 30s/],
    ["HERALD_TENANT_DISABLED_TIMEOUT", "-1h", /HERALD_TENANT_DISABLED_TIMEOUT="-1h" is invalid: expected a duration/],
  ])("refuses %s=%s naming the setting, value and what is accepted", (env, value, message) => {
    const p = problems({ ...base, [env]: value });
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(message);
  });

  it("hides secrets in messages", () => {
    expect(problems({ ...base, HERALD_API_KEY: "short" })[0]).toMatch(/HERALD_API_KEY=\(hidden\) is invalid/);
  });

  it("reports every problem at once", () => {
    expect(problems({ ...base, HERALD_PORT: "x", HERALD_CLOUD: "y" })).toHaveLength(2);
  });

  it("refuses inbound auth off unless on loopback", () => {
    expect(problems({ HERALD_INBOUND_AUTH: "off", HERALD_HOST: "0.0.0.0" })[0]).toMatch(/refused while HERALD_HOST=0.0.0.0/);
    expect(problems({ HERALD_INBOUND_AUTH: "off", HERALD_HOST: "::1" })).toEqual([]);
  });

  it("needs the app id to verify tokens, and a tenant for single-tenant credentials", () => {
    expect(problems({})[0]).toMatch(/HERALD_APP_ID is required/);
    expect(problems({ ...base, HERALD_APP_PASSWORD: "pw" })[0]).toMatch(/HERALD_APP_TENANT_ID is required/);
    expect(problems({ ...base, HERALD_APP_PASSWORD: "pw", HERALD_APP_TYPE: "MultiTenant" })).toEqual([]);
  });
});

describe("trustedHosts", () => {
  const publicCloud = trustedHosts(clouds.public, ["127.0.0.1"]);
  it.each([
    ["https://smba.trafficmanager.net/teams/", true],
    ["https://smba.trafficmanager.net/amer/", true],
    ["https://attacker.trafficmanager.net/", false],
    ["https://emea.ng.msg.teams.microsoft.com/", true],
    ["http://127.0.0.1:3999/_connector", true],
    ["https://evil.example.com/", false],
    ["https://teams.microsoft.com.evil.com/", false],
    ["http://smba.trafficmanager.net/teams/", false],
    ["https://smba.infra.gov.teams.microsoft.us/", false],
    ["http://10.0.0.1/", false],
    ["not a url", false],
  ])("%s → %s", (url, ok) => {
    expect(publicCloud(url)).toBe(ok);
  });
  it("uses the configured cloud's hosts", () => {
    expect(trustedHosts(clouds.gcch, [])("https://smba.infra.gov.teams.microsoft.us/gcch")).toBe(true);
    expect(trustedHosts(clouds.gcch, [])("https://smba.trafficmanager.net/teams/")).toBe(false);
  });
});

describe("clouds: default service URLs", () => {
  // Microsoft's current "Proactive messages" page and its Agents SDK agree (see clouds.ts for the
  // sources); the older text of that page (`/gcc`, `/gcch`, "not in DoD") was replaced.
  it("are Microsoft's documented proactive endpoints (the Agents SDK's TeamsServiceEndpoints)", async () => {
    const { TeamsServiceEndpoints } = await import("@microsoft/agents-hosting");
    expect({
      public: clouds.public.defaultServiceUrl,
      gcc: clouds.gcc.defaultServiceUrl,
      gcch: clouds.gcch.defaultServiceUrl,
      dod: clouds.dod.defaultServiceUrl,
    }).toEqual({
      public: TeamsServiceEndpoints.publicGlobal,
      gcc: TeamsServiceEndpoints.gcc,
      gcch: TeamsServiceEndpoints.gccHigh,
      dod: TeamsServiceEndpoints.dod,
    });
  });

  it("are trusted by their own cloud, and by no other US cloud family", () => {
    for (const cloud of Object.values(clouds)) expect(trustedHosts(cloud, [])(cloud.defaultServiceUrl), cloud.name).toBe(true);
    expect(trustedHosts(clouds.public, [])(clouds.dod.defaultServiceUrl)).toBe(false);
    expect(trustedHosts(clouds.gcch, [])(clouds.gcc.defaultServiceUrl)).toBe(false);
  });

  it("accept the older documented paths too (trust is by host)", () => {
    expect(trustedHosts(clouds.gcc, [])("https://smba.infra.gcc.teams.microsoft.com/gcc")).toBe(true);
    expect(trustedHosts(clouds.gcch, [])("https://smba.infra.gov.teams.microsoft.us/gcch")).toBe(true);
  });
});
