import { describe, expect, it } from "vitest";
import { mayReadTemplate } from "../../src/templates/policy.js";

/** Which templates a key limited to some tenants sees: only those whose every tenant is its own. */
describe("mayReadTemplate", () => {
  it("hides a template that also concerns a tenant outside the reader's", () => {
    expect(mayReadTemplate({ tenants: ["A", "B"] }, ["A"])).toBe(false);
    expect(mayReadTemplate({ tenants: ["B", "A"] }, ["A"])).toBe(false);
    expect(mayReadTemplate({ tenants: ["C"] }, ["A", "B"])).toBe(false);
  });

  it("shows a template whose tenants are all the reader's (the same set or a subset)", () => {
    expect(mayReadTemplate({ tenants: ["A"] }, ["A"])).toBe(true);
    expect(mayReadTemplate({ tenants: ["A"] }, ["A", "B"])).toBe(true);
    expect(mayReadTemplate({ tenants: ["B", "A"] }, ["A", "B", "C"])).toBe(true);
  });

  it("hides a template saved for every tenant (no limit) from a limited reader", () => {
    expect(mayReadTemplate({ tenants: undefined }, ["A"])).toBe(false);
    expect(mayReadTemplate({}, ["A"])).toBe(false);
  });

  it("shows every template to a reader without a limit", () => {
    expect(mayReadTemplate({ tenants: ["A", "B"] }, undefined)).toBe(true);
    expect(mayReadTemplate({ tenants: undefined }, undefined)).toBe(true);
    expect(mayReadTemplate({}, undefined)).toBe(true);
  });

  it("a reader limited to no tenant sees nothing limited to one", () => {
    expect(mayReadTemplate({ tenants: ["A"] }, [])).toBe(false);
    expect(mayReadTemplate({ tenants: undefined }, [])).toBe(false);
  });
});
