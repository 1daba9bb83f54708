/**
 * Contracts around the kernels: the codes that cross the WASM boundary (params fields, modes,
 * packed-DSP codes) are the same on both sides, generated files are up to date with the
 * registry, names follow the naming scheme, and bad input gets an InputError naming the
 * parameter and its allowed range (never a WASM trap).
 */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ConvProblem, ConvShape } from '../harness/conv/layer.ts';
import { SCHEMES } from '../harness/dsp/schemes.ts';
import { DSP_LAYOUT_CODES, DSP_SCHEME_CODES, FIELD_COUNT, PARAM_FIELDS, SCHEME_LAYOUT, SCHEME_NAMES, asCodes } from '../harness/registry/codes.ts';
import { SPLITCONV_VARIANTS, findVariant } from '../harness/registry/splitconv.ts';
import { DSPCONV_VARIANTS } from '../harness/registry/dspconv.ts';
import { KernelTester } from '../harness/testers/kernel-tester.ts';
import { referenceConv } from '../harness/reference/conv.ts';
import { InputError } from '../harness/util/errors.ts';
import { KernelRunner, modulesFor } from '../harness/wasm/kernel-runner.ts';
import { loadModules } from '../harness/wasm/modules.ts';
import { staleFiles } from '../scripts/gen-kernels.ts';

test('codes: every module exports the codes of harness/registry/codes.ts, by name, with the same values', () => {
  const codes = asCodes();
  const checked: string[] = [];
  for (const [name, status] of loadModules()) {
    if (!status.kernel) continue;
    const ex = status.kernel.instantiate();
    for (const c of codes) {
      const g = ex[c.name];
      assert.instance(g, WebAssembly.Global, `the ${name} module exports no ${c.name} (npm run gen, npm run build)`);
      assert.is((g as WebAssembly.Global).value, c.value, `${name} module: ${c.name}`);
    }
    checked.push(name);
  }
  // scalar (the exhaustive datapath), simd (the packed kernels) and debug run on every engine here.
  for (const m of ['scalar', 'simd', 'debug']) assert.ok(checked.includes(m), `the ${m} module was not checked`);
});

test('codes: the params fields are 0..FIELD_COUNT-1; every scheme has a code and a port layout', () => {
  assert.equal(Object.values(PARAM_FIELDS).sort((a, b) => a - b), Array.from({ length: FIELD_COUNT }, (_, i) => i));
  for (const s of Object.keys(SCHEMES)) {
    assert.type(DSP_SCHEME_CODES[s as keyof typeof DSP_SCHEME_CODES], 'number', s);
    assert.type(DSP_LAYOUT_CODES[SCHEME_LAYOUT[s as keyof typeof SCHEME_LAYOUT]], 'number', s);
  }
  const names = asCodes().map((c) => c.name);
  assert.is(new Set(names).size, names.length, 'AssemblyScript names are unique');
});

test('generated kernels are up to date with the registry (npm run gen)', () => {
  assert.equal(staleFiles(), []);
});

test('variant names carry op, tile, ISA and strategy; names are unique', () => {
  const names = new Set<string>();
  for (const v of SPLITCONV_VARIANTS) {
    assert.ok(!names.has(v.name), `duplicate ${v.name}`);
    names.add(v.name);
    const m = /^qs8_splitconv_minmax_(\d+)x(\d+)c(\d+)__(scalar|wasmsimd|wasmrelaxedsimd)_([a-z0-9]+)(_u2)?$/.exec(v.name);
    assert.ok(m, `${v.name} does not follow qs8_splitconv_minmax_<MR>x<NR>c<CB>__<isa>_<strategy>[_u2]`);
    assert.equal([Number(m[1]), Number(m[2]), Number(m[3]), m[5], m[6] ? 2 : 1], [v.mr, v.nr, v.cb, v.strategy, v.unroll], v.name);
    if (v.module !== 'scalar') assert.is(v.nr % 4, 0, `${v.name}: NR must be a multiple of 4`);
  }
});

test('packed-DSP names carry tile, ISA, strategy and the one scheme a kernel is limited to; names are unique', () => {
  const names = new Set<string>();
  for (const v of DSPCONV_VARIANTS) {
    assert.ok(!names.has(v.name), `duplicate ${v.name}`);
    names.add(v.name);
    const m = /^qs8_dsppack_minmax_(\d+)x(\d+)c(\d+)__wasmsimd_dot16x8(?:_([a-z0-9]+))?$/.exec(v.name);
    assert.ok(m, `${v.name} does not follow qs8_dsppack_minmax_<MR>x<NR>c<CB>__wasmsimd_dot16x8[_<scheme>]`);
    assert.equal([Number(m[1]), Number(m[2]), Number(m[3])], [v.mr, v.nr, v.cb], v.name);
    assert.equal(m[4] ? [m[4]] : [...SCHEME_NAMES], [...v.schemes], `${v.name}: the name's scheme suffix and the schemes it computes`);
    assert.is(v.nr % 8, 0, `${v.name}: NR must be a multiple of 8`);
    if (v.laneDecode === 'full') assert.is(v.mr % 2, 0, `${v.name}: the full lane decode pairs pixels, MR must be even`);
  }
});

test('the README lists every registered variant, and no other', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const listed = new Set([...readme.matchAll(/^\| `(qs8_\w+)` \|/gm)].map((m) => m[1]));
  const registered = [...SPLITCONV_VARIANTS, ...DSPCONV_VARIANTS].map((v) => v.name);
  assert.equal([...listed].sort(), registered.sort());
});

const scalar = findVariant('qs8_splitconv_minmax_1x1c1__scalar_loops')!;
const scalarKernel = modulesFor(scalar).find((m) => m.name === 'scalar')!;
const base = (): ConvProblem => new KernelTester().image(4).channels(3, 2).kernel(3).pad(1).mode('gemmlowp').problem();

function rejects(what: string, mutate: (p: ConvProblem) => void, message: RegExp): void {
  const p = base();
  mutate(p);
  assert.throws(() => new KernelRunner(scalar, scalarKernel, p), (e: unknown) => {
    assert.instance(e, InputError, `${what}: want an InputError, got ${String(e)}`);
    assert.match((e as Error).message, message, what);
    return true;
  });
}

const withShape = (s: Partial<ConvShape>) => (p: ConvProblem) => Object.assign(p.shape, s);

test('bad shapes are rejected naming the parameter and range', () => {
  rejects('zero height', withShape({ inH: 0 }), /inH must be an integer in \[1, 65536\], got 0/);
  rejects('negative channels', withShape({ inC: -3 }), /inC must be an integer in \[1, 65536\], got -3/);
  rejects('zero output channels', withShape({ outC: 0 }), /outC must be an integer/);
  rejects('fractional kernel', withShape({ kW: 2.5 }), /kW must be an integer in \[1, 65536\], got 2.5/);
  rejects('stride 0', withShape({ strideH: 0 }), /strideH must be an integer in \[1, 65536\], got 0/);
  rejects('negative padding', withShape({ padLeft: -1 }), /padLeft must be an integer in \[0, 65536\], got -1/);
  rejects('kernel larger than the padded input', withShape({ kH: 7 }), /kH=7 is larger than the padded input height 6/);
  rejects('accumulator overflow', withShape({ inC: 4000, kH: 3, kW: 3 }), /inC\*kH\*kW=36000 exceeds 32896/);
});

test('bad operands and quantization are rejected', () => {
  rejects('input length', (p) => (p.input = new Int8Array(5)), /input must have 48 elements, got 5/);
  rejects('input type', (p) => (p.input = new Int16Array(48) as unknown as Int8Array), /input must be an Int8Array/);
  rejects('zero point', (p) => (p.inputZeroPoint = 128), /inputZeroPoint must be an integer in \[-128, 127\], got 128/);
  rejects('output zero point', (p) => (p.requant.outputZeroPoint = -129), /outputZeroPoint must be an integer in \[-128, 127\]/);
  rejects('unknown mode', (p) => (p.requant.mode = 'tflite' as never), /mode must be one of raw, gemmlowp, single, fp32, got 'tflite'/);
  rejects('clamp order', (p) => Object.assign(p.requant, { outputMin: 10, outputMax: 5 }), /outputMin=10 must not exceed outputMax=5/);
  rejects('negative scale', (p) => (p.requant.scale = [0.1, -1]), /scale\[1\]=-1 must be a finite number in \[0, 2\^30\)/);
  rejects('scale count', (p) => (p.requant.scale = [0.1]), /scale must have one entry per output channel \(2\), got 1/);
  rejects('bias type', (p) => (p.bias = new Float32Array(2) as unknown as Int32Array), /bias must be an Int32Array/);
  rejects('bias range', (p) => (p.bias[1] = 2 ** 31 - 1), /bias\[1\]=2147483647 is outside \[-2\^30, 2\^30\]/);
});

test('weights outside a variant domain are rejected by that variant', () => {
  const w7 = SPLITCONV_VARIANTS.find((v) => v.weightRange[0] === -64)!;
  const p = new KernelTester().image(4).channels(3, 2).kernel(3).pad(1).problem(w7.weightRange);
  p.weights[5] = -65;
  // Validation runs before the module is touched, so any module object serves here.
  assert.throws(() => new KernelRunner(w7, scalarKernel, p), /weights\[5\]=-65 is outside the allowed range \[-64, 63\]/);
});

test('a layer too large for WASM memory is rejected before anything is allocated', () => {
  const p = base();
  p.shape = { ...p.shape, inH: 20000, inW: 20000, inC: 16, outC: 16 };
  assert.throws(() => new KernelRunner(scalar, scalarKernel, p), /layer too large for WASM memory: .* wasm32 addresses at most 4 GiB/);
});

test('runners of the same module have memories of their own', () => {
  const p1 = base();
  const p2 = new KernelTester().image(4).channels(3, 2).kernel(3).pad(1).mode('gemmlowp').seed(99).problem();
  const a = new KernelRunner(scalar, scalarKernel, p1);
  const b = new KernelRunner(scalar, scalarKernel, p2);
  b.run();
  a.run();
  assert.equal(Array.from(a.output()), Array.from(referenceConv(p1)));
  assert.equal(Array.from(b.output()), Array.from(referenceConv(p2)));
});

test.run();
