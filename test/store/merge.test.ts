import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ConversationStatus } from "../../src/domain/conversation.js";
import { createRecord, mergeObservation } from "../../src/store/merge.js";
import type { ConversationObservation } from "../../src/store/ports.js";

const t = (s: number) => new Date(Date.UTC(2025, 0, 1) + s * 1000).toISOString();

const base: ConversationObservation = {
  id: "a:1",
  kind: "personal",
  tenantId: "tenant",
  serviceUrl: "https://smba.example/",
  channelId: "msteams",
  bot: { id: "28:bot", name: "Herald" },
  user: { id: "29:u", name: "U", aadObjectId: "aad-u" },
  at: t(0),
};

describe("createRecord", () => {
  it("is active unless told otherwise, and records the installer only when given", () => {
    const { record, activated } = createRecord(base);
    expect(activated).toBe(true);
    expect(record).toMatchObject({ status: "active", statusChangedAt: t(0), createdAt: t(0), archived: false });
    expect("installedAt" in record).toBe(false);
    const installed = createRecord({ ...base, installedBy: { id: "29:owner" } }).record;
    expect(installed).toMatchObject({ installedBy: { id: "29:owner" }, installedAt: t(0) });
    expect(createRecord({ ...base, status: "blocked" }).activated).toBe(false);
  });

  it("drops undefined fields and anything outside the domain shape", () => {
    const noisy = { ...base, bot: { id: "28:bot", name: undefined, role: "bot" } as ConversationObservation["bot"], locale: undefined };
    const { record } = createRecord(noisy);
    expect(record.bot).toStrictEqual({ id: "28:bot" });
    expect(Object.keys(record)).not.toContain("locale");
  });
});

describe("mergeObservation", () => {
  const stored = createRecord({ ...base, locale: "en-US", team: { id: "19:t", name: "Team", aadGroupId: "g" } }).record;

  it("keeps stored values for undefined fields, also inside accounts, and an empty tenant", () => {
    const { record } = mergeObservation(stored, {
      ...base,
      tenantId: "",
      user: { id: "29:u", name: undefined, aadObjectId: undefined },
      team: { id: "19:t" },
      at: t(5),
    });
    expect(record).toMatchObject({ tenantId: "tenant", locale: "en-US", user: { id: "29:u", name: "U", aadObjectId: "aad-u" } });
    expect(record.team).toStrictEqual({ id: "19:t", name: "Team", aadGroupId: "g" });
  });

  it("replaces an account whose id changed", () => {
    const { record } = mergeObservation(stored, { ...base, user: { id: "29:other" }, at: t(5) });
    expect(record.user).toStrictEqual({ id: "29:other" });
  });

  it("changes status, code and time only when the status changes", () => {
    const blocked = mergeObservation(stored, { ...base, status: "blocked", statusCode: "MessageWritesBlocked", at: t(5) }).record;
    expect(blocked).toMatchObject({ status: "blocked", statusCode: "MessageWritesBlocked", statusChangedAt: t(5) });
    const again = mergeObservation(blocked, { ...base, status: "blocked", statusCode: "Other", at: t(6) }).record;
    expect(again).toMatchObject({ statusCode: "MessageWritesBlocked", statusChangedAt: t(5), updatedAt: t(6) });
  });

  it("sets the installer on a first install of an active record that has none", () => {
    const { record, activated } = mergeObservation(stored, { ...base, installedBy: { id: "29:owner" }, at: t(5) });
    expect(activated).toBe(false);
    expect(record).toMatchObject({ installedBy: { id: "29:owner" }, installedAt: t(5) });
  });

  const statuses: ConversationStatus[] = ["active", "uninstalled", "blocked", "deleted"];
  it("property: lastActivityAt is the latest time seen, in any order; activated means non-active → active", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ s: fc.integer({ min: 0, max: 10_000 }), status: fc.option(fc.constantFrom(...statuses), { nil: undefined }) }),
          {
            minLength: 1,
            maxLength: 20,
          },
        ),
        (steps) => {
          const [first, ...rest] = steps;
          if (!first) return;
          let { record } = createRecord({ ...base, status: first.status, at: t(first.s) });
          for (const step of rest) {
            const before = record.status;
            const merged = mergeObservation(record, { ...base, status: step.status, at: t(step.s) });
            expect(merged.activated).toBe(before !== "active" && merged.record.status === "active");
            record = merged.record;
          }
          expect(record.lastActivityAt).toBe(t(Math.max(...steps.map((x) => x.s))));
          expect(record.createdAt).toBe(t(first.s));
        },
      ),
    );
  });
});
