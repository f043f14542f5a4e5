/**
 * Drafts awaiting approval (issue 12): the store port. An author (the `draft` scope) writes a
 * notification request and submits it; an approver (`approve`) approves it, which sends it, or
 * returns it with a comment.
 */

export const draftStatuses = ["draft", "submitted", "returned", "approved"] as const;
export type DraftStatus = (typeof draftStatuses)[number];

export interface Draft {
  id: string;
  title: string;
  /** The `POST /v1/notifications` body, as validated when saved. */
  request: Record<string, unknown>;
  status: DraftStatus;
  /** The author's key id. */
  createdBy: string;
  /** The author key's tenant limit when the draft was saved; undefined = every tenant. */
  tenants?: string[] | undefined;
  /** The approver's comment when the draft was sent back. */
  comment?: string | undefined;
  /** The notification the approval created. */
  notificationId?: string | undefined;
  createdAt: string;
  updatedAt: string;
}

/** One decision on a draft. */
export interface Approval {
  draftId: string;
  decision: "approved" | "returned";
  decidedBy: string;
  comment?: string | undefined;
  decidedAt: string;
}

export interface DraftStore {
  create(d: Draft): Promise<void>;
  get(id: string): Promise<Draft | undefined>;
  /** Newest first (by last change), at most 500; the API leaves out what a tenant-limited reader may not see. */
  list(filter: { status?: DraftStatus | undefined }): Promise<Draft[]>;
  /**
   * Change a draft only when its status is one of `from` (compare-and-set, so two approvers
   * never both send it); true when it changed.
   */
  update(
    id: string,
    from: readonly DraftStatus[],
    change: Partial<Pick<Draft, "title" | "request" | "status" | "comment" | "notificationId" | "updatedAt">>,
  ): Promise<boolean>;
  /** Record a decision. */
  decide(a: Approval): Promise<void>;
  /** Every decision on a draft, oldest first. */
  history(id: string): Promise<Approval[]>;
}
