/**
 * `--threads N`: verification shared by worker threads gives exactly the single-threaded result.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { BenchLayer } from '../harness/bench/shapes.ts';
import { verifyLayers, verifyTasks } from '../harness/verify/splitconv-verify.ts';

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

test.run();
