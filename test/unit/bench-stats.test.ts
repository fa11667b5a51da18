import assert from "node:assert/strict";
import { test } from "node:test";
import { paired, quantile, summarize } from "../bench/stats.js";

test("bench statistics: interpolated quantiles, order-free summaries, paired per-round values", () => {
  assert.equal(quantile([10], 0.9), 10);
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5, "an even sample's median lies between its middle values");
  assert.equal(quantile([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.1), 10);
  assert.throws(() => quantile([], 0.5));
  const s = summarize([9, 1, 5, 3, 7]);
  assert.deepEqual([s.n, s.min, s.q1, s.median, s.q3, s.max], [5, 1, 3, 5, 7, 9]);
  assert.ok(Math.abs(s.p10 - 1.8) < 1e-9 && Math.abs(s.p90 - 8.2) < 1e-9);
  assert.deepEqual(paired([4, 9], [2, 3], (a, b) => a / b), [2, 3]);
  assert.throws(() => paired([1], [1, 2], (a, b) => a - b), /differ in length/);
});
