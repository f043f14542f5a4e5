import { type Kysely, type RawBuilder, sql } from "kysely";
import { lookupForms, optedOut } from "../../delivery/audience/rows.js";
import { rowCodes } from "../../delivery/errors.js";
import { SYSTEM_CREATOR } from "../../delivery/model.js";
import {
  type FrequencyCap,
  frequencyRelease,
  type HoldReason,
  isTimeZone,
  nextAllowed,
  type SendingWindow,
  type Weekday,
} from "../../preferences/hours.js";
import type { StoreDialect } from "./backend.js";
import type { JobRow } from "./delivery-rows.js";
import type { AllTables } from "./delivery-schema.js";
import { addToCounters, chunk, lockNotifications, rowsPerStatement } from "./delivery-sql.js";
import { rowToPreference } from "./rows.js";

/**
 * Claim-time holds (issue 11): a non-urgent send just claimed goes back to the pool, due at the
 * recipient's next allowed moment, when it falls in the tenant's quiet hours or off its working
 * days (in the recipient's own time zone, else the tenant's, else UTC), or when the person already
 * got HERALD_FREQUENCY_CAP messages in the window. The row keeps why (`held_until`,
 * `held_reason`); nothing is dropped. Edits and deletes of sent copies are never held.
 *
 * Before that, a send to a person who opted out (of everything or of the notification's category)
 * after the row was written (a scheduled or held message) ends `optedOut`, urgent or not: the
 * choice is the person's, made in their chat or through the API.
 */

/** The process's hold settings (the composition root fills them from the configuration). */
export interface HoldSettings {
  frequencyCap?: FrequencyCap | undefined;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** Why and until when a claimed row goes back to the pool. */
type Hold = { until: number; reason: HoldReason | "welcome" };

/** The conversations `rows` go to, each once (rows still to create their chat have none). */
const chatsOf = (rows: readonly JobRow[]): string[] => [
  ...new Set(rows.map((r) => r.conversation_id).filter((c): c is string => c !== null)),
];

/** The person a row reaches, for the frequency cap: its user's Teams id, else the user id it was created for. */
const personOf = (r: JobRow): string | undefined => r.user_id ?? (r.kind === "user" ? (r.target_id ?? undefined) : undefined);

/**
 * Hold what must wait among `rows` (claimed by `owner` for one notification and one tenant);
 * returns the rows to send now, and how many ended `optedOut` (the caller may have to finish the
 * notification).
 */
export async function applyHolds(
  db: Kysely<AllTables>,
  dialect: StoreDialect,
  owner: string,
  rows: JobRow[],
  notificationId: string,
  tenantId: string,
  now: number,
  settings: HoldSettings,
): Promise<{ kept: JobRow[]; optedOut: number }> {
  let sends = rows.filter((r) => (r.op ?? "send") === "send");
  if (sends.length === 0) return { kept: rows, optedOut: 0 };
  const info = await db
    .selectFrom("notifications as n")
    .leftJoin("tenant_settings as t", (j) => j.on("t.tenant_id", "=", tenantId))
    .select(["n.priority", "n.category", "n.created_by", "t.time_zone", "t.quiet_start", "t.quiet_end", "t.working_days"])
    // Whether the tenant has any choice stored at all (one primary-key probe): most do not, and
    // then no claim needs the lookup of its people's choices (a statement of ~200 ids per claim).
    .select((eb) =>
      eb.exists(eb.selectFrom("preferences").select(sql.lit(1).as("one")).where("preferences.tenant_id", "=", tenantId)).as("choices"),
    )
    .where("n.id", "=", notificationId)
    .executeTakeFirst();
  if (!info) return { kept: rows, optedOut: 0 };
  const out = Number(info.choices)
    ? await endOptedOut(db, dialect, owner, sends, notificationId, tenantId, info.category, now)
    : new Set<number>();
  if (out.size > 0) {
    rows = rows.filter((r) => !out.has(Number(r.seq)));
    sends = sends.filter((r) => !out.has(Number(r.seq)));
  }
  const result = (kept: JobRow[]) => ({ kept, optedOut: out.size });
  const held = new Map<number, Hold>();
  // A welcome on its way into the conversation goes first, urgent or not (021_welcome_holds);
  // the bot's own replies (the welcome itself, answers) are never held behind one.
  if (info.created_by !== SYSTEM_CREATOR) await holdForWelcomes(db, sends, held, now);
  if (info.priority !== "urgent") await holdForWindow(db, dialect, sends, held, notificationId, tenantId, now, info, settings);
  if (held.size === 0) return result(rows);

  // One statement per chunk of held rows (each its own time and reason: a CASE on seq), not one
  // per person: with the frequency cap every person is released at their own moment.
  for (const part of chunk([...held], rowsPerStatement)) {
    const pick = (value: (h: Hold) => RawBuilder<unknown>) =>
      sql`case seq ${sql.join(
        part.map(([seq, h]) => sql`when ${seq} then ${value(h)}`),
        sql` `,
      )} end`;
    await db
      .updateTable("deliveries")
      .set({
        queue: "ready",
        due_at: pick((h) => sql`cast(${h.until} as bigint)`) as RawBuilder<number>,
        lease_owner: null,
        // PostgreSQL types a CASE of untyped parameters as text: say timestamptz (018_postgres_types).
        held_until: pick((h) =>
          dialect === "postgres" ? sql`cast(${iso(h.until)} as timestamptz)` : sql`${iso(h.until)}`,
        ) as RawBuilder<string>,
        held_reason: pick((h) => sql`${h.reason}`) as RawBuilder<string>,
        updated_at: iso(now),
      })
      .where("notification_id", "=", notificationId)
      .where(
        "seq",
        "in",
        part.map(([seq]) => seq),
      )
      .where("lease_owner", "=", owner)
      .execute();
  }
  return result(rows.filter((r) => !held.has(Number(r.seq))));
}

/** How soon a row held back for a welcome on its way is looked at again, in ms (the welcome usually goes within a second). */
const WELCOME_RECHECK_MS = 250;

/**
 * Rows into a conversation whose welcome is on its way (a live hold of another notification,
 * 021_welcome_holds) go back to the pool for WELCOME_RECHECK_MS, at most until the hold ends:
 * whichever process took the install event and whichever claims the row, the person sees the
 * welcome first. One lookup by primary key per conversation, only those of this claim.
 */
async function holdForWelcomes(db: Kysely<AllTables>, sends: readonly JobRow[], held: Map<number, Hold>, now: number): Promise<void> {
  const ids = chatsOf(sends);
  if (ids.length === 0) return;
  const live = new Map<string, number>();
  for (const part of chunk(ids, rowsPerStatement)) {
    const found = await db
      .selectFrom("welcome_holds")
      .select(["conversation_id", "hold_until"])
      .where("conversation_id", "in", part)
      .where("hold_until", ">", iso(now))
      .execute();
    for (const f of found) live.set(f.conversation_id, Date.parse(f.hold_until));
  }
  if (live.size === 0) return;
  for (const r of sends) {
    const until = r.conversation_id === null ? undefined : live.get(r.conversation_id);
    if (until !== undefined) held.set(Number(r.seq), { until: Math.min(until, now + WELCOME_RECHECK_MS), reason: "welcome" });
  }
}

/** Quiet hours, working days (the tenant's window in each recipient's zone) and the frequency cap: non-urgent rows only. */
async function holdForWindow(
  db: Kysely<AllTables>,
  dialect: StoreDialect,
  sends: readonly JobRow[],
  held: Map<number, Hold>,
  notificationId: string,
  tenantId: string,
  now: number,
  info: { time_zone: string | null; quiet_start: string | null; quiet_end: string | null; working_days: string | null },
  settings: HoldSettings,
): Promise<void> {
  const window: SendingWindow = {
    quietHours: info.quiet_start && info.quiet_end ? { start: info.quiet_start, end: info.quiet_end } : undefined,
    workingDays: info.working_days ? (JSON.parse(info.working_days) as Weekday[]) : undefined,
  };
  const cap = settings.frequencyCap;
  if (window.quietHours || window.workingDays) {
    const ids = chatsOf(sends);
    const zones = new Map<string, string>();
    if (ids.length > 0) {
      const found = await db.selectFrom("conversations").select(["id", "timezone"]).where("id", "in", ids).execute();
      // A zone no IANA name matches (the client reports it unchecked) falls back to the tenant's, not UTC.
      for (const f of found) if (f.timezone && isTimeZone(f.timezone)) zones.set(f.id, f.timezone);
    }
    for (const r of sends) {
      const zone = (r.conversation_id ? zones.get(r.conversation_id) : undefined) ?? info.time_zone ?? "UTC";
      const next = nextAllowed(now, zone, window);
      // The later of two holds wins (a welcome's is short; quiet hours may last the night).
      if (next.reason && next.at > (held.get(Number(r.seq))?.until ?? 0)) held.set(Number(r.seq), { until: next.at, reason: next.reason });
    }
  }
  if (cap) await capFrequency(db, dialect, sends, held, notificationId, tenantId, now, cap);
}

/**
 * Rows to people who opted out since the row was written end `optedOut` (counters moved with
 * them, under the notification's lock as every writer of its counters); returns their seqs.
 */
async function endOptedOut(
  db: Kysely<AllTables>,
  dialect: StoreDialect,
  owner: string,
  sends: readonly JobRow[],
  notificationId: string,
  tenantId: string,
  category: string | null,
  now: number,
): Promise<Set<number>> {
  // A choice may be kept under the Teams id or, made through the API before any chat, under the
  // Entra object id (in the letter case it was given): a row is looked up by every id it carries.
  // Each row's ids once (kept in order: the first with a choice decides, below), every claim's
  // rows: this ran twice per row with three arrays each.
  const idsOf = sends.map((r) => {
    const ids: string[] = [];
    for (const u of [r.user_id, r.kind === "user" ? r.target_id : null, r.user_aad_object_id])
      if (u !== null && u !== undefined && u !== "") for (const form of lookupForms(u)) ids.push(form);
    return ids;
  });
  const users = [...new Set(idsOf.flat())];
  const ended = new Set<number>();
  if (users.length === 0) return ended;
  const prefs = await db.selectFrom("preferences").selectAll().where("tenant_id", "=", tenantId).where("user_id", "in", users).execute();
  if (prefs.length === 0) return ended;
  const byId = new Map(prefs.map((row) => [row.user_id, rowToPreference(row)]));
  // The choice under the row's Teams id decides when there is one (the person's latest, from their
  // chat); else one kept under the Entra id.
  const seqs: number[] = [];
  sends.forEach((r, i) => {
    const pref = (idsOf[i] ?? []).map((u) => byId.get(u)).find((p) => p !== undefined);
    if (optedOut(pref, category ?? undefined)) seqs.push(Number(r.seq));
  });
  if (seqs.length === 0) return ended;
  const nowIso = iso(now);
  await db.transaction().execute(async (trx) => {
    await lockNotifications(trx, dialect, [notificationId]);
    const changed = await trx
      .updateTable("deliveries")
      .set({
        status: "optedOut",
        op: null,
        queue: null,
        due_at: null,
        lease_owner: null,
        last_error_code: rowCodes.optedOut,
        last_error_message: "The user opted out of these notifications before it was sent.",
        updated_at: nowIso,
      })
      .where("notification_id", "=", notificationId)
      .where("seq", "in", seqs)
      .where("lease_owner", "=", owner)
      .where("status", "=", "pending")
      .returning("seq")
      .execute();
    for (const c of changed) ended.add(Number(c.seq));
    if (ended.size > 0) await addToCounters(trx, notificationId, { pending: -ended.size, optedOut: ended.size }, nowIso);
  });
  return ended;
}

/**
 * The frequency cap, in one transaction: each person's sends in the window are read (PostgreSQL:
 * under an advisory lock per person, so two processes cannot both let the last allowed message
 * through), rows over the cap are held until the oldest counted send leaves the window, and the
 * rows let through are counted. A row counted before (claimed again after a retry) passes.
 */
async function capFrequency(
  db: Kysely<AllTables>,
  dialect: StoreDialect,
  sends: readonly JobRow[],
  held: Map<number, Hold>,
  notificationId: string,
  tenantId: string,
  now: number,
  cap: FrequencyCap,
): Promise<void> {
  const byPerson = new Map<string, JobRow[]>();
  for (const r of sends) {
    const person = personOf(r);
    if (person === undefined || held.has(Number(r.seq))) continue;
    byPerson.set(person, [...(byPerson.get(person) ?? []), r]);
  }
  if (byPerson.size === 0) return;
  const people = [...byPerson.keys()].sort();
  await db.transaction().execute(async (trx) => {
    // One statement for every person's lock, taken in sorted order (PostgreSQL evaluates a volatile
    // function of the select list after the ORDER BY), so two claims cannot deadlock.
    if (dialect === "postgres")
      await sql`select pg_advisory_xact_lock(hashtext(k)) from unnest(${people.map((p) => `herald-freq:${tenantId}:${p}`)}::text[]) as k order by k`.execute(
        trx,
      );
    // Sends that left the window count no more: forget them (keeps the table the size of one window).
    await trx
      .deleteFrom("frequency_sends")
      .where("tenant_id", "=", tenantId)
      .where("user_id", "in", people)
      .where("at", "<=", now - cap.windowMs)
      .execute();
    // A counted row that ended without reaching the person (recalled before it went out, failed,
    // blocked, not found) counts no more; `unknown` may have arrived and still counts.
    const counted = await trx
      .selectFrom("frequency_sends as f")
      .innerJoin("deliveries as d", (j) => j.onRef("d.notification_id", "=", "f.notification_id").onRef("d.seq", "=", "f.seq"))
      .select(["f.user_id", "f.at", "f.notification_id", "f.seq"])
      .where("f.tenant_id", "=", tenantId)
      .where("f.user_id", "in", people)
      .where("f.at", ">", now - cap.windowMs)
      .where("d.status", "not in", ["canceled", "failed", "blocked", "notFound", "optedOut"])
      .execute();
    const times = new Map<string, number[]>();
    const already = new Set<string>();
    for (const c of counted) {
      times.set(c.user_id, [...(times.get(c.user_id) ?? []), Number(c.at)]);
      if (c.notification_id === notificationId) already.add(`${c.user_id}\u0000${Number(c.seq)}`);
    }
    const pass: { notification_id: string; seq: number; tenant_id: string; user_id: string; at: number }[] = [];
    for (const [person, rows] of byPerson) {
      const sent = times.get(person) ?? [];
      for (const r of [...rows].sort((a, b) => Number(a.seq) - Number(b.seq))) {
        if (already.has(`${person}\u0000${Number(r.seq)}`)) continue;
        const release = frequencyRelease(sent, cap, now);
        if (release > now) {
          held.set(Number(r.seq), { until: release, reason: "frequencyCap" });
          continue;
        }
        sent.push(now);
        pass.push({ notification_id: notificationId, seq: Number(r.seq), tenant_id: tenantId, user_id: person, at: now });
      }
    }
    if (pass.length > 0)
      await trx
        .insertInto("frequency_sends")
        .values(pass)
        .onConflict((oc) => oc.columns(["notification_id", "seq"]).doNothing())
        .execute();
  });
}
