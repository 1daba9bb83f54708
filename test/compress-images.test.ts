/**
 * Images are never used twice: measurement skips the calibration images and any excluded
 * (search) images, and the result says which images each step used.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compressModel, loadModel } from '../harness/pipelines/compress.ts';
import { describeIndices, measureIndices } from '../harness/quant/evaluate.ts';
import { ensureBuilt } from '../harness/wasm/build.ts';
import { throwsInput } from './helpers.ts';

const range = (first: number, last: number) => Array.from({ length: last - first + 1 }, (_, i) => first + i);

test('measureIndices skips calibration and excluded images; describeIndices names the ranges', () => {
  const set = { count: 30 } as Parameters<typeof measureIndices>[0];
  assert.equal(measureIndices(set, 1000), []);
  const big = { count: 2000 } as typeof set;
  const m = measureIndices(big, 1500, new Set(range(1600, 1999)));
  assert.is(m.length, 1400);
  assert.ok(m.every((i) => i >= 200 && i < 1600));
  assert.is(describeIndices(m), '200..1599');
  assert.is(describeIndices([5, 1, 2, 3, 9]), '1..3, 5, 9');
  assert.is(describeIndices([]), 'none');
});

test('compressModel: measured images are disjoint from calibration and the excluded split, and reported', () => {
  ensureBuilt();
  const loaded = loadModel();
  const r = compressModel({ loaded, images: 30, excludeImages: range(200, 209), backends: ['wasm'], dspImages: 0, fpga: false });
  assert.equal(r.imageSets, { calibration: '0..199', measured: '210..239', excluded: '200..209' });
  assert.is(r.images, 30);
  // Not given: the default count, clipped to what the exclusion leaves; given and too many: an error.
  const clipped = compressModel({ loaded, excludeImages: range(210, 1999), backends: ['wasm'], dspImages: 0, fpga: false });
  assert.equal(clipped.imageSets.measured, '200..209');
  throwsInput(() => compressModel({ loaded, images: 11, excludeImages: range(210, 1999), backends: ['wasm'] }), 'images', '[1, 10]');
});

test.run();
