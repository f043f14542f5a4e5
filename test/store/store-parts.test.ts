import { describe, expect, it } from "vitest";
import { decodeCursor, encodeCursor } from "../../src/store/kysely/cursor.js";
import { checkMigrationList } from "../../src/store/kysely/migrator.js";
import { migrations } from "../../src/store/migrations/index.js";
import { parseDatabaseUrl } from "../../src/store/open.js";
import { lockKey } from "../../src/store/postgres/open.js";
import { canonicalTime } from "../../src/store/time.js";

describe("parseDatabaseUrl", () => {
  it("reads sqlite paths, memory and postgres URLs", () => {
    expect(parseDatabaseUrl("sqlite:./data/herald.db")).toEqual({ kind: "sqlite", path: "./data/herald.db" });
    expect(parseDatabaseUrl("sqlite:///var/lib/herald.db")).toEqual({ kind: "sqlite", path: "/var/lib/herald.db" });
    expect(parseDatabaseUrl("sqlite::memory:")).toEqual({ kind: "sqlite", path: ":memory:" });
    expect(parseDatabaseUrl("postgres://u@h:5432/db")).toEqual({ kind: "postgres", url: "postgres://u@h:5432/db" });
    expect(parseDatabaseUrl("postgresql://u@h/db")).toEqual({ kind: "postgres", url: "postgresql://u@h/db" });
  });

  it("refuses anything else without echoing it whole (it may hold a password)", () => {
    expect(() => parseDatabaseUrl("mysql://user:secret@h/db")).toThrow(expect.objectContaining({ code: "HERALD_E_STORE_URL" }));
    try {
      parseDatabaseUrl("mysql://user:secret@h/db");
    } catch (e) {
      expect((e as Error).message).not.toContain("secret");
    }
    expect(() => parseDatabaseUrl("sqlite:")).toThrow(expect.objectContaining({ code: "HERALD_E_STORE_URL" }));
  });
});

describe("cursor", () => {
  it("round-trips a key and refuses what it did not issue", () => {
    expect(decodeCursor(encodeCursor(12345))).toBe(12345);
    expect(encodeCursor(1)).not.toContain("1:");
    for (const bad of ["", "abc", Buffer.from("c1:-1").toString("base64url"), Buffer.from("c2:5").toString("base64url")]) {
      expect(() => decodeCursor(bad)).toThrow(expect.objectContaining({ code: "HERALD_E_STORE_CURSOR" }));
    }
  });
});

describe("migrations", () => {
  it("are numbered 001, 002, ... in order", () => {
    expect(() => checkMigrationList(migrations)).not.toThrow();
    expect(migrations[0]?.name).toBe("001_conversations");
  });

  it("a misnumbered list is refused", () => {
    const up = async () => {};
    expect(() =>
      checkMigrationList([
        { name: "001_a", up },
        { name: "003_b", up },
      ]),
    ).toThrow(/#2 is named "003_b"/);
    expect(() => checkMigrationList([{ name: "1_a", up }])).toThrow();
  });
});

describe("canonicalTime", () => {
  it("keeps toISOString output as is, normalises other ISO forms and refuses the rest", () => {
    expect(canonicalTime("2025-01-31T09:00:00.000Z")).toBe("2025-01-31T09:00:00.000Z");
    expect(canonicalTime("2025-01-31T10:00:00+01:00")).toBe("2025-01-31T09:00:00.000Z");
    expect(() => canonicalTime("soon")).toThrow(expect.objectContaining({ code: "HERALD_E_STORE_TIME" }));
  });
});

describe("lockKey", () => {
  it("is a stable signed 32-bit integer per schema", () => {
    expect(lockKey("herald")).toBe(lockKey("herald"));
    expect(lockKey("herald")).not.toBe(lockKey("herald_test"));
    expect(Number.isInteger(lockKey("x")) && Math.abs(lockKey("x")) < 2 ** 31).toBe(true);
  });
});
