import { type Command, InvalidArgumentError } from "commander";
import { type Config, settings } from "../config/config.js";

/** Add one flag per HERALD_* setting to a command (`HERALD_DATABASE_URL` ↔ `--database-url <value>`). */
export function addSettingFlags(cmd: Command): Command {
  for (const s of settings) {
    const def = s.default !== undefined && s.default !== "" ? ` (default: ${s.default})` : "";
    cmd.option(`${s.flag} <value>`, `${s.description} [${s.env}]${def}`);
  }
  return cmd;
}

/** The setting flags a user gave, keyed by Config key, for loadConfig. */
export function settingFlags(opts: Record<string, unknown>): Partial<Record<keyof Config, string>> {
  const out: Partial<Record<keyof Config, string>> = {};
  for (const s of settings) {
    const name = s.flag.slice(2).replace(/-([a-z])/g, (_, ch: string) => ch.toUpperCase());
    const v = opts[name];
    if (typeof v === "string") out[s.key] = v;
  }
  return out;
}

/** Exit codes scripts can rely on. */
export const exitCodes = {
  ok: 0,
  /** The command failed (server answered an error, delivery failed). */
  failure: 1,
  /** Bad usage or configuration. */
  usage: 2,
  /** Could not reach the server. */
  unreachable: 3,
} as const;

/**
 * A commander parser for a flag that takes a whole number ≥ 0; a bad value stops the command
 * with commander's message naming the flag and the value, and exit code 2 (usage).
 */
export function wholeNumber(flag: string): (raw: string) => number {
  return (raw) => {
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isInteger(n) || n < 0) {
      const error = new InvalidArgumentError(`--${flag} must be a whole number ≥ 0.`);
      error.exitCode = exitCodes.usage;
      throw error;
    }
    return n;
  };
}
