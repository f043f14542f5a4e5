import { ConnectorError } from "../../connector/errors.js";
import { type OperationDeps, slot, throttled } from "./operation.js";

/** Tries of one cancel (429s and transient failures) before giving up. */
const CANCEL_TRIES = 4;

/**
 * Ask Teams to cancel a running operation (`DELETE /v3/batch/conversation/{operationId}`), taking
 * a slot of the tenant's bucket like every batch call; a 429 waits its Retry-After, a transient
 * failure is tried again a few times. A 404 (Teams forgot it, or it ended) is no error. Answers
 * whether Teams took the cancel; a refusal is left to the operation's own end (its poll reports
 * what was sent), so it never throws for Teams' answers.
 */
export async function cancelOperation(d: OperationDeps, serviceUrl: string, tenantId: string, operationId: string): Promise<boolean> {
  for (let tries = 1; ; tries++) {
    await slot(d, tenantId);
    try {
      await d.connector.cancelBatch(serviceUrl, operationId, d.signal);
      return true;
    } catch (e) {
      if (!(e instanceof ConnectorError) || e.kind === "aborted") throw e;
      if (e.status === 404) return false;
      // A 429 holds the tenant even when this was the last try: the tenant's other calls wait too.
      if (e.status === 429) await throttled(d, tenantId, e);
      if (tries >= CANCEL_TRIES) return false;
      if (e.status === 429) continue;
      if (e.status !== undefined && e.status < 500) return false;
      await d.clock.sleep(d.backoffMs * 2 ** tries, d.signal);
    }
  }
}
