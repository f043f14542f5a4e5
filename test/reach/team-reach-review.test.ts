import { describe, expect, it } from "vitest";
import { openApiDocument } from "../../src/api/openapi.js";
import { sendBody } from "../../src/cli/client.js";
import { notificationRequestSchema } from "../../src/delivery/request.js";

/**
 * Review of issue 15 (team audiences by Entra group id): cases the branch's own tests leave out.
 */

describe("OpenAPI examples", () => {
  it("every POST /v1/notifications example is a request the schema accepts", () => {
    const doc = openApiDocument() as {
      paths: Record<string, { post: { requestBody: { content: Record<string, { examples: Record<string, { value: unknown }> }> } } }>;
    };
    const examples = doc.paths["/v1/notifications"]!.post.requestBody.content["application/json"]!.examples;
    expect(Object.keys(examples)).toContain("teamByGroupId");
    for (const [name, ex] of Object.entries(examples)) {
      const parsed = notificationRequestSchema.safeParse(ex.value);
      expect({ name, ok: parsed.success, issues: parsed.success ? [] : parsed.error.issues.map((i) => i.message) }).toEqual({
        name,
        ok: true,
        issues: [],
      });
    }
  });
});

describe("herald send --teams", () => {
  it("19: team ids with --tenant keep working as before the change (the tenant was ignored, now it makes a 400)", () => {
    const body = sendBody({ teams: ["19:abc@thread.tacv2"], tenant: "72f988bf-86f1-41af-91ab-2d7cd011db47", text: "Hi" });
    const parsed = notificationRequestSchema.safeParse(body);
    expect(parsed.success ? "ok" : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`)).toBe("ok");
  });
});
