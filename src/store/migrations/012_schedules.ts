import type { Migration } from "./migration.js";

/** Local-time schedules and recurring series (issue 11). RESERVED: filled in by the branch that owns it; removed before a stop if left empty. */
export const m012Schedules: Migration = {
  name: "012_schedules",
  async up() {},
};
