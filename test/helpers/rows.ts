import type { NewDelivery } from "../../src/delivery/model.js";

/** `count` pending delivery rows to conversations `a:0`, `a:1`, … of `tenantId` (store-level tests). */
export const conversationRows = (count: number, tenantId = "t1"): NewDelivery[] =>
  Array.from({ length: count }, (_, i) => ({
    recipientKey: `conv:a:${i}`,
    kind: "conversation",
    tenantId,
    conversationId: `a:${i}`,
    serviceUrl: "https://smba.example/",
    status: "pending",
  }));
