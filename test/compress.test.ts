/**
 * `fkb compress` on the embedded Fashion-MNIST model: the accuracy targets, measured on
 * held-out images (the 200 calibration images are never measured), and bad input.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compressModel } from '../harness/pipelines/compress.ts';

const IMAGES = 400;
const int8 = compressModel({ images: IMAGES, backends: ['reference', 'wasm', 'dsp'] });
const points = (x: number) => 100 * x;

test('int8 per-channel: within 0.5 points of float; reference, WASM and packed-DSP kernels agree', () => {
  const drop = points(int8.float.top1 - int8.compressed.top1.wasm!);
  console.log(`float ${points(int8.float.top1).toFixed(2)} %, int8 ${points(int8.compressed.top1.wasm!).toFixed(2)} % on ${int8.images} images`);
  assert.ok(drop <= 0.5, `int8 drops ${drop.toFixed(2)} points`);
  assert.is(int8.compressed.top1.reference, int8.compressed.top1.wasm);
  assert.is(int8.compressed.sqnrDb.reference, int8.compressed.sqnrDb.wasm);
  assert.is(int8.compressed.top1.dsp, int8.compressed.top1.wasm);
  assert.ok(int8.compressed.sqnrDb.wasm! > 30, `SQNR ${int8.compressed.sqnrDb.wasm} dB`);
  assert.is(int8.compressed.sizeBits, 475_072);
  assert.ok(int8.layers.every((l) => l.dspOutputs > 0));
});

test('pruning to <= 50 % of the MACs plus int8: within 2 points of float, without retraining', () => {
  const r = compressModel({ images: IMAGES, ratio: 0.3, reconstruct: true });
  const drop = points(r.float.top1 - r.compressed.top1.wasm!);
  console.log(`pruned ${(100 * r.compressed.macs / r.float.macs).toFixed(1)} % MACs + int8: ${points(r.compressed.top1.wasm!).toFixed(2)} % (float ${points(r.float.top1).toFixed(2)} %)`);
  assert.ok(r.compressed.macs <= 0.5 * r.float.macs, `${r.compressed.macs} of ${r.float.macs} MACs`);
  assert.ok(drop <= 2, `drops ${drop.toFixed(2)} points`);
  assert.ok(r.layers.some((l) => l.outC < l.keptOf), 'nothing was pruned');
  assert.ok(r.fpga!.cycles > 0);
});

test('mixed 4/8-bit (the input layer at 8 bits, the rest at 4): <= 60 % of the int8 size within 1.5 points', () => {
  const r = compressModel({ images: IMAGES, bits: 4, layerBits: { '/conv1/Conv': 8 } });
  const drop = points(r.float.top1 - r.compressed.top1.wasm!);
  console.log(`mixed 4/8: ${(100 * r.compressed.sizeBits / int8.compressed.sizeBits).toFixed(1)} % of the int8 size, ${points(r.compressed.top1.wasm!).toFixed(2)} %`);
  assert.ok(r.compressed.sizeBits <= 0.6 * int8.compressed.sizeBits);
  assert.ok(drop <= 1.5 + 1e-9, `drops ${drop.toFixed(2)} points`);
  assert.equal(r.layers.map((l) => l.weightBits), [8, 4, 4, 4, 4]);
});

test('--macs keeps at most that fraction of the MACs (channels ranked across layers)', () => {
  const r = compressModel({ images: 100, macsTarget: 0.5, roundTo: 2 });
  assert.ok(r.compressed.macs <= 0.5 * r.float.macs, `${r.compressed.macs} of ${r.float.macs}`);
  assert.ok(r.layers.every((l) => l.outC % 2 === 0 || l.outC === l.keptOf));
  assert.throws(() => compressModel({ images: 10, macsTarget: 0.5, ratio: 0.2 }), /either a prune ratio or a MACs target/);
});

test('quantize-prune orders the cascade the other way and still runs end to end', () => {
  const r = compressModel({ images: 100, ratio: 0.3, order: 'quantize-prune' });
  assert.is(r.options.order, 'quantize-prune');
  assert.ok(r.compressed.macs < r.float.macs);
  assert.ok(r.compressed.top1.wasm! > 0.5);
});

function fkb(...args: string[]) {
  return spawnSync(process.execPath, ['bin/fkb.js', 'compress', ...args], { encoding: 'utf8' });
}

test('the command writes the compressed model atomically and rejects bad input with exit 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fkb-compress-'));
  const out = join(dir, 'model.json');
  const onnxOut = join(dir, 'model.onnx');
  const ok = fkb('--images', '50', '--bits', '6', '--out', out, '--onnx', onnxOut, '--json');
  assert.is(ok.status, 0, ok.stderr);
  const written = JSON.parse(readFileSync(out, 'utf8'));
  assert.is(written.format, 'fkb-int-graph/1');
  assert.ok(written.graph.nodes.length > 0);
  assert.is(written.graph.requantMode, 'fp32', '--onnx switches to the fp32 requantization');
  // An ONNX ModelProto starts with field 1 (ir_version, varint): tag byte 0x08.
  assert.is(readFileSync(onnxOut)[0], 0x08);
  assert.equal(readdirSync(dir).sort(), ['model.json', 'model.onnx']);
  const blocked = fkb('--images', '10', '--onnx', join(out, 'x.onnx'));
  assert.is(blocked.status, 2, blocked.stderr);
  assert.match(blocked.stderr, /cannot write .*x\.onnx/);
  for (const [args, re] of [
    [['--bits', '9'], /--bits must be an integer in \[2, 8\], got '9'/],
    [['--ratio', '1'], /--ratio must be a number in \[0, 0.999999\], got '1'/],
    [['--layer-bits', 'nosuch=4', '--images', '10'], /no convolution named 'nosuch'/],
    [['--model', join(dir, 'missing.onnx'), '--images', '10'], /missing.onnx/],
    [['--criterion', 'random'], /argument 'random' is invalid/],
  ] as const) {
    const r = fkb(...args);
    assert.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
});

test.run();
