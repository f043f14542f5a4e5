import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { Agent } from "undici";
import { afterAll, describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { readAppCertificate } from "../../src/config/certificate.js";
import { ConfigError, loadConfig } from "../../src/config/config.js";
import { CertificateFolder } from "../helpers/certificates.js";
import { problems } from "./problems.js";

const certs = new CertificateFolder();
afterAll(() => certs.remove());

const app = certs.make();
const other = certs.make();
const base = { HERALD_APP_ID: "app", HERALD_APP_TENANT_ID: "tenant" };

describe("HERALD_APP_CERTIFICATE", () => {
  it("takes a PEM file with the key and its certificate, in either order, and finds the certificate's thumbprints", () => {
    const path = certs.file(app.keyPem, app.certPem);
    expect(loadConfig({ ...base, HERALD_APP_CERTIFICATE: path }).appCertificate).toBe(path);
    expect(loadConfig(base, { appCertificate: path }).appCertificate).toBe(path);
    const read = readAppCertificate(certs.file(other.certPem, app.certPem, app.keyPem));
    expect(read.x5t).toBe(app.x5t);
    expect(read.privateKey.asymmetricKeyType).toBe("rsa");
  });

  it.each([
    ["an unreadable file", () => `${certs.dir}/missing.pem`, /cannot read the file \(ENOENT\)/],
    ["a file with no private key", () => certs.file(app.certPem), /has no private key/],
    ["a file with no certificate", () => certs.file(app.keyPem), /has no certificate/],
    ["a key with another key's certificate", () => certs.file(app.keyPem, other.certPem), /does not match the private key/],
    ["an encrypted key", () => certs.file(certs.encrypted(app), app.certPem), /encrypted; export it without a passphrase/],
    [
      "an EC key",
      () => {
        const ec = certs.make("ec");
        return certs.file(ec.keyPem, ec.certPem);
      },
      /need an RSA key/,
    ],
  ])("stops start-up naming the setting for %s", (_name, path, why) => {
    const file = path();
    const found = problems({ ...base, HERALD_APP_CERTIFICATE: file });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(
      new RegExp(`^HERALD_APP_CERTIFICATE="${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}" is invalid: expected a readable PEM file`),
    );
    expect(found[0]).toMatch(why);
    expect(problems(base, { appCertificate: file })[0]).toMatch(/^--app-certificate=/);
  });

  it("refuses a password and a certificate together, a certificate without an app id or tenant, and with a managed identity", () => {
    const path = certs.file(app.keyPem, app.certPem);
    expect(problems({ ...base, HERALD_APP_CERTIFICATE: path, HERALD_APP_PASSWORD: "pw" })).toEqual([
      expect.stringMatching(/HERALD_APP_PASSWORD and HERALD_APP_CERTIFICATE are both set: choose one/),
    ]);
    expect(problems({ HERALD_APP_CERTIFICATE: path, HERALD_INBOUND_AUTH: "off", HERALD_APP_TYPE: "MultiTenant" })).toEqual([
      expect.stringMatching(/HERALD_APP_CERTIFICATE is set but HERALD_APP_ID is not/),
    ]);
    expect(problems({ HERALD_APP_ID: "app", HERALD_APP_CERTIFICATE: path })).toEqual([
      expect.stringMatching(/HERALD_APP_TENANT_ID is required for HERALD_APP_TYPE=SingleTenant with a certificate/),
    ]);
    expect(problems({ ...base, HERALD_APP_CERTIFICATE: path, HERALD_APP_TYPE: "UserAssignedMSI" })).toEqual([
      expect.stringMatching(/HERALD_APP_CERTIFICATE is set with HERALD_APP_TYPE=UserAssignedMSI/),
    ]);
  });
});

describe("HERALD_APP_CERTIFICATE holding PEM text instead of a path", () => {
  it("refuses it without echoing the key, in the config loader and in the connector factory", async () => {
    const pem = `${app.keyPem}\n${app.certPem}`;
    const keyBody = app.keyPem.split("\n")[1] ?? "";
    expect(keyBody.length).toBeGreaterThan(20);
    for (const found of [problems({ ...base, HERALD_APP_CERTIFICATE: pem }), problems(base, { appCertificate: pem })]) {
      expect(found).toHaveLength(1);
      expect(found[0]).toMatch(/this looks like PEM content; give the path of a file/);
      expect(found[0]).toMatch(/\(PEM content, not shown\)/);
      expect(found[0]).not.toContain("-----BEGIN");
      expect(found[0]).not.toContain(keyBody);
    }
    // A config built in code reaches the factory without the loader's check.
    const { createTokenProvider } = await import("../../src/connector/factory.js");
    const config = { ...loadConfig({ HERALD_INBOUND_AUTH: "off", HERALD_APP_TYPE: "MultiTenant" }), appId: "app", appCertificate: pem };
    let message = "";
    try {
      createTokenProvider(config, { dispatcher: new Agent(), clock: systemClock });
    } catch (e) {
      message = e instanceof ConfigError ? e.problems.join("\n") : String(e);
    }
    expect(message).toMatch(/this looks like PEM content; give the path of a file/);
    expect(message).not.toContain("-----BEGIN");
    expect(message).not.toContain(keyBody);
  });
});

describe("HERALD_APP_CERTIFICATE strength and validity", () => {
  it("refuses an RSA key shorter than 2048 bits", () => {
    const dir = certs.dir;
    const base1024 = `${dir}/weak`;
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:1024",
        "-nodes",
        "-keyout",
        `${base1024}.key`,
        "-out",
        `${base1024}.crt`,
        "-subj",
        "/CN=weak",
        "-days",
        "30",
      ],
      { stdio: "ignore" },
    );
    const file = certs.file(readFileSync(`${base1024}.key`, "utf8"), readFileSync(`${base1024}.crt`, "utf8"));
    const found = problems({ ...base, HERALD_APP_CERTIFICATE: file });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/the RSA key has 1024 bits; Entra ID needs 2048 bits or more/);
  });

  it("refuses a certificate that is expired or not yet valid (the test certificate is valid for 30 days from now)", () => {
    const path = certs.file(app.keyPem, app.certPem);
    const day = 24 * 3600 * 1000;
    expect(readAppCertificate(path, Date.now()).x5t).toBe(app.x5t);
    expect(() => readAppCertificate(path, Date.now() + 31 * day)).toThrow(/the certificate expired on \d{4}-.*make a new one/);
    expect(() => readAppCertificate(path, Date.now() - 2 * day)).toThrow(
      /the certificate is valid only from \d{4}-.*check this machine's clock/,
    );
  });
});
