import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Self-signed certificates for tests, made by the `openssl` command (node:crypto cannot issue
 * X.509 certificates). Each has its key and certificate as PEM text; `pair()` writes both into
 * one file, as HERALD_APP_CERTIFICATE takes them.
 */
export interface TestCertificate {
  keyPem: string;
  certPem: string;
  /** SHA-1 fingerprint as openssl prints it, base64url (what `x5t` must be). */
  x5t: string;
}

export class CertificateFolder {
  readonly dir = mkdtempSync(join(tmpdir(), "herald-cert-"));
  private n = 0;

  /** A new key and self-signed certificate; `ec` makes a P-256 key instead of RSA 2048. */
  make(kind: "rsa" | "ec" = "rsa"): TestCertificate {
    const base = join(this.dir, `c${this.n++}`);
    const newkey = kind === "rsa" ? ["-newkey", "rsa:2048"] : ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
    execFileSync(
      "openssl",
      ["req", "-x509", ...newkey, "-nodes", "-keyout", `${base}.key`, "-out", `${base}.crt`, "-subj", "/CN=herald-test", "-days", "30"],
      {
        stdio: "ignore",
      },
    );
    const hex = execFileSync("openssl", ["x509", "-in", `${base}.crt`, "-noout", "-fingerprint", "-sha1"], { encoding: "utf8" });
    const x5t = Buffer.from((hex.split("=")[1] ?? "").trim().replace(/:/g, ""), "hex").toString("base64url");
    return { keyPem: readFileSync(`${base}.key`, "utf8"), certPem: readFileSync(`${base}.crt`, "utf8"), x5t };
  }

  /** Writes `parts` (PEM texts) into one file and returns its path. */
  file(...parts: string[]): string {
    const path = join(this.dir, `f${this.n++}.pem`);
    writeFileSync(path, parts.join("\n"));
    return path;
  }

  /** The key encrypted with a passphrase (PKCS#8). */
  encrypted(cert: TestCertificate): string {
    const plain = this.file(cert.keyPem);
    return execFileSync("openssl", ["pkcs8", "-topk8", "-in", plain, "-passout", "pass:secret"], { encoding: "utf8" });
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
