import { createRemoteJWKSet, decodeJwt, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmulatorHandle } from "../../src/emulator/index.js";
import { connector, control, http, start, token } from "./helpers.js";

describe("auth like Teams", () => {
  let emu: EmulatorHandle;
  let conv: string;
  beforeAll(async () => {
    emu = await start({ clients: [{ id: "app-1", secret: "s3cret" }] });
    conv = emu.org.personalConversationId(0);
  });
  afterAll(() => emu.close());

  const form = (fields: Record<string, string>) => ({
    "content-type": "application/x-www-form-urlencoded",
    body: new URLSearchParams(fields).toString(),
  });
  async function grant(fields: Record<string, string>, tenant = "botframework.com") {
    const f = form(fields);
    return http("POST", `${emu.url}/${tenant}/oauth2/v2.0/token`, f.body, { "content-type": f["content-type"] });
  }

  it("issues a signed client-credentials token for a registered client", async () => {
    const r = await grant({
      grant_type: "client_credentials",
      client_id: "app-1",
      client_secret: "s3cret",
      scope: "https://api.botframework.com/.default",
    });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ token_type: "Bearer", expires_in: 3599 });
    const claims = decodeJwt(r.json.access_token);
    expect(claims).toMatchObject({ aud: "https://api.botframework.com", appid: "app-1", tid: "d6d49420-f39b-4df7-a1dc-d59a935871db" });
    const jwks = createRemoteJWKSet(new URL(`${emu.url}/botframework.com/discovery/v2.0/keys`));
    await expect(jwtVerify(r.json.access_token, jwks, { audience: "https://api.botframework.com" })).resolves.toBeTruthy();
  });

  it("refuses a wrong secret, an unknown client, a missing scope and other grants", async () => {
    const base = {
      grant_type: "client_credentials",
      client_id: "app-1",
      client_secret: "s3cret",
      scope: "https://api.botframework.com/.default",
    };
    expect((await grant({ ...base, client_secret: "nope" })).status).toBe(401);
    expect((await grant({ ...base, client_id: "other" })).json.error).toBe("unauthorized_client");
    expect((await grant({ ...base, scope: "" })).status).toBe(400);
    expect((await grant({ ...base, grant_type: "password" })).json.error).toBe("unsupported_grant_type");
  });

  it("answers 401 to Connector calls without a valid token", async () => {
    const none = await connector(emu).post(`v3/conversations/${conv}/activities`, { type: "message", text: "x" });
    expect(none.status).toBe(401);
    expect(none.json).toEqual({ message: "Authorization has been denied for this request." });
    const forged = await connector(emu, "eyJhbGciOiJub25lIn0.eyJhdWQiOiJ4In0.").post(`v3/conversations/${conv}/activities`, {
      type: "message",
      text: "x",
    });
    expect(forged.status).toBe(401);
    const graphToken = await grant({
      grant_type: "client_credentials",
      client_id: "app-1",
      client_secret: "s3cret",
      scope: "https://graph.microsoft.com/.default",
    });
    const wrongAudience = await connector(emu, graphToken.json.access_token).post(`v3/conversations/${conv}/activities`, {
      type: "message",
      text: "x",
    });
    expect(wrongAudience.status).toBe(401);
    const good = await connector(emu, await token(emu, "app-1", "s3cret")).post(`v3/conversations/${conv}/activities`, {
      type: "message",
      text: "x",
    });
    expect(good.status).toBe(201);
    const stats = await control(emu).get("/stats");
    expect(stats.json.global.unauthorized).toBe(3);
  });
});

describe("auth switched off", () => {
  it("serves Connector calls without a token", async () => {
    const emu = await start({ auth: false });
    try {
      const r = await connector(emu).post(`v3/conversations/${emu.org.personalConversationId(1)}/activities`, {
        type: "message",
        text: "x",
      });
      expect(r.status).toBe(201);
    } finally {
      await emu.close();
    }
  });
});
