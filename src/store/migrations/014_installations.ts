import type { Migration } from "./migration.js";

/** Proactive installation through Graph (issue 15). RESERVED: filled in by the branch that owns it; removed before a stop if left empty. */
export const m014Installations: Migration = {
  name: "014_installations",
  async up() {},
};
