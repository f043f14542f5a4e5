import { expect, it } from "vitest";
import { Warmup } from "../../src/delivery/dispatch/warmup.js";

/** Review: the Warmup gate's invariants, pure (the engine test covers only the rate-limit hand-over). */
const settled = async (p: Promise<void>) => {
  let done = false;
  void p.then(() => {
    done = true;
  });
  await new Promise((r) => setImmediate(r));
  return done;
};

it("one probe at a time; skipped hands it to the next waiter only; open lets all go", async () => {
  const w = new Warmup();
  expect(await settled(w.enter())).toBe(true); // probe 1
  const a = w.enter();
  const b = w.enter();
  expect(await settled(a)).toBe(false);
  w.skipped(); // probe 1 did not send: a probes, b still waits
  expect(await settled(a)).toBe(true);
  expect(await settled(b)).toBe(false);
  w.skipped(); // a did not send either: b probes
  expect(await settled(b)).toBe(true);
  w.skipped(); // nobody waits: cold again, the next entrant probes alone
  expect(await settled(w.enter())).toBe(true);
  const c = w.enter();
  expect(await settled(c)).toBe(false);
  w.open();
  expect(await settled(c)).toBe(true);
  w.skipped(); // after open, a skip changes nothing
  expect(await settled(w.enter())).toBe(true);
  expect(await settled(w.enter())).toBe(true);
});
