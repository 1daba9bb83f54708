/**
 * `fkb train` end to end on a short run (256 training images, one epoch), and the check of a
 * trained model proven able to fail: a trainer code changed by one is reported as unexplained
 * with its node and index; a changed code next to a rounding boundary would count as a tie.
 * Needs Debian's python3-torch, python3-onnx and dataset-fashion-mnist (.ci/run installs them).
 * Run: node --import tsx test/train-check.test.ts
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { importQuantizedOnnx } from '../harness/qonnx/onnx-quant.ts';
import { compareWithTrainer, readCodesFile } from '../harness/pipelines/trained-model.ts';
import { throwsInput } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'fkb-train-'));
const FKB = join(import.meta.dirname, '..', 'bin', 'fkb.js');

test('fkb train: a short W4A4 run, checked: equal to the trainer and onnxruntime-web, 0 packed-DSP differences', () => {
  const r = spawnSync(process.execPath, [FKB, 'train', '--wbits', '4', '--abits', '4', '--keep-8bit', 'last', '--train-images', '256', '--epochs', '1',
    '--eval-images', '50', '--dump-codes', '10', '--check-images', '100', '--ort-images', '10', '--dsp-images', '3', '--out-dir', dir, '--name', 'smoke', '--json'],
  { encoding: 'utf8', timeout: 300_000, maxBuffer: 64 << 20 });
  assert.is(r.status, 0, `fkb train failed (apt-get install -y python3-torch python3-onnx dataset-fashion-mnist): ${r.stderr.slice(-2000)}`);
  const check = JSON.parse(readFileSync(join(dir, 'smoke.check.json'), 'utf8'));
  assert.equal(JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))), check, 'the printed JSON is the file written');
  assert.is(check.vsTrainer.images, 10);
  assert.is(check.vsTrainer.unexplained, 0, check.vsTrainer.first);
  assert.ok(check.vsTrainer.codes > 250_000);
  assert.is(check.vsOrt.differing, 0);
  assert.equal(check.layers.map((l: { scheme: string }) => l.scheme), ['int4', 'int4', 'int4', 'int4', 'int8x8']);
  assert.ok(check.layers.every((l: { dspDiffering: number; dspOutputs: number }) => l.dspDiffering === 0 && l.dspOutputs > 0));
  assert.is(check.top1.images, 100);
});

test('the check fails on a changed trainer code and names node, index, got and want', () => {
  const codesPath = join(dir, 'smoke.codes.bin');
  const data = readFileSync(codesPath);
  const codes = readCodesFile(codesPath);
  const q = importQuantizedOnnx(join(dir, 'smoke.onnx'));
  const g = q.intGraph;
  assert.is(compareWithTrainer(g, codes, q.tensorOf).unexplained, 0);
  // Image 3, a conv output code moved by one (the dump is NCHW: the 14x14 map puts index 17 at y 1, x 3, c 0).
  const conv = codes.tensors.find((t) => q.tensorOf(t.name) === g.nodes.find((n) => n.op === 'conv' && n.name.startsWith('/conv2'))!.output)!;
  const view = conv.codes(3);
  const k = 17;
  view[k] = view[k]! === conv.zeroPoint ? view[k]! + 1 : view[k]! - 1;
  const bad = compareWithTrainer(g, codes, q.tensorOf);
  assert.is(bad.differing, 1);
  assert.is(bad.unexplained, 1);
  assert.match(bad.first!, /^image 3, node '\/conv2[^']*', tensor '[^']+', NHWC index \d+ \(y 1, x 3, c 0\): got -?\d+, trainer -?\d+ \(/, bad.first);
  // A truncated or foreign file is an InputError naming it.
  const cut = join(dir, 'cut.codes.bin');
  writeFileSync(cut, data.subarray(0, 200));
  throwsInput(() => readCodesFile(cut), cut);
  writeFileSync(cut, 'not a dump');
  throwsInput(() => readCodesFile(cut), 'FKBCODE1');
});

test('fkb train: bad options exit 2 naming the option', () => {
  for (const [args, want] of [[['--wbits', '9'], '--wbits'], [['--keep-8bit', 'middle'], '--keep-8bit'], [['--name', 'a/b'], '--name'], [['--out-dir', '/proc/none'], '/proc/none']] as const) {
    const r = spawnSync(process.execPath, [FKB, 'train', ...args, '--no-check'], { encoding: 'utf8', timeout: 60_000 });
    assert.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, want);
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
