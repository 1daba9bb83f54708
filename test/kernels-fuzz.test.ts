/**
 * Property-based kernel suite (fast-check): random cases (H, W 1..20, C, OC 1..40, K 1..5,
 * strides, pads, zero points, clamps, log-uniform multipliers, extreme operands, every
 * requantization mode, cascade lengths) through every kernel in every module this engine loads:
 * split convolution equal to the reference, packed DSP equal to the engine model for every scheme
 * and decode point (and to the exact convolution within the bound), the slice model equal to the
 * identity model on small cases, no guard byte touched (harness/testers/fuzz-checks.ts).
 *
 * A fixed seed keeps `npm test` deterministic; `npm run fuzz -- --shapes N` draws new cases. A
 * failure prints the shrunk case and the command that replays it. The name starts with kernels-
 * so the test runner runs it on every engine (Node 24 has the relaxed module).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fuzzTargets } from '../harness/testers/fuzz-checks.ts';
import { runKernelFuzz } from '../harness/testers/fuzz-run.ts';

const SEED = 20240611;
const CASES = 200;

const targets = fuzzTargets();

test(`every kernel equals its oracle on ${CASES} random cases (fast-check seed ${SEED})`, () => {
  const r = runKernelFuzz({ cases: CASES, seed: SEED, targets });
  if (r.failure) assert.unreachable(r.failure.message);
  const c = r.counts;
  console.log(`${r.cases} cases in ${(r.ms / 1000).toFixed(1)} s on Node ${process.version}: ${JSON.stringify(c)}`);
  // A path the cases never reached is not tested: each must have been taken.
  assert.is(c.cases, CASES);
  assert.is(c.splitRuns, CASES * targets.split.length);
  assert.ok(targets.split.some((t) => t.kernel.name !== 'scalar' && t.kernel.name !== 'debug'), 'no SIMD module loaded: a run without SIMD is not a pass');
  assert.ok(c.packedRuns > 0 && c.exactWithinBound > 0 && c.corruptedPastBound > 0 && c.sliceChecks > 0, JSON.stringify(c));
});

test.run();
