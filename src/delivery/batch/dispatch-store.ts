import type { DeliveryStore } from "../store/port.js";

/**
 * The delivery store as the dispatcher sees it when some notifications take the batch path:
 * their rows are never claimed one by one (`claim` answers none, `nextDue` nothing due; once the
 * batch path waits only for paused tenants, for those tenants' rows alone: `isBatch`), and
 * `activeWork` tells the batch path which of them have work (`onActive`). Every other method is
 * the store's own, bound once (the dispatcher's hot path pays one Map lookup per call, not a bind).
 */
export function leaveBatchRows(
  store: DeliveryStore,
  isBatch: (notificationId: string, tenantId: string) => boolean,
  onActive: (ids: readonly { id: string; status: string }[]) => void,
): DeliveryStore {
  const bound = new Map<PropertyKey, unknown>();
  const overrides: Partial<DeliveryStore> = {
    claim: (owner, notificationId, tenantId, now, limit) =>
      isBatch(notificationId, tenantId) ? Promise.resolve([]) : store.claim(owner, notificationId, tenantId, now, limit),
    nextDue: (notificationId, tenantId) =>
      isBatch(notificationId, tenantId) ? Promise.resolve(undefined) : store.nextDue(notificationId, tenantId),
    activeWork: async (now) => {
      const active = await store.activeWork(now);
      onActive(active);
      return active;
    },
  };
  return new Proxy(store, {
    get(target, prop) {
      if (prop in overrides) return overrides[prop as keyof DeliveryStore];
      let v = bound.get(prop);
      if (v === undefined) {
        v = Reflect.get(target, prop, target);
        if (typeof v === "function") {
          v = (v as (...a: unknown[]) => unknown).bind(target);
          bound.set(prop, v);
        } else return v;
      }
      return v;
    },
  });
}
