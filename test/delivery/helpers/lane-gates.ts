import type { LaneDeps } from "../../../src/delivery/dispatch/lane.js";

/** The gates of a Lane left always open (credentials good, pool warm), for tests of a lane alone. */
export const openGates: Pick<
  LaneDeps,
  "credentialWait" | "credentialEnter" | "credentialsPaused" | "credentialLost" | "warm" | "isWarm" | "answered" | "skipped"
> = {
  credentialWait: () => 0,
  credentialEnter: () => true,
  credentialsPaused: () => false,
  credentialLost: () => undefined,
  warm: async () => undefined,
  isWarm: () => true,
  answered: () => undefined,
  skipped: () => undefined,
};
