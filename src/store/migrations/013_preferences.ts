import type { Migration } from "./migration.js";

/** Categories, quiet hours, frequency caps (issue 11). RESERVED: filled in by the branch that owns it; removed before a stop if left empty. */
export const m013Preferences: Migration = {
  name: "013_preferences",
  async up() {},
};
