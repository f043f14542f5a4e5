import type { ServerResponse } from "node:http";
import type { z } from "zod";
import { EmulatorError } from "../errors.js";
import { parseJsonBody, sendJson } from "../http/io.js";
import type { Call } from "../http/router.js";

/** Answer a control-API refusal as `{error:{code,message}}`. */
export function sendControlError(res: ServerResponse, err: unknown): void {
  if (err instanceof EmulatorError) {
    sendJson(res, err.status, { error: { code: err.code, message: err.message } });
    return;
  }
  sendJson(res, 502, {
    error: { code: "HERALD_E_EMULATOR_BOT_UNREACHABLE", message: `The bot could not be reached: ${(err as Error).message}` },
  });
}

/** Parse and validate a JSON body with a zod schema; throws a 400 EmulatorError naming the field. */
export function readBody<T>(call: Call, schema: z.ZodType<T>): T {
  const parsed = schema.safeParse(parseJsonBody(call.body) ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new EmulatorError(400, "HERALD_E_EMULATOR_BAD_REQUEST", `${issue?.path.join(".") || "(body)"}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}

/** Run a control handler, turning thrown EmulatorErrors into answers. */
export function control(fn: (call: Call) => unknown | Promise<unknown>): (call: Call) => Promise<void> {
  return async (call) => {
    try {
      const result = await fn(call);
      if (!call.res.headersSent) {
        if (result === undefined) {
          call.res.writeHead(204);
          call.res.end();
        } else sendJson(call.res, 200, result);
      }
    } catch (err) {
      sendControlError(call.res, err);
    }
  };
}

/** `limit` and `cursor` (an offset) of a listing. */
export function page(query: URLSearchParams, max = 1000): { offset: number; limit: number } {
  const limit = Math.min(max, Math.max(1, Number(query.get("limit") ?? 100) || 100));
  const offset = Math.max(0, Number(query.get("cursor") ?? 0) || 0);
  return { offset, limit };
}
