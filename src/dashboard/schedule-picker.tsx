/** When a composed notification goes: now, at a time, at each person's local time, or recurring (a series). */
export type WhenKind = "now" | "at" | "local" | "recurring";

export interface ScheduleForm {
  when: WhenKind;
  /** `datetime-local` of "at". */
  at: string;
  /** "HH:MM" of "local". */
  localTime: string;
  /** "YYYY-MM-DD" or "" (today, in each person's zone). */
  date: string;
  /** The zone of people whose own zone is unknown ("local"), or the zone the cron is read in ("recurring"); "" = UTC. */
  timeZone: string;
  ifPassed: "sendNow" | "nextDay";
  cron: string;
  /** Each run reaches each person at the cron's time in their own zone. */
  cronLocal: boolean;
  /** `datetime-local` or "". */
  until: string;
}

export const defaultSchedule: ScheduleForm = {
  when: "now",
  at: "",
  localTime: "09:00",
  date: "",
  timeZone: "",
  ifPassed: "sendNow",
  cron: "0 9 * * 1-5",
  cronLocal: false,
  until: "",
};

/** The `schedule` of `POST /v1/notifications` (undefined: now), or the reason the form cannot make one. */
export function scheduleOf(f: ScheduleForm): { schedule?: Record<string, unknown>; error?: string } {
  if (f.when === "now") return {};
  if (f.when === "at") {
    if (!f.at) return { error: "Choose the time to send at." };
    return { schedule: { at: new Date(f.at).toISOString() } };
  }
  const zone = f.timeZone.trim();
  if (f.when === "local") {
    if (!/^\d\d:\d\d$/.test(f.localTime)) return { error: "Choose the local time to send at." };
    const s: Record<string, unknown> = { localTime: f.localTime, ifPassed: f.ifPassed };
    if (f.date) s["date"] = f.date;
    if (zone) s["timeZone"] = zone;
    return { schedule: s };
  }
  if (!f.cron.trim()) return { error: 'Write when it repeats as a cron expression, e.g. "0 9 * * 1-5".' };
  const s: Record<string, unknown> = { cron: f.cron.trim() };
  if (zone) s["timeZone"] = zone;
  if (f.cronLocal) s["localTime"] = true;
  if (f.until) s["until"] = new Date(f.until).toISOString();
  return { schedule: s };
}

const browserZone = (): string => {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch {
    return "";
  }
};

/** The "When" fieldset of Compose. */
export function SchedulePicker(props: { value: ScheduleForm; onChange: (f: ScheduleForm) => void }) {
  const f = props.value;
  const set = (change: Partial<ScheduleForm>) => props.onChange({ ...f, ...change });
  const zoneHint = browserZone();
  return (
    <fieldset>
      <legend>When</legend>
      <div class="radios" role="radiogroup" aria-label="When">
        {(
          [
            ["now", "Now"],
            ["at", "At a time"],
            ["local", "At each person's local time"],
            ["recurring", "Recurring"],
          ] as const
        ).map(([k, label]) => (
          <label key={k}>
            <input type="radio" name="when" checked={f.when === k} onChange={() => set({ when: k })} /> {label}
          </label>
        ))}
      </div>
      {f.when === "at" && (
        <>
          <label for="at">Send at (your local time)</label>
          <input id="at" type="datetime-local" value={f.at} onInput={(e) => set({ at: e.currentTarget.value })} />
        </>
      )}
      {f.when === "local" && (
        <>
          <label for="local-time">Local time (each person's own time zone)</label>
          <input id="local-time" type="time" value={f.localTime} onInput={(e) => set({ localTime: e.currentTarget.value })} />
          <label for="local-date">On (optional; default today)</label>
          <input id="local-date" type="date" value={f.date} onInput={(e) => set({ date: e.currentTarget.value })} />
          <label for="local-zone">Time zone of people whose zone is unknown (default UTC)</label>
          <input
            id="local-zone"
            placeholder={zoneHint || "Europe/Paris"}
            value={f.timeZone}
            onInput={(e) => set({ timeZone: e.currentTarget.value })}
          />
          <div class="radios" role="radiogroup" aria-label="If the time has passed for someone">
            <span>If that time has already passed for someone:</span>
            <label>
              <input type="radio" name="if-passed" checked={f.ifPassed === "sendNow"} onChange={() => set({ ifPassed: "sendNow" })} /> Send
              now
            </label>
            <label>
              <input type="radio" name="if-passed" checked={f.ifPassed === "nextDay"} onChange={() => set({ ifPassed: "nextDay" })} /> Send
              the next day
            </label>
          </div>
        </>
      )}
      {f.when === "recurring" && (
        <>
          <label for="cron">Repeats (cron: minute hour day-of-month month day-of-week)</label>
          <input id="cron" value={f.cron} spellcheck={false} onInput={(e) => set({ cron: e.currentTarget.value })} />
          <label for="cron-zone">Time zone the times are in (default UTC)</label>
          <input
            id="cron-zone"
            placeholder={zoneHint || "Europe/Paris"}
            value={f.timeZone}
            onInput={(e) => set({ timeZone: e.currentTarget.value })}
          />
          <label class="inline">
            <input type="checkbox" checked={f.cronLocal} onChange={(e) => set({ cronLocal: e.currentTarget.checked })} /> At that time in
            each person's own time zone
          </label>
          <label for="until">Until (optional, your local time)</label>
          <input id="until" type="datetime-local" value={f.until} onInput={(e) => set({ until: e.currentTarget.value })} />
          <p class="hint">Each run is a notification of its own; the series is listed by GET /v1/series.</p>
        </>
      )}
    </fieldset>
  );
}
