import type { Context } from "hono";
import type { z } from "zod";
import { errorResponse } from "../http/errors.js";

/** A 400 naming the first bad field, what is wrong and (for unknown fields) that they are refused. */
export function validationMessage(error: z.ZodError, where: string): string {
  const issue = error.issues[0];
  if (!issue) return `${where} is invalid.`;
  const path = issue.path.length > 0 ? issue.path.join(".") : where;
  if (issue.code === "unrecognized_keys") {
    const keys = (issue as { keys?: string[] }).keys ?? [];
    return `${where}: unknown field${keys.length > 1 ? "s" : ""} ${keys.map((k) => `"${k}"`).join(", ")}${issue.path.length ? ` in ${path}` : ""}; remove ${keys.length > 1 ? "them" : "it"}.`;
  }
  return `${path}: ${issue.message}.`;
}

/** 400 HERALD_E_INVALID_QUERY naming the first bad query parameter. */
export function queryError(c: Context, error: z.ZodError): Response {
  return errorResponse(c, 400, "HERALD_E_INVALID_QUERY", validationMessage(error, "query"));
}

/** 400 HERALD_E_INVALID_BODY naming the first bad body field. */
export function bodyError(c: Context, error: z.ZodError): Response {
  return errorResponse(c, 400, "HERALD_E_INVALID_BODY", validationMessage(error, "body"));
}
