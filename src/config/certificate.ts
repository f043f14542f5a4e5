import { createHash, createPrivateKey, createPublicKey, type KeyObject, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";

/**
 * HERALD_APP_CERTIFICATE: one PEM file holding the app's private key and its certificate (as
 * `openssl req -x509 -newkey rsa:2048 -nodes -keyout app.pem -out app.pem` or an export from
 * Key Vault makes it). The certificate's public part is uploaded to the Entra app registration;
 * the key signs the client assertion Herald sends instead of a client secret.
 */
export interface AppCertificate {
  /** The RSA private key; stays in memory. */
  privateKey: KeyObject;
  /** `x5t`: base64url SHA-1 thumbprint of the certificate's DER (what Entra looks the key up by). */
  x5t: string;
  /** `x5t#S256`: base64url SHA-256 thumbprint of the DER. */
  x5tS256: string;
  /** The certificate's subject and expiry, for the start-up log. */
  subject: string;
  validTo: string;
}

/** PEM text where a path was expected: never to be echoed (it may hold a private key). */
export function looksLikePem(value: string): boolean {
  return value.includes("-----BEGIN");
}

/** How a setting's value may be shown in an error: never PEM content. */
export function showSettingValue(value: string): string {
  return looksLikePem(value) ? "(PEM content, not shown)" : JSON.stringify(value);
}

/** Smallest RSA key Herald accepts (what Entra ID requires of a certificate credential). */
const minRsaBits = 2048;

const blockPattern = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/**
 * Reads and checks the PEM file. Throws an Error whose message says what is wrong and what to
 * do (the config loader prefixes the setting): unreadable file, no private key, an encrypted
 * key, a key that is not RSA or shorter than 2048 bits, no certificate, no certificate for this
 * key, or a certificate that is expired or not yet valid at `now` (Entra ID would refuse every
 * token request; refusing at start-up says so at once instead of at the first send).
 * PEM text given instead of a path is refused without being echoed.
 */
export function readAppCertificate(path: string, now: number = Date.now()): AppCertificate {
  if (looksLikePem(path))
    throw new Error(
      "this looks like PEM content; give the path of a file (save the key and certificate to a file readable by Herald only, e.g. mode 600, and set the path)",
    );
  let pem: string;
  try {
    pem = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new Error(`cannot read the file (${code}); give the path of a PEM file with the app's private key and certificate`);
  }
  const blocks = [...pem.matchAll(blockPattern)].map((m) => ({ label: m[1] ?? "", text: m[0] }));
  if (blocks.some((b) => b.label === "ENCRYPTED PRIVATE KEY") || /Proc-Type: 4,ENCRYPTED/.test(pem))
    throw new Error("the private key is encrypted; export it without a passphrase (e.g. `openssl pkey -in key.pem -out plain.pem`)");
  const keyBlock = blocks.find((b) => /^(RSA )?PRIVATE KEY$/.test(b.label) || b.label === "EC PRIVATE KEY");
  if (!keyBlock)
    throw new Error("the file has no private key (a -----BEGIN PRIVATE KEY----- block); put the key and the certificate in one PEM file");
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(keyBlock.text);
  } catch {
    throw new Error("the private key block cannot be read; check the PEM file");
  }
  if (privateKey.asymmetricKeyType !== "rsa")
    throw new Error(
      `the private key is ${privateKey.asymmetricKeyType ?? "of an unknown type"}; Entra ID client assertions need an RSA key (2048 bits or more)`,
    );
  const bits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < minRsaBits)
    throw new Error(
      `the RSA key has ${bits} bits; Entra ID needs ${minRsaBits} bits or more: make a new key and certificate (e.g. \`openssl req -x509 -newkey rsa:2048 ...\`) and upload it`,
    );
  const certificates = blocks.filter((b) => b.label === "CERTIFICATE");
  if (certificates.length === 0)
    throw new Error("the file has no certificate (a -----BEGIN CERTIFICATE----- block); append the app's certificate to the key");
  const publicDer = createPublicKey(privateKey).export({ type: "spki", format: "der" });
  // A chain may follow the leaf: the certificate to use is the one whose public key is this key's.
  for (const block of certificates) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(block.text);
    } catch {
      throw new Error("a certificate block cannot be read; check the PEM file");
    }
    if (!cert.publicKey.export({ type: "spki", format: "der" }).equals(publicDer)) continue;
    const validFrom = new Date(cert.validFrom);
    const validTo = new Date(cert.validTo);
    if (now > validTo.getTime())
      throw new Error(
        `the certificate expired on ${validTo.toISOString()}; make a new one, upload its public part to the app registration and point the setting at it`,
      );
    if (now < validFrom.getTime())
      throw new Error(
        `the certificate is valid only from ${validFrom.toISOString()}; check this machine's clock, or start Herald once it is valid`,
      );
    return {
      privateKey,
      x5t: createHash("sha1").update(cert.raw).digest("base64url"),
      x5tS256: createHash("sha256").update(cert.raw).digest("base64url"),
      subject: cert.subject.replace(/\n/g, ", "),
      validTo: new Date(cert.validTo).toISOString(),
    };
  }
  throw new Error(
    "the certificate does not match the private key (different public keys); put the key and its own certificate in the file",
  );
}
