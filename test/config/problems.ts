import { ConfigError, loadConfig } from "../../src/config/config.js";

/** What `loadConfig` refuses in `env` and `flags` (its ConfigError's problems; [] when it loads). */
export function problems(env: Record<string, string>, flags = {}): string[] {
  try {
    loadConfig(env, flags);
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e;
  }
  return [];
}
