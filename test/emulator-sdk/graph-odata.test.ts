import { describe, expect, it } from "vitest";
import { catalogIdFromBind, decodeInstallationId, installationId } from "../../src/emulator/graph/ids.js";
import { matchFilter, parseExpand, parseFilter, parseTop } from "../../src/emulator/graph/odata.js";

describe("OData options of the Graph subset", () => {
  it("parses eq clauses joined by and, with '' for a quote", () => {
    expect(parseFilter("externalId eq 'abc'")).toEqual({ clauses: [{ path: "externalid", value: "abc" }] });
    expect(parseFilter("teamsApp/id eq 'x' and displayName eq 'O''Brien and co'")).toEqual({
      clauses: [
        { path: "teamsapp/id", value: "x" },
        { path: "displayname", value: "O'Brien and co" },
      ],
    });
    expect(parseFilter(undefined)).toEqual({ clauses: [] });
    for (const bad of ["startswith(externalId,'x')", "externalId ne 'x'", "externalId eq 'x' and", "externalId eq x"]) {
      expect("error" in parseFilter(bad)).toBe(true);
    }
  });

  it("matches case-insensitively and reports unknown properties", () => {
    const fields = new Map([["teamsapp/id", "ABC-def"]]);
    expect(matchFilter([{ path: "teamsapp/id", value: "abc-DEF" }], fields)).toBe(true);
    expect(matchFilter([{ path: "teamsapp/id", value: "other" }], fields)).toBe(false);
    expect(matchFilter([{ path: "nope", value: "x" }], fields)).toBeUndefined();
  });

  it("reads $expand with nested options and $top within Graph's range", () => {
    expect([...parseExpand("teamsAppDefinition($expand=bot),teamsApp")]).toEqual(["teamsappdefinition", "bot", "teamsapp"]);
    expect(parseTop(null, 100, 999)).toBe(100);
    expect(parseTop("999", 100, 999)).toBe(999);
    expect(parseTop("1000", 100, 999)).toBeUndefined();
    expect(parseTop("0", 100, 999)).toBeUndefined();
  });

  it("encodes installation ids as Graph does and reads bind URLs in both forms", () => {
    const id = installationId("owner-guid", "app-guid");
    expect(Buffer.from(id, "base64").toString()).toBe("owner-guid##app-guid");
    expect(decodeInstallationId(id)).toEqual({ ownerId: "owner-guid", catalogId: "app-guid" });
    expect(decodeInstallationId("not base64!")).toBeUndefined();
    expect(catalogIdFromBind("https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/abc-123")).toBe("abc-123");
    expect(catalogIdFromBind("https://graph.microsoft.com/v1.0/appCatalogs/teamsApps('abc-123')")).toBe("abc-123");
    expect(catalogIdFromBind("https://graph.microsoft.com/v1.0/users/x")).toBeUndefined();
  });
});
