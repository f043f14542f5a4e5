/**
 * Failures of the store that a caller can act on. `code` is stable (tests, API error bodies and
 * runbooks match on it); the message says what to do next.
 */
export type StoreErrorCode =
  /** `HERALD_DATABASE_URL` is neither `sqlite:<path>` nor `postgres://...`. */
  | "HERALD_E_STORE_URL"
  /** The PostgreSQL schema name is not a plain identifier. */
  | "HERALD_E_STORE_SCHEMA"
  /** The database could not be opened or reached. */
  | "HERALD_E_STORE_OPEN"
  /** Another Herald process holds the SQLite file (one process per file; several need PostgreSQL). */
  | "HERALD_E_STORE_LOCKED"
  /** A migration failed; nothing of that run was applied. */
  | "HERALD_E_STORE_MIGRATION"
  /** A page cursor that this store did not issue. */
  | "HERALD_E_STORE_CURSOR"
  /** A page size outside the accepted range. */
  | "HERALD_E_STORE_LIMIT"
  /** A time that is not ISO 8601. */
  | "HERALD_E_STORE_TIME"
  /** An installation job's lease passed to another process: the one that lost it stops running the job. */
  | "HERALD_E_INSTALL_LEASE_LOST";

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "StoreError";
  }
}
