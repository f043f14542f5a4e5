import { SimpleObjectMemory } from "adaptive-expressions";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TextScope } from "../../src/delivery/message/template.js";

/**
 * TextScope answers a one-name path itself (a broadcast evaluates `${givenName}` for every
 * recipient); it must answer exactly as the card library's SimpleObjectMemory: the first own key
 * equal ignoring case, in key order.
 */
describe("TextScope one-name lookup", () => {
  it("answers as SimpleObjectMemory, whatever the keys' case and order", () => {
    const name = fc.constantFrom("givenName", "GivenName", "givenname", "name", "Name", "x", "X1", "a_b", "locale");
    fc.assert(
      fc.property(fc.array(fc.tuple(name, fc.oneof(fc.string(), fc.integer(), fc.constant(undefined)))), name, (entries, path) => {
        const root: Record<string, unknown> = {};
        for (const [k, v] of entries) root[k] = v;
        expect(new TextScope(root).getValue(path)).toEqual(new SimpleObjectMemory(root).getValue(path));
      }),
      { numRuns: 500 },
    );
  });

  it("keeps the first key of the same name ignoring case", () => {
    const scope = new TextScope({ GivenName: "first", givenName: "second" });
    expect(scope.getValue("givenName")).toBe("first");
    expect(scope.getValue("givenname")).toBe("first");
  });
});
