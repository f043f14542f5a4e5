import pg from "pg";
import { describe, expect, it } from "vitest";
import { postgresTypeParsers, timestamptzToIso } from "../../src/store/postgres/types.js";
import { testPostgresUrl } from "../helpers/stores.js";

/** The PostgreSQL store reads timestamptz as ISO text, booleans as 1/0 and jsonb as its text, in any session time zone. */
describe("postgres type parsers", () => {
  it("timestamptz text becomes the store's ISO form (milliseconds, Z), whatever the fraction", () => {
    expect(timestamptzToIso("2025-01-31 09:00:00+00")).toBe("2025-01-31T09:00:00.000Z");
    expect(timestamptzToIso("2025-01-31 09:00:00.1+00")).toBe("2025-01-31T09:00:00.100Z");
    expect(timestamptzToIso("2025-01-31 09:00:00.123456+00")).toBe("2025-01-31T09:00:00.123Z");
    expect(timestamptzToIso("2025-01-31 14:30:00.123+05:30")).toBe("2025-01-31T09:00:00.123Z");
    expect(timestamptzToIso("2025-01-31 01:00:00-08")).toBe("2025-01-31T09:00:00.000Z");
  });

  for (const zone of ["UTC", "Asia/Kolkata", "America/Los_Angeles"])
    it(`reads the same values in a ${zone} session`, async () => {
      const client = new pg.Client({ connectionString: testPostgresUrl, options: `-c TimeZone=${zone}`, types: postgresTypeParsers });
      await client.connect();
      try {
        const { rows } = await client.query(
          `select timestamptz '2025-03-01T09:00:00.123Z' as t, null::timestamptz as n, true as yes, false as no,
                  '{"b": [1, 2], "a": "x"}'::jsonb as doc, 42::bigint as big`,
        );
        expect(rows[0]).toEqual({ t: "2025-03-01T09:00:00.123Z", n: null, yes: 1, no: 0, doc: '{"a": "x", "b": [1, 2]}', big: "42" });
      } finally {
        await client.end();
      }
    });
});
