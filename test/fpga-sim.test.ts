/**
 * The cycle-level simulator of engine (a) (harness/fpga/sim/splitconv-sim.ts) against the two
 * claims it exists to check:
 *
 *  - cycles: the clock loop's count equals model (a)'s computeCycles = issues + (L-1) +
 *    dspLatency + accLatency exactly, for small layers with remainders everywhere (channels not
 *    multiples of L or P_o*W, pixel slots not multiples of P_p, odd rows for the 2-pixel
 *    schemes), every scheme, L in {1, 3, 4, 16}, P_o and P_p in {1, 2, 3}, kernel 1 and 3,
 *    stride 1 and 2, and latency variations. The only documented difference is the weight
 *    loader's stall when it is slower than a tile (weightWordCycles > T_p), asserted by formula;
 *  - outputs: accumulators and requantized outputs equal slicePackedAccumulators (the packed
 *    engine's definition, every multiply through stepSlice) bit for bit, random and extreme
 *    operands, so past the accumulation bound the simulator reproduces the same corruption; and
 *    equal the exact convolution when L <= the bound.
 *
 * Failure messages name layer, architecture, scheme, operands, seed and the first differing
 * index as (oh, ow, oc) with got/want.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type ConvProblem, type ConvShape, describeShape } from '../harness/conv/layer.ts';
import { requantizePacked, slicePackedAccumulators } from '../harness/dsp/packed-conv.ts';
import { fitToScheme } from '../harness/problems/scheme-problem.ts';
import { SCHEMES, SCHEME_NAMES, accumulationBound } from '../harness/dsp/schemes.ts';
import { getDevice } from '../harness/fpga/devices.ts';
import { MODELS, modelEvaluator } from '../harness/fpga/models/index.ts';
import {
  type EngineScheme,
  type SplitConvArch,
  expectedStallCycles,
  layerSpecOf,
  simulateLayerReport,
  simulateSplitConv,
} from '../harness/fpga/sim/splitconv-sim.ts';
import { referenceConv } from '../harness/reference/conv.ts';
import { type Operands, KernelTester, compareOutputs } from '../harness/testers/kernel-tester.ts';
import { InputError } from '../harness/util/errors.ts';

const ENGINE_SCHEMES: EngineScheme[] = ['unpacked', ...SCHEME_NAMES];

function shape(inH: number, inW: number, inC: number, outC: number, k: number, stride: number, pad: number): ConvShape {
  return { inH, inW, inC, outC, kH: k, kW: k, strideH: stride, strideW: stride, padTop: pad, padBottom: pad, padLeft: pad, padRight: pad };
}

/**
 * Small layers with remainders: channels 7, 5, 9, 17 (not multiples of 3, 4 or 16; 17 = one
 * channel past a 16-DSP cascade), outputs 3, 7, 4, 3; output maps 3x5, 3x3, 2x5, 2x4 (15, 9,
 * 10, 8 pixels; 9, 6, 6, 4 two-pixel slots).
 */
const LAYERS: { name: string; shape: ConvShape }[] = [
  { name: 'k3s1-odd-row', shape: shape(3, 5, 7, 3, 3, 1, 1) },
  { name: 'k1s2', shape: shape(5, 5, 5, 7, 1, 2, 0) },
  { name: 'k3s2', shape: shape(4, 9, 9, 4, 3, 2, 1) },
  { name: 'k3s1-17ch', shape: shape(2, 4, 17, 3, 3, 1, 1) },
];

/**
 * Every L, P_o, P_p value, latencies from the smallest to unusual ones, both operand kinds.
 * Rows with the same L and operands run the same problem on different arrays: the outputs must
 * not depend on P_o, P_p or the latencies (and the slice-model oracle runs once for them).
 */
const ARCHS: (Required<Pick<SplitConvArch, 'L' | 'Po' | 'Pp' | 'dspLatency' | 'accLatency'>> & { operands: Operands })[] = [
  { L: 1, Po: 1, Pp: 1, dspLatency: 1, accLatency: 0, operands: 'random' },
  { L: 3, Po: 2, Pp: 3, dspLatency: 4, accLatency: 1, operands: 'extremes' },
  { L: 3, Po: 3, Pp: 1, dspLatency: 3, accLatency: 2, operands: 'extremes' },
  { L: 4, Po: 3, Pp: 2, dspLatency: 2, accLatency: 3, operands: 'random' },
  { L: 4, Po: 1, Pp: 2, dspLatency: 5, accLatency: 0, operands: 'random' },
  { L: 16, Po: 2, Pp: 2, dspLatency: 4, accLatency: 1, operands: 'extremes' },
  { L: 16, Po: 1, Pp: 3, dspLatency: 1, accLatency: 0, operands: 'extremes' },
];

const archLabel = (a: SplitConvArch) =>
  `L=${a.L} Po=${a.Po} Pp=${a.Pp} dspLatency=${a.dspLatency ?? 4} accLatency=${a.accLatency ?? 1}` +
  (a.weightWordCycles ? ` weightWordCycles=${a.weightWordCycles}` : '');

/** The operands 'unpacked' takes are int8x8's. */
const operandScheme = (s: EngineScheme) => (s === 'unpacked' ? 'int8x8' : s);

function problem(sh: ConvShape, scheme: EngineScheme, operands: Operands, seed: number): ConvProblem {
  const ops = operandScheme(scheme);
  const t = new KernelTester().shape(sh).inputZeroPoint(-5).outputZeroPoint(3).mode('gemmlowp').scales(1e-4, 3e-3).operands(operands).seed(seed);
  return fitToScheme(t.problem(SCHEMES[ops].weightRange), ops);
}

function modelCycles(sh: ConvShape, a: SplitConvArch, scheme: EngineScheme) {
  const params = { L: a.L, Po: a.Po, Pp: a.Pp, dspLatency: a.dspLatency ?? 4, accLatency: a.accLatency ?? 1, scheme };
  return modelEvaluator(MODELS.a, params, getDevice('zcu102'), 300).evaluate(layerSpecOf(sh, scheme));
}

/** Fails naming the first differing output as (oh, ow, oc), got/want and how many differ. */
function same(what: string, p: ConvProblem, got: ArrayLike<number>, want: ArrayLike<number>): void {
  compareOutputs(what, describeShape(p.shape), p, got, want);
}

function differing(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

/** slicePackedAccumulators depends on (problem, scheme, L) only: computed once per key. */
const oracleCache = new Map<string, Int32Array>();
function oracle(key: string, p: ConvProblem, scheme: EngineScheme, L: number): Int32Array {
  let acc = oracleCache.get(key);
  if (!acc) {
    acc = scheme === 'unpacked'
      ? (referenceConv({ ...p, requant: { ...p.requant, mode: 'raw' } }) as Int32Array)
      : slicePackedAccumulators(p, { scheme, chain: L, decode: 'cascade' });
    oracleCache.set(key, acc);
  }
  return acc;
}

test('timing convention: 1 issue, L = 1, dspLatency = 1, accLatency = 0 takes 2 cycles', () => {
  const p = problem(shape(1, 1, 1, 1, 1, 1, 0), 'int8x8', 'random', 1);
  const r = simulateSplitConv(p, { L: 1, Po: 1, Pp: 1, dspLatency: 1, accLatency: 0 }, 'int8x8');
  assert.is(r.stats.issues, 1);
  assert.is(r.cycles, 2);
  same('1x1 layer', p, r.accumulators, referenceConv({ ...p, requant: { ...p.requant, mode: 'raw' } }));
});

test('cycles == model (a) computeCycles and outputs == the packed engine, every layer x architecture x scheme', () => {
  let rows = 0;
  let pastBound = 0;
  let corrupted = 0;
  for (const [li, layer] of LAYERS.entries()) {
    for (const arch of ARCHS) {
      for (const [si, scheme] of ENGINE_SCHEMES.entries()) {
        const seed = 100 + 10 * li + si;
        const p = problem(layer.shape, scheme, arch.operands, seed);
        const where = `${layer.name} (${describeShape(layer.shape)}) ${archLabel(arch)} ${scheme} operands=${arch.operands} seed=${seed}`;
        const sim = simulateSplitConv(p, arch, scheme);
        const model = modelCycles(layer.shape, arch, scheme);

        // (i) cycles, exactly; no stall with the model's one weight word per cycle
        assert.is(sim.stats.stallCycles, 0, `${where}: stalls`);
        assert.is(sim.cycles, model.computeCycles, `${where}: simulated vs analytical cycles`);
        assert.is(sim.stats.issues, model.detail['issues'], `${where}: issues`);
        assert.is(sim.stats.products, model.macs, `${where}: products computed vs MACs`);
        assert.ok(Math.abs(sim.stats.utilisation - model.utilization) < 1e-12, `${where}: utilisation ${sim.stats.utilisation} vs ${model.utilization}`);

        // (ii) outputs, bit for bit, against the packed engine's slice-model definition
        const want = oracle(`${layer.name}/${scheme}/${arch.L}/${arch.operands}/${seed}`, p, scheme, arch.L);
        same(`${where}: accumulators vs ${scheme === 'unpacked' ? 'the exact convolution' : 'slicePackedAccumulators'}`, p, sim.accumulators, want);
        const wantOut = scheme === 'unpacked' ? referenceConv(p) : requantizePacked(p, want);
        same(`${where}: requantized outputs vs the packed engine's`, p, sim.outputs, wantOut);

        // ... and against the exact convolution within the bound
        const bound = scheme === 'unpacked' ? Infinity : accumulationBound(SCHEMES[scheme]);
        const perP = Math.min(arch.L, layer.shape.inC);
        const exactAcc = referenceConv({ ...p, requant: { ...p.requant, mode: 'raw' } });
        if (perP <= bound) {
          same(`${where}: accumulators vs the exact convolution (${perP} <= bound ${bound})`, p, sim.accumulators, exactAcc);
          same(`${where}: outputs vs the exact convolution`, p, sim.outputs, referenceConv(p));
        } else {
          pastBound++;
          if (differing(sim.accumulators, exactAcc) > 0) corrupted++;
        }
        rows++;
      }
    }
  }
  assert.is(rows, LAYERS.length * ARCHS.length * ENGINE_SCHEMES.length);
  assert.ok(pastBound >= 16, `only ${pastBound} configurations past the bound`);
  assert.ok(corrupted > 0, `none of ${pastBound} configurations past the bound corrupted a lane: the corruption path was never exercised`);
});

test('past the accumulation bound the simulator reproduces the packed engine\'s corruption (max operands, L = 16)', () => {
  const sh = shape(2, 3, 20, 5, 3, 1, 1);
  for (const scheme of SCHEME_NAMES) {
    const t = new KernelTester().shape(sh).inputZeroPoint(0).operands('max').mode('gemmlowp').seed(9);
    const p = fitToScheme(t.problem(SCHEMES[scheme].weightRange), scheme);
    const arch = { L: 16, Po: 2, Pp: 2 };
    const where = `${describeShape(sh)} ${archLabel(arch)} ${scheme} operands=max seed=9`;
    const sim = simulateSplitConv(p, arch, scheme);
    same(`${where}: accumulators vs slicePackedAccumulators`, p, sim.accumulators, slicePackedAccumulators(p, { scheme, chain: 16, decode: 'cascade' }));
    const wrong = differing(sim.accumulators, referenceConv({ ...p, requant: { ...p.requant, mode: 'raw' } }));
    assert.ok(wrong > 0, `${where}: 16 > bound ${accumulationBound(SCHEMES[scheme])} products at the maximum, yet every accumulator is exact`);
  }
});

test('documented difference: a weight loader slower than a tile stalls (T_o-1) * k_h*k_w*T_c * (weightWordCycles - T_p)', () => {
  const cases: { sh: ConvShape; arch: SplitConvArch; scheme: EngineScheme }[] = [
    // out 2x2: int8x8 4 slots on Pp=2 -> T_p = 2; 9 out ch on Po=2 -> T_o = 3; T_c = 3 (L=3, 7 ch)
    { sh: shape(2, 2, 7, 9, 3, 1, 1), arch: { L: 3, Po: 2, Pp: 2, weightWordCycles: 5 }, scheme: 'int8x8' },
    // wp487u8: 2 slots on Pp=3 -> T_p = 1; T_o = ceil(5/2) = 3
    { sh: shape(2, 2, 5, 5, 1, 1, 0), arch: { L: 4, Po: 2, Pp: 3, dspLatency: 2, accLatency: 0, weightWordCycles: 2 }, scheme: 'wp487u8' },
    // as fast as a tile: no stall (weightWordCycles = T_p)
    { sh: shape(2, 2, 7, 9, 3, 1, 1), arch: { L: 3, Po: 2, Pp: 2, weightWordCycles: 2 }, scheme: 'int8x8' },
  ];
  for (const [i, c] of cases.entries()) {
    const p = problem(c.sh, c.scheme, 'random', 40 + i);
    const where = `${describeShape(c.sh)} ${archLabel(c.arch)} ${c.scheme} seed=${40 + i}`;
    const sim = simulateSplitConv(p, c.arch, c.scheme);
    const model = modelCycles(c.sh, c.arch, c.scheme);
    const { Tc, To, Tp } = sim.stats;
    const taps = c.sh.kH * c.sh.kW;
    const stall = (To - 1) * taps * Tc * Math.max(0, c.arch.weightWordCycles! - Tp);
    assert.is(expectedStallCycles(c.sh, c.arch, c.scheme), stall, `${where}: expectedStallCycles`);
    assert.is(sim.stats.stallCycles, stall, `${where}: stall cycles`);
    assert.is(sim.cycles, model.computeCycles + stall, `${where}: simulated = analytical + stalls`);
    if (i < 2) assert.ok(stall > 0, `${where}: the case must stall`);
    // a stall delays the result, never changes it
    same(`${where}: accumulators`, p, sim.accumulators, oracle(`stall/${i}`, p, c.scheme, c.arch.L));
  }
});

test('idle DSP-cycles: fill, drain and idle lanes; a full tile keeps every DSP busy', () => {
  // 16 channels on L = 16, 4 outputs = Po*W, 2 pixels = Pp: no idle lane, one issue per tap
  const p = problem(shape(1, 2, 16, 4, 1, 1, 0), 'int8x8', 'random', 5);
  const arch = { L: 16, Po: 2, Pp: 2, dspLatency: 4, accLatency: 1 };
  const r = simulateSplitConv(p, arch, 'int8x8');
  const model = modelCycles(p.shape, arch, 'int8x8');
  assert.is(r.stats.issues, 1);
  assert.is(r.cycles, model.computeCycles);
  assert.is(r.stats.dsp, 64);
  // one busy cycle per DSP: everything else is idle
  assert.is(r.stats.idleDspCycles, r.stats.dspCycles - 64);
  assert.is(r.stats.products, 16 * 4 * 2);
});

test('unpacked is the exact convolution on any chain length; the model and simulator agree on DSP48E1', () => {
  const sh = shape(3, 4, 19, 3, 3, 1, 1);
  const p = problem(sh, 'unpacked', 'extremes', 77);
  const sim = simulateSplitConv(p, { L: 16, Po: 2, Pp: 3 }, 'unpacked');
  same(`${describeShape(sh)} unpacked L=16`, p, sim.accumulators, referenceConv({ ...p, requant: { ...p.requant, mode: 'raw' } }));
  same(`${describeShape(sh)} unpacked L=16 outputs`, p, sim.outputs, referenceConv(p));
  const r = simulateLayerReport({ ...sh, name: 'pynq' }, { device: 'pynq-z2', params: { L: 8, Po: 2, Pp: 2 }, seed: 3 });
  assert.is(r.scheme, 'unpacked', 'DSP48E1 runs unpacked');
  assert.ok(r.cycles.agree && r.outputs.exact, JSON.stringify(r));
});

test('simulateLayerReport: JSON-serialisable, cycles and utilisation vs the model, exactness', () => {
  const l = { ...shape(4, 5, 12, 6, 3, 1, 1), name: 'conv-test' };
  const r = simulateLayerReport(l, { params: { L: 4, Po: 2, Pp: 2 }, seed: 11 });
  assert.equal(JSON.parse(JSON.stringify(r)), r);
  assert.is(r.layer, 'conv-test');
  assert.is(r.scheme, 'int8x8', 'auto on DSP48E2 with 8-bit operands');
  assert.is(r.cycles.simulated, r.cycles.analytical);
  assert.ok(r.cycles.agree && r.cycles.difference === 0);
  assert.ok(Math.abs(r.utilisation.simulated - r.utilisation.analytical) < 1e-12);
  assert.ok(r.outputs.exact, 'L = 4 <= int8x8 bound 7');
  assert.equal(r.warnings, []);

  const past = simulateLayerReport(l, { params: { L: 12, Po: 2, Pp: 2 }, operands: 'max', seed: 11 });
  assert.is(past.outputs.exact, false);
  assert.ok(past.outputs.accumulatorsDiffering > 0 && past.outputs.firstDifference !== undefined);
  assert.ok(past.warnings.some((w) => w.includes('accumulation bound of 7')), past.warnings.join('; '));

  const slow = simulateLayerReport(l, { params: { L: 4, Po: 2, Pp: 16, scheme: 'wp487u8' }, weightWordCycles: 3, seed: 2 });
  assert.is(slow.stats.Tp, 1);
  assert.ok(slow.cycles.stallCycles > 0 && slow.cycles.difference === slow.cycles.stallCycles, JSON.stringify(slow.cycles));
  assert.match(slow.cycles.explanation, /weight-loader stalls/);

  const rejects = (fn: () => unknown, re: RegExp) => {
    try {
      fn();
    } catch (e) {
      assert.instance(e, InputError);
      assert.match((e as Error).message, re);
      return;
    }
    assert.unreachable(`accepted; expected ${re}`);
  };
  rejects(() => simulateLayerReport({ ...l, groups: 2 }), /groups=2/);
  rejects(() => simulateLayerReport(shape(64, 64, 64, 64, 3, 1, 1)), /simulation limit/);
  rejects(() => simulateLayerReport(l, { device: 'pynq-z2', params: { scheme: 'int8x8' } }), /DSP48E1/);
  rejects(() => simulateSplitConv(problem(l, 'int8x8', 'extremes', 1), { L: 4, Po: 1, Pp: 1 }, 'int4'), /int4 activation range|outside/);
  rejects(() => simulateSplitConv(problem(l, 'int8x8', 'random', 1), { L: 0, Po: 1, Pp: 1 }, 'int8x8'), /L must be an integer/);
});

test.run();
