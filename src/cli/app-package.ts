import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import { buildManifest, MANIFEST_SCHEMA_URL, type ManifestOptions, manifestProblems } from "./app-package/manifest.js";
import { defaultIcons } from "./app-package/png.js";
import { zip } from "./app-package/zip.js";

/** The package's files: `manifest.json`, `color.png`, `outline.png`. Throws naming every schema problem. */
export function appPackage(o: ManifestOptions): { zip: Buffer; manifest: ReturnType<typeof buildManifest> } {
  const manifest = buildManifest(o);
  const problems = manifestProblems(manifest);
  if (problems.length > 0)
    throw new Error(`HERALD_E_APP_PACKAGE: the manifest does not match ${MANIFEST_SCHEMA_URL}:\n  - ${problems.join("\n  - ")}`);
  const icons = defaultIcons(o.accentColor);
  const files = [
    { name: "manifest.json", data: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, "utf8") },
    { name: "color.png", data: icons.color },
    { name: "outline.png", data: icons.outline },
  ];
  return { zip: zip(files), manifest };
}

/**
 * `herald app-package`: writes the Teams app package (zip) an admin uploads to the
 * organisation's app catalog (Teams admin center → Manage apps → Upload), without which there
 * is nothing to install: the bot in personal, team and group-chat scope, the read-receipt
 * permission, icons. The manifest id is HERALD_APP_ID, which is how Herald finds the app
 * (`externalId`) when HERALD_TEAMS_APP_ID is unset.
 */
export function registerAppPackage(program: Command): void {
  program
    .command("app-package")
    .description("Write the Teams app package (manifest.json + icons, zipped) to upload to your organisation's app catalog.")
    .option("--app-id <id>", "the bot's Microsoft App ID (default: HERALD_APP_ID)")
    .option("--out <file>", "where to write the zip", "herald-app.zip")
    .option("--name <name>", "short name shown in Teams (at most 30 characters)", "Herald")
    .option("--full-name <name>", "full name (at most 100 characters)")
    .option("--description <text>", "short description (at most 80 characters)")
    .option("--app-version <semver>", "the package version; raise it for every upload", "1.0.0")
    .option("--developer <name>", "developer name (at most 32 characters)", "Herald")
    .option("--website-url <url>", "https URL of the developer's site", "https://github.com/herald/herald")
    .option("--privacy-url <url>", "https URL of the privacy statement", "https://github.com/herald/herald/blob/main/SECURITY.md")
    .option("--terms-url <url>", "https URL of the terms of use", "https://github.com/herald/herald/blob/main/LICENSE")
    .option("--accent-color <hex>", "accent colour #RRGGBB (icon background)", "#4F52B2")
    .action(async (opts: Record<string, string | undefined>) => {
      const appId = opts["appId"] ?? process.env["HERALD_APP_ID"];
      if (!appId) throw new Error("HERALD_E_APP_PACKAGE: give the bot's app id with --app-id or HERALD_APP_ID.");
      const { zip: bytes, manifest } = appPackage({
        appId,
        version: opts["appVersion"] ?? "1.0.0",
        shortName: opts["name"] ?? "Herald",
        fullName: opts["fullName"],
        shortDescription: opts["description"],
        developerName: opts["developer"] ?? "Herald",
        websiteUrl: opts["websiteUrl"] ?? "",
        privacyUrl: opts["privacyUrl"] ?? "",
        termsOfUseUrl: opts["termsUrl"] ?? "",
        accentColor: opts["accentColor"] ?? "#4F52B2",
      });
      const out = resolve(opts["out"] ?? "herald-app.zip");
      await writeFile(out, bytes);
      process.stdout.write(
        `Wrote ${out} (${bytes.length} bytes): manifest ${manifest.manifestVersion}, app id ${manifest.id}, scopes ${manifest.bots[0]?.scopes.join(", ")}, RSC ${manifest.authorization.permissions.resourceSpecific.map((p) => p.name).join(", ")}; checked against the bundled subset of ${MANIFEST_SCHEMA_URL}.\nUpload it in the Teams admin center (Manage apps → Upload new app), then Herald can install it for users (HERALD_AUTO_INSTALL).\n`,
      );
    });
}
