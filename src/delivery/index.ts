/** The delivery engine: accept notifications, expand audiences, send within Teams' limits, account for every recipient. */
export { type DeliveryConfig, defaultDeliveryConfig, resolveDeliveryConfig } from "./config.js";
export type { DispatchStats } from "./dispatch/dispatcher.js";
export { type Caller, createDeliveryEngine, type DeliveryEngine, type DeliveryEngineDeps, type PageRequest } from "./engine.js";
export { DeliveryError, type DeliveryErrorCode } from "./errors.js";
export type {
  Audience,
  BlockedEntry,
  Delivery,
  DeliveryCounts,
  DeliveryStatus,
  InFlightPolicy,
  Notification,
  NotificationStatus,
} from "./model.js";
export { type Policies, policiesFor, scalePolicy } from "./policies.js";
export {
  audienceSchema,
  blockedQuerySchema,
  deliveriesQuerySchema,
  editRequestSchema,
  type NotificationRequest,
  notificationRequestSchema,
  notificationsQuerySchema,
} from "./request.js";
export type { DeliveryStore, RecipientDirectory } from "./store/port.js";
