/**
 * `--threads N`: verification, benchmarks and design sweeps shared by worker threads give the
 * single-threaded result (timings aside).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { BenchLayer } from '../harness/bench/shapes.ts';
import { verifyLayers, verifyTasks } from '../harness/verify/verify-kernels.ts';
import { benchmarkLayers } from '../harness/bench/bench-kernels.ts';
import { getDevice } from '../harness/fpga/devices.ts';
import { sweep, sweepThreaded } from '../harness/fpga/sweep.ts';
import { loadNetwork } from '../harness/networks/index.ts';

const layers: BenchLayer[] = [
  { name: 'small a', reference: false, shape: { inH: 9, inW: 11, inC: 19, outC: 13, kH: 3, kW: 3, strideH: 1, strideW: 2, padTop: 1, padBottom: 1, padLeft: 0, padRight: 2 } },
  { name: 'small b', reference: false, shape: { inH: 6, inW: 6, inC: 40, outC: 8, kH: 1, kW: 1, strideH: 1, strideW: 1, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0 } },
];

test('verification with 2 worker threads returns exactly the single-threaded results, in task order', async () => {
  const one = await verifyLayers(layers, { ort: false, threads: 1 });
  const two = await verifyLayers(layers, { ort: false, threads: 2 });
  assert.ok(one.length > 0);
  assert.equal(two, one);
  assert.ok(one.every((r) => r.ok), one.find((r) => !r.ok)?.error);
  assert.is(verifyTasks(layers, false).length, 2 * (2 + 4)); // two weight domains and four schemes per layer
});

test('benchmark with 2 worker threads measures and verifies the same kernels on the same layers', async () => {
  const opts = { ort: false, timeMs: 20, minIterations: 2, filter: ['2x4c8', '2x16c2'] };
  const rows = (r: Awaited<ReturnType<typeof benchmarkLayers>>) => r.measurements.map((m) => `${m.layer} | ${m.kernel} | ${m.verifiedAgainst}`);
  const one = await benchmarkLayers(layers, { ...opts, threads: 1 });
  const two = await benchmarkLayers(layers, { ...opts, threads: 2 });
  assert.equal(rows(two), rows(one));
  assert.is(two.options.threads, 2);
  assert.ok(two.measurements.every((m) => m.gmacs > 0));
});

test('a design sweep shared by 2 worker threads gives the single-threaded result', async () => {
  const opts = { model: 'e', device: getDevice('zcu102'), network: loadNetwork('resnet18'), clockMHz: 300, limit: 20_000 };
  const { elapsedMs: _a, ...one } = sweep(opts);
  const { elapsedMs: _b, ...two } = await sweepThreaded(opts, 2);
  assert.ok(one.feasible > 0 && one.front.length > 0);
  assert.equal(two, one);
});

test.run();
