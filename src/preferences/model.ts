import type { Weekday } from "./hours.js";

/** A tenant's delivery settings as stored and as `GET|PUT /v1/tenants/{id}` shows them. */
export interface TenantSettings {
  tenantId: string;
  /** IANA zone: the default of recipients whose own zone Teams did not report. */
  timeZone?: string | undefined;
  /** Non-urgent messages wait until the end of these local hours. */
  quietHours?: { start: string; end: string } | undefined;
  /** Non-urgent messages wait for one of these days; undefined = every day. */
  workingDays?: Weekday[] | undefined;
  updatedAt: string;
}

/** How many people of a tenant opted out of a category (`*` = of everything). */
export interface OptOutCount {
  tenantId: string;
  category: string;
  count: number;
}

/** The special category meaning every notification. */
export const allCategories = "*";
