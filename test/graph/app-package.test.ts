import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";
import { Command } from "commander";
import { expect, it } from "vitest";
import { crc32 } from "../../src/cli/app-package/zip.js";
import { appPackage, registerAppPackage } from "../../src/cli/app-package.js";

/** The files of a zip, read from its central directory (each checked against its CRC). */
function unzip(buf: Buffer): Map<string, Buffer> {
  const end = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = buf.readUInt16LE(end + 10);
  let at = buf.readUInt32LE(end + 16);
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    expect(buf.readUInt32LE(at)).toBe(0x02014b50);
    const crc = buf.readUInt32LE(at + 16);
    const size = buf.readUInt32LE(at + 20);
    const nameLen = buf.readUInt16LE(at + 28);
    const extra = buf.readUInt16LE(at + 30);
    const comment = buf.readUInt16LE(at + 32);
    const local = buf.readUInt32LE(at + 42);
    const name = buf.subarray(at + 46, at + 46 + nameLen).toString("utf8");
    const dataAt = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const data = inflateRawSync(buf.subarray(dataAt, dataAt + size));
    expect(crc32(data)).toBe(crc);
    files.set(name, data);
    at += 46 + nameLen + extra + comment;
  }
  return files;
}

const options = {
  appId: "0b6c3c52-3b0b-4b7e-9b3a-2f2a3f9e8a11",
  version: "1.2.3",
  shortName: "Herald",
  developerName: "Contoso IT",
  websiteUrl: "https://contoso.example/herald",
  privacyUrl: "https://contoso.example/privacy",
  termsOfUseUrl: "https://contoso.example/terms",
  accentColor: "#4F52B2",
};

it("the package holds a schema-valid manifest (bot id, scopes, read-receipt RSC) and two PNG icons of Teams' sizes", () => {
  const files = unzip(appPackage(options).zip);
  expect([...files.keys()].sort()).toEqual(["color.png", "manifest.json", "outline.png"]);
  const manifest = JSON.parse(files.get("manifest.json")!.toString("utf8"));
  expect(manifest).toMatchObject({
    manifestVersion: "1.17",
    id: options.appId,
    version: "1.2.3",
    bots: [{ botId: options.appId, scopes: ["personal", "team", "groupChat"] }],
    webApplicationInfo: { id: options.appId },
    authorization: { permissions: { resourceSpecific: [{ name: "ChatMessageReadReceipt.Read.Chat", type: "Application" }] } },
  });
  for (const [name, size] of [
    ["color.png", 192],
    ["outline.png", 32],
  ] as const) {
    const png = files.get(name)!;
    expect(png.subarray(1, 4).toString("ascii")).toBe("PNG");
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([size, size]);
  }
});

it("a manifest the schema refuses is not written: the error names each field", () => {
  expect(() => appPackage({ ...options, shortName: "A name far longer than thirty characters", version: "1.0" })).toThrow(
    /name\.short[\s\S]*version|version[\s\S]*name\.short/,
  );
  expect(() => appPackage({ ...options, appId: "not-a-guid" })).toThrow(/id: must be a GUID/);
});

it("herald app-package writes the zip from HERALD_APP_ID", async () => {
  const dir = await mkdtemp(join(tmpdir(), "herald-pkg-"));
  const saved = process.env["HERALD_APP_ID"];
  const write = process.stdout.write;
  let said = "";
  try {
    process.env["HERALD_APP_ID"] = options.appId;
    process.stdout.write = ((chunk: string) => {
      said += chunk;
      return true;
    }) as typeof process.stdout.write;
    const out = join(dir, "app.zip");
    const program = new Command().exitOverride();
    registerAppPackage(program);
    await program.parseAsync(["node", "herald", "app-package", "--out", out, "--app-version", "2.0.0"]);
    process.stdout.write = write;
    expect(said).toContain(options.appId);
    const manifest = JSON.parse(
      unzip(await readFile(out))
        .get("manifest.json")!
        .toString("utf8"),
    );
    expect(manifest).toMatchObject({ id: options.appId, version: "2.0.0" });
  } finally {
    process.stdout.write = write;
    if (saved === undefined) delete process.env["HERALD_APP_ID"];
    else process.env["HERALD_APP_ID"] = saved;
    await rm(dir, { recursive: true, force: true });
  }
});
