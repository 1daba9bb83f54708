/**
 * `fkb cosim`: the engine's own RTL (rtl/splitconv_pe.v) against the cycle simulator
 * simulateSplitConv and the packed-DSP engine (WASM kernel), and the port-contract check of a
 * user's cascade unit (rtl/CONTRACT.md) with a correct design and two mutants.
 *
 * Engine: every scheme on seeded random shapes and on the embedded model's conv layers cropped
 * to 3x3 outputs (channels, kernels and strides as the model's) against simulateSplitConv, and on
 * every full layer of the embedded model against model (a)'s cycle formula (fpga-sim.test.ts
 * proves it equal to simulateSplitConv, which would take ~80 s here) and the packed engine.
 * Icarus runs other latencies, a stalling weight loader, and agrees with Verilator.
 *
 * Builds are cached in .cache/cosim (the first run compiles 5 Verilator models, ~1 min on a busy
 * 2-core machine; later runs reuse them).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type ContractReport, expectedResult, layerIssues, randomIssues } from '../harness/cosim/contract.ts';
import { type CosimReport, type CosimLayerSpec, embeddedLayers, layerProblem, randomLayers, runContractCheck, runCosim } from '../harness/cosim/run.ts';
import { SCHEMES } from '../harness/dsp/schemes.ts';
import { ENGINE_SCHEMES, type EngineScheme } from '../harness/fpga/models/splitconv.ts';
import { dspFunction } from '../harness/fpga/sim/dsp-function.ts';

const root = join(import.meta.dirname, '..');
const FIXTURES = join(root, 'test', 'fixtures', 'rtl');
const ARCH = { L: 4, Po: 2, Pp: 2 };

function fails(r: CosimReport): string {
  return r.layers
    .filter((l) => !l.equal)
    .map((l) => `${l.scheme} ${l.layer} ${l.shape}: vs sim ${l.mismatches.vsSim}, vs packed ${l.mismatches.vsPacked}, cycles ${l.cycles.rtl}/${l.cycles.sim}; ${JSON.stringify(l.firstDifference)}`)
    .join('\n');
}

/** The embedded model's layers with the output map cropped to at most 3x3. */
function croppedEmbedded(): CosimLayerSpec[] {
  return embeddedLayers().map((l) => {
    const s = l.shape;
    const inH = Math.min(s.inH, 3 * s.strideH + s.kH - 1 - s.padTop - s.padBottom);
    const inW = Math.min(s.inW, 3 * s.strideW + s.kW - 1 - s.padLeft - s.padRight);
    return { name: `${l.name} cropped`, shape: { ...s, inH: Math.max(1, inH), inW: Math.max(1, inW) } };
  });
}

const counts = { layerRuns: 0, outputs: 0 };

test('every scheme: random shapes and the cropped embedded layers, RTL == simulateSplitConv == packed engine, cycles equal (Verilator)', () => {
  const layers = [...randomLayers(4, 7), ...croppedEmbedded()];
  const r = runCosim({ layers, schemes: [...ENGINE_SCHEMES], sim: 'verilator', arch: ARCH, seed: 3 });
  assert.ok(r.equal, fails(r));
  assert.is(r.layers.length, layers.length * ENGINE_SCHEMES.length);
  for (const l of r.layers) {
    assert.is(l.cycles.from, 'simulateSplitConv');
    assert.is(l.mismatches.vsSim, 0);
    assert.is(l.cycles.rtl, l.cycles.sim, `${l.scheme} ${l.layer}`);
  }
  counts.layerRuns += r.layers.length;
  counts.outputs += r.layers.reduce((s, l) => s + l.outputs, 0);
});

test('every scheme on every conv layer of the embedded model: RTL == packed engine, cycles == model (a) (Verilator)', () => {
  const layers = embeddedLayers();
  assert.is(layers.length, 5, 'conv1-4 and the classifier');
  const r = runCosim({ layers, schemes: [...ENGINE_SCHEMES], sim: 'verilator', arch: ARCH, seed: 1, against: 'model' });
  assert.ok(r.equal, fails(r));
  for (const l of r.layers) assert.is(l.cycles.rtl, l.cycles.sim, `${l.scheme} ${l.layer}`);
  counts.layerRuns += r.layers.length;
  counts.outputs += r.layers.reduce((s, l) => s + l.outputs, 0);
});

test('extreme operands past the accumulation bound: the RTL reproduces the packed engine\'s lane spill (L = 16)', () => {
  const layers = [{ name: 'past-bound', shape: { inH: 2, inW: 3, inC: 20, outC: 5, kH: 3, kW: 3, strideH: 1, strideW: 1, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 } }];
  const r = runCosim({ layers, schemes: ['int8x8', 'int4'], sim: 'icarus', arch: { L: 16, Po: 1, Pp: 2 }, operands: 'extremes', seed: 9 });
  assert.ok(r.equal, fails(r));
});

test('Icarus agrees with Verilator; other latencies and a stalling weight loader', () => {
  const layers = randomLayers(2, 11);
  const v = runCosim({ layers, schemes: ['wp487u8'], sim: 'verilator', arch: ARCH, seed: 5 });
  const i = runCosim({ layers, schemes: ['wp487u8'], sim: 'icarus', arch: ARCH, seed: 5 });
  assert.ok(v.equal && i.equal, fails(v) + fails(i));
  assert.equal(i.layers.map((l) => l.cycles.rtl), v.layers.map((l) => l.cycles.rtl));

  // 9 outputs on Po=2 x W=2 -> 3 output tiles; 4 pixel slots on Pp=2 -> T_p = 2 < 4 cycles per word: stalls
  const stall = [{ name: 'stall', shape: { inH: 2, inW: 2, inC: 7, outC: 9, kH: 3, kW: 3, strideH: 1, strideW: 1, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 } }];
  const s = runCosim({ layers: stall, schemes: ['int8x8', 'unpacked'], sim: 'icarus', arch: { L: 3, Po: 2, Pp: 2, dspLatency: 2, accLatency: 0, weightWordCycles: 4 }, seed: 2 });
  assert.ok(s.equal, fails(s));
  for (const l of s.layers) assert.ok(l.stallCycles.rtl > 0 && l.stallCycles.rtl === l.stallCycles.sim, JSON.stringify(l.stallCycles));
  const deep = runCosim({ layers: randomLayers(2, 12), schemes: ['int4', 'int8xu8'], sim: 'icarus', arch: { L: 3, Po: 1, Pp: 3, dspLatency: 6, accLatency: 3 }, seed: 4 });
  assert.ok(deep.equal, fails(deep));
  const one = runCosim({ layers: randomLayers(1, 13), schemes: ['int8x8'], sim: 'icarus', arch: { L: 1, Po: 1, Pp: 1, dspLatency: 1, accLatency: 0 }, seed: 4 });
  assert.ok(one.equal, fails(one));
});

// ---- the user's RTL ------------------------------------------------------------------------

/** The first issue (in stream order) a mutant gets wrong, and the lane, from the slice model alone. */
function expectedFirst(scheme: EngineScheme, L: number, vectors: number, seed: number, mutant: 'no_borrow' | 'acc47') {
  const fn = dspFunction(scheme);
  const lanes = scheme === 'unpacked' ? [{ offset: 0 }] : SCHEMES[scheme].lanes;
  const issues = randomIssues(scheme, L, vectors, seed);
  for (let i = 0; i < issues.length; i++) {
    const p = BigInt.asUintN(48, expectedResult(scheme, issues[i]!).p);
    if (mutant === 'no_borrow' && ((p >> BigInt(lanes[1]!.offset - 1)) & 1n) === 1n) return { issue: i, lane: 1 };
    if (mutant === 'acc47' && (p >> 47n) === 1n) return { issue: i, lane: fn.lanes.length - 1 };
  }
  return undefined;
}

function contract(file: string, scheme: EngineScheme, seed: number, sim: 'icarus' | 'verilator' = 'icarus', model = false): ContractReport {
  return runContractCheck({ files: [join(FIXTURES, file)], top: 'user_cascade', scheme, L: 4, sim, seed, vectors: 400, model, modelIssues: 200 });
}

test('user RTL: the correct design passes on random, boundary and the embedded model\'s operands (every scheme, Verilator and Icarus)', () => {
  for (const scheme of ENGINE_SCHEMES) {
    const r = contract('user_cascade.v', scheme, 1, 'icarus', true);
    assert.ok(r.equal, `${scheme}: ${JSON.stringify(r.firstMismatch)}`);
    assert.is(r.latency, 2);
    assert.ok(r.modelIssues >= 5 * 100, `${r.modelIssues} model issues`);
  }
  const v = contract('user_cascade.v', 'int8x8', 2, 'verilator', true);
  assert.ok(v.equal && v.latency === 2, JSON.stringify(v.firstMismatch));
});

test('user RTL: both mutants are caught at the first wrong issue, its cycle and lane, every seed', () => {
  let caught = 0;
  for (const seed of [1, 2, 3, 4]) {
    for (const scheme of ['int8x8', 'wp487u8', 'int4'] as const) {
      for (const mutant of ['no_borrow', 'acc47'] as const) {
        const r = contract(`mutant_${mutant}.v`, scheme, seed);
        const want = expectedFirst(scheme, 4, 400, seed, mutant);
        const where = `${mutant} ${scheme} seed ${seed}`;
        assert.ok(want, `${where}: the stimulus never exercises the fault`);
        assert.ok(!r.equal && r.firstMismatch, `${where}: not caught`);
        const m = r.firstMismatch!;
        assert.is(m.kind, 'value', where);
        assert.is(m.issue, want!.issue, `${where}: first issue`);
        assert.is(m.lane, want!.lane, `${where}: first lane`);
        assert.is(m.cycle, m.inCycle + 2, `${where}: output cycle = input cycle + latency 2`);
        if (mutant === 'acc47') assert.is.not(m.pGot, m.pWant, `${where}: P differs`);
        else assert.is(m.pGot, m.pWant, `${where}: P is right, the decode is not`);
        caught++;
      }
    }
  }
  assert.is(caught, 24);
  // unpacked has no borrow; the 47-bit accumulator shows on the first negative P
  const u = contract('mutant_acc47.v', 'unpacked', 1);
  assert.is(u.firstMismatch?.issue, expectedFirst('unpacked', 4, 400, 1, 'acc47')!.issue);
});

test('user RTL: layerIssues follows the engine\'s operand rule (padding reads the zero point\'s code)', () => {
  const [l] = embeddedLayers();
  const p = layerProblem(l!.shape, 'int8xu8', 'random', 'gemmlowp', 1);
  const issues = layerIssues(l!.name, p, 'int8xu8', 4, 50);
  assert.is(issues.length, 50);
  // slot 0, tap 0 (kh = kw = 0) reads padding: zero point + 128, channel 0 only (inC = 1)
  assert.equal(issues[0]!.a.map((a) => a[0]), [p.inputZeroPoint + 128, 0, 0, 0]);
});

// ---- the command line ------------------------------------------------------------------------

function fkb(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(process.execPath, [join(root, 'bin', 'fkb.js'), 'cosim', ...args], { cwd: root, encoding: 'utf8', env: { ...env, FORCE_COLOR: '0' } });
}

test('fkb cosim: exit 0 equal, 1 mismatch with the first one named, 2 bad input or a missing simulator', () => {
  const ok = fkb(['--random', '2', '--seed', '4', '--scheme', 'int8x8', '--sim', 'icarus', '--set', 'L=3,Po=1,Pp=2', '--json']);
  assert.is(ok.status, 0, ok.stderr + ok.stdout);
  const report = JSON.parse(ok.stdout) as CosimReport;
  assert.ok(report.equal && report.layers.length === 2 && report.schemes[0]!.mismatches === 0 && report.schemes[0]!.cycleMismatches === 0);

  const bad = fkb(['--rtl', join(FIXTURES, 'mutant_no_borrow.v'), '--top', 'user_cascade', '--scheme', 'int4', '--sim', 'icarus', '--vectors', '200', '--model-issues', '20']);
  assert.is(bad.status, 1, bad.stderr + bad.stdout);
  assert.match(bad.stdout, /first mismatch \(value\): cycle \d+, issue \d+ \(presented in cycle \d+, [^)]*\), lane 1 got -?\d+ want -?\d+/);
  assert.match(bad.stderr, /differ from the slice model/);


  for (const [args, re] of [
    [['--random', '1', '--scheme', 'int9'], /--scheme must be one of/],
    [['--random', '1', '--set', 'Q=3'], /--set Q: unknown/],
    [['--rtl', 'no/such/file.v', '--top', 'x', '--sim', 'icarus'], /no such file/],
    [['--rtl', join(FIXTURES, 'user_cascade.v'), '--top', 'nope', '--sim', 'icarus'], /no module of that name/],
  ] as [string[], RegExp][]) {
    const r = fkb(args);
    assert.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
  }
  const noTools = fkb(['--random', '1', '--sim', 'verilator'], { ...process.env, PATH: '/nonexistent' });
  assert.is(noTools.status, 2, noTools.stderr);
  assert.match(noTools.stderr, /verilator \(verilator\) is not installed or not on PATH: install it with 'apt-get install verilator'/);
});

test.after(() => console.log(`cosim: ${counts.layerRuns} engine layer runs, ${counts.outputs} outputs compared`));
test.run();
