import type { Migration } from "./migration.js";

/** Running surveys and durable replies (issue 10). RESERVED: filled in by the branch that owns it; removed before a stop if left empty. */
export const m011Surveys: Migration = {
  name: "011_surveys",
  async up() {},
};
