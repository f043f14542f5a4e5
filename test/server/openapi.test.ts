import { describe, expect, it } from "vitest";
import { openApiDocument } from "../../src/api/openapi.js";

describe("openapi.json", () => {
  const doc = openApiDocument() as {
    openapi: string;
    paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: Record<string, unknown> }> } }>>;
  };

  it("documents every route of product.md", () => {
    expect(doc.openapi).toBe("3.1.0");
    for (const path of [
      "/v1/notifications",
      "/v1/notifications/{id}",
      "/v1/notifications/{id}/deliveries",
      "/v1/conversations",
      "/v1/reports/blocked",
      "/v1/notifications/{id}/retry",
      "/v1/tenants",
      "/v1/tenants/{id}/resume",
      "/healthz",
      "/metrics",
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
  });

  it("documents 401 and 429 (per-key request limit) on every secured operation", () => {
    const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods as Record<string, { security?: unknown[]; responses: Record<string, unknown> }>).map(
        ([method, op]) => [`${method} ${path}`, op] as const,
      ),
    );
    for (const [name, op] of operations) {
      if (Array.isArray(op.security) && op.security.length === 0) continue;
      expect(Object.keys(op.responses), name).toEqual(expect.arrayContaining(["401", "429"]));
    }
  });

  it("takes request bodies from the validating schemas (strict: unknown fields refused)", () => {
    const body = doc.paths["/v1/notifications"]?.["post"]?.requestBody?.content["application/json"]?.schema as {
      properties: Record<string, unknown>;
      additionalProperties: unknown;
    };
    expect(Object.keys(body.properties)).toEqual(expect.arrayContaining(["audience", "message", "idempotencyKey"]));
    expect(body.additionalProperties).toBe(false);
  });
});
