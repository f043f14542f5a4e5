import type { NewDelivery } from "../model.js";

/** An Entra group whose members cannot be read (unknown group, Graph refused, no Graph): one failed row naming it. */
export function failedGroupRow(groupId: string, tenantId: string, code: string, message: string): NewDelivery {
  return {
    recipientKey: `group:${groupId.toLowerCase()}`,
    kind: "team",
    tenantId,
    targetId: groupId,
    status: "failed",
    errorCode: code,
    errorMessage: message,
  };
}
