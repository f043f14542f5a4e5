import type { Migration } from "./migration.js";

/** Read receipts and reactions (issue 10). RESERVED: filled in by the branch that owns it; removed before a stop if left empty. */
export const m010ReadsReactions: Migration = {
  name: "010_reads_reactions",
  async up() {},
};
