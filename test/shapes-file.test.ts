/**
 * Shapes files (bench/shapes/*.json) are validated in full when read: every malformed one is an
 * InputError naming file, line:column and field; `fkb verify --shapes <file>` reads the file
 * (and verifies all its layers) with or without --all-layers. Also: a damaged golden CSV is an
 * InputError naming file, line and column, never a NaN operand.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_SHAPES, loadBenchLayers, readShapesFile, referenceLayer } from '../harness/bench/shapes.ts';
import { checkDatapath, GOLDEN_DIR } from '../harness/exactness/datapath.ts';
import { throwsInput } from './helpers.ts';

const root = join(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'fkb-shapes-'));
const file = (name: string, data: unknown) => {
  writeFileSync(join(work, name), typeof data === 'string' ? data : JSON.stringify(data, null, 2));
  return join(work, name);
};
const REF = { name: 'small 8x8x8->8 k3', in_h: 8, in_w: 8, in_c: 8, out_c: 8, k_h: 3, k_w: 3, stride_h: 1, stride_w: 1, pad_top: 1, pad_bottom: 1, pad_left: 1, pad_right: 1 };

const onlyRef = file('only-ref.json', { reference: REF });

test('the default shapes file: reference first, identical shapes merged under one name', () => {
  const layers = loadBenchLayers();
  // ResNet-18's 56x56x64 3x3 layers have the reference shape: listed under it.
  assert.is(layers[0]!.name, 'reference 56x56x64->64 k3 s1 p1, resnet18/layer1.0.conv1, resnet18/layer1.0.conv2, resnet18/layer1.1.conv1, resnet18/layer1.1.conv2');
  assert.ok(layers[0]!.reference);
  assert.equal(referenceLayer(), { ...layers[0]!, name: 'reference 56x56x64->64 k3 s1 p1' });
  assert.ok(layers.length > 10);
  assert.equal(readShapesFile(DEFAULT_SHAPES).sets.map((s) => [s.network.name, s.select]), [['vgg16', 'conv'], ['resnet18', 'k3'], ['mobilenet-v1', 'pointwise']]);
  // A file with only its reference is one layer, with the file's own reference.
  assert.equal(loadBenchLayers(onlyRef).map((l) => l.name), ['small 8x8x8->8 k3']);
});

/** [what, contents, text the message must start with, more it must mention] */
const MALFORMED: [string, unknown, string, string][] = [
  ['top-level null', 'null', 'null.json:1:1: (top level):', 'must be an object'],
  ['an array', '[]', 'array.json:1:1: (top level):', 'must be an object'],
  ['no reference', { sets: [] }, 'no-ref.json:1:1: reference:', 'missing'],
  ['sets a number', { reference: REF, sets: 5 }, 'sets-5.json:17:11: sets:', 'must be an array'],
  ['a set a string', { reference: REF, sets: ['vgg16'] }, 'set-string.json:18:5: sets[0]:', 'must be an object'],
  ['unknown selector', { reference: REF, sets: [{ network: 'vgg16', select: 'convs' }] }, 'bad-select.json:20:17: sets[0].select:', 'one of conv, k3, pointwise, all, got "convs"'],
  ['missing selector', { reference: REF, sets: [{ network: 'vgg16' }] }, 'no-select.json:18:5: sets[0].select:', 'got nothing'],
  ['unknown network', { reference: REF, sets: [{ network: 'lenet', select: 'conv' }] }, 'bad-net.json:19:18: sets[0].network:', "'lenet' is neither a built-in network"],
  ['a misspelt key', { reference: REF, set: [] }, 'typo.json:17:10: set:', 'unknown key'],
  ['a misspelt set key', { reference: REF, sets: [{ network: 'vgg16', selct: 'conv' }] }, 'set-typo.json:20:16: sets[0].selct:', 'unknown key'],
  ['reference field missing', { reference: { ...REF, k_w: undefined } }, 'no-kw.json:2:16: reference.k_w:', 'got nothing'],
  ['reference field a string', { reference: { ...REF, in_h: '8' } }, 'string-h.json:4:13: reference.in_h:', 'got "8"'],
  ['zero stride', { reference: { ...REF, stride_w: 0 } }, 'stride.json:11:17: reference.stride_w:', 'got 0'],
  ['kernel larger than the input', { reference: { ...REF, k_h: 30 } }, 'kernel.json:2:16: reference:', 'kH=30 is larger than the padded input height 10'],
  ['reference without a name', { reference: { ...REF, name: '' } }, 'no-name.json:3:13: reference.name:', 'non-empty string'],
  ['a repeated key', '{"reference": {}, "reference": {}}', 'dup.json:1:19: not valid JSON: duplicate key "reference"', ''],
  ['not JSON', '{"reference": ', 'not-json.json:1:15: not valid JSON:', 'unexpected end of input'],
];

for (const [what, contents, start, more] of MALFORMED) {
  test(`shapes file: ${what} is an InputError naming file, line:column and field`, () => {
    const name = start.slice(0, start.indexOf(':'));
    const path = file(name, contents);
    throwsInput(() => loadBenchLayers(path), `${work}/${start}`, more);
    throwsInput(() => referenceLayer(path), `${work}/${start}`, more);
  });
}

function fkb(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bin', 'fkb.js'), ...args], { cwd: work, env: { ...process.env, FORCE_COLOR: '0' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

test('cli: verify --shapes reads and validates the file with or without --all-layers; bench too', async () => {
  const bad = join(work, 'sets-5.json');
  const runs = await Promise.all([
    fkb(['verify', '--shapes', bad]),
    fkb(['verify', '--all-layers', '--shapes', bad]),
    fkb(['bench', '--shapes', bad]),
  ]);
  for (const r of runs) {
    assert.is(r.code, 2, r.err);
    assert.match(r.err, /sets-5\.json:17:11: sets: must be an array/);
    assert.ok(!/\n\s+at /.test(r.err), r.err);
  }
  // --shapes alone verifies the layers of that file (here its one small reference layer).
  const ok = await fkb(['verify', '--no-ort', '--json', '--shapes', onlyRef]);
  assert.is(ok.code, 0, ok.err);
  const results = JSON.parse(ok.out) as { layer: string; ok: boolean }[];
  assert.equal([...new Set(results.map((r) => r.layer))], ['small 8x8x8->8 k3']);
  assert.ok(results.every((r) => r.ok));
});

test('golden CSV: a damaged operand or row is an InputError naming file, line and column', () => {
  // A golden folder of one file: checkDatapath reads int4_wp521_single.csv first.
  const name = 'int4_wp521_single.csv';
  const path = join(work, name);
  const lines = readFileSync(join(GOLDEN_DIR, name), 'utf8').split('\n');
  const f = lines[2]!.split(',');
  f[1] = 'x';
  writeFileSync(path, [...lines.slice(0, 2), f.join(','), ...lines.slice(3)].join('\n'));
  throwsInput(() => checkDatapath({ goldenDir: work, random: 10 }), `${path}: line 3, column 2 (w1): expected an integer in [-8, 7], found "x"`);
  writeFileSync(path, [...lines.slice(0, 2), f.slice(0, 5).join(','), ...lines.slice(3)].join('\n'));
  throwsInput(() => checkDatapath({ goldenDir: work, random: 10 }), `${path}: line 3: expected 21 fields as in the header, found 5`);
});

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();
