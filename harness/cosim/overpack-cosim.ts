/**
 * Co-simulation of the overpacking RTL (rtl/overpack_unit.v: pack -> the engine's DSP48E2 slice
 * -> decode with the correction) against harness/dsp/overpack.ts: every lane of every multiply,
 * in every decode mode, must equal decodeOverpacked(overpackP(...)), and the per-lane error
 * statistics the RTL produces must equal overpackStats' for the same operand tuples.
 *
 * The testbench (rtl/tb/overpack_tb.v) runs one unit per decode mode on the same stream, so one
 * build per layout and one pass cover all six modes. Operands: the whole space (--exhaustive),
 * or `vectors` seeded random tuples drawn exactly as overpackStats samples them (so its sampled
 * statistics are over the same tuples) followed by every boundary combination (boundaryTuples).
 * A quarter of the multiplies are followed by 1-3 idle cycles with garbage operands, which the
 * unit must ignore. Streams longer than the testbench memory run as several simulations.
 *
 * Order of the comparison: stream order, then DECODE_MODES order, then lanes bottom up; the
 * first difference is reported with its vector index, cycle, mode, lane, operands, got/want.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  DECODE_MODES, type DecodeMode, type OverpackLayout, decodeOverpacked, exactProducts, getOverpack, mrCorrections, overpackLaneName, overpackP,
} from '../dsp/overpack.ts';
import { type LaneStats, boundaryTuples, overpackStats } from '../exactness/overpack-stats.ts';
import { InputError, requireInt } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import { type Build, RTL_DIR, type SimulatorName, buildSimulation } from './simulators.ts';

/** The unit's RTL in dependency order (the decode may be replaced: `decodeFile`). */
export const OVERPACK_SOURCES = ['fkb_delay.v', 'dsp48e2_slice.v', 'dsp_stage.v', 'overpack_pack.v', 'overpack_corr.v', 'overpack_decode.v', 'overpack_correction.v', 'overpack_unit.v'];
/** The slice's pipeline (dsp_stage: AREG DREG ADREG BREG=2 INMODEREG MREG PREG CREG OPMODEREG). */
export const OVERPACK_DSP_LATENCY = 4;
/** Operands in cycle t, lanes out in cycle t + this (the decode's output register adds one). */
export const OVERPACK_LATENCY = OVERPACK_DSP_LATENCY + 1;
/** Stimulus lines one simulation holds. */
const DEPTH = 65536;
/** Above this many tuples a space is not enumerated unless asked (--exhaustive). */
export const OVERPACK_EXHAUSTIVE_DEFAULT = 65536;

export interface OverpackCosimOptions {
  layout: string;
  sim: SimulatorName;
  /** Modes compared and reported (all six are simulated). @default every mode the layout has */
  modes?: readonly DecodeMode[];
  /** Enumerate the whole operand space. @default true when it has <= OVERPACK_EXHAUSTIVE_DEFAULT tuples and `vectors` is not given */
  exhaustive?: boolean;
  /** Seeded random tuples (then the boundary combinations). @default 2000 */
  vectors?: number;
  /** @default 1 */
  seed?: number;
  /** Boundary combinations after the random tuples, at most. @default 1024 */
  boundary?: number;
  /** A replacement for rtl/overpack_decode.v (a mutant in the tests). */
  decodeFile?: string;
  cacheDir?: string;
  onProgress?: (done: number, total: number) => void;
}

export interface OverpackMismatch {
  kind: 'value' | 'p' | 'latency' | 'valid' | 'missing';
  /** Index in the operand stream, the cycle it was presented and the cycle of its result. */
  vector: number;
  inCycle: number;
  cycle: number;
  source: 'exhaustive' | 'random' | 'boundary';
  mode?: DecodeMode;
  lane?: number;
  laneName?: string;
  w: number[];
  a: number[];
  got: string;
  want: string;
  /** P the lanes were decoded from (hex): the RTL's and overpackP's. */
  pGot?: string;
  pWant?: string;
}

export interface OverpackModeResult {
  mode: DecodeMode;
  /** Lane results that differ from decodeOverpacked. */
  mismatches: number;
  /** Per lane, the RTL's errors against the exact products over the stats tuples. */
  lanes: LaneStats[];
  errorCount: number;
  maxAbsError: number;
  /** The RTL's lane statistics equal overpackStats' (null: not compared). */
  statsEqual: boolean | null;
}

export interface OverpackCosimReport {
  layout: string;
  source: string;
  sim: SimulatorName;
  seed: number;
  exhaustive: boolean;
  /** Space of the operands; vectors simulated (random + boundary, or the space). */
  space: number;
  vectors: number;
  randomVectors: number;
  boundaryVectors: number;
  /** Products per multiply. */
  lanes: number;
  /** Vectors the statistics are over (the space, or the random part). */
  statsVectors: number;
  cycles: number;
  simulations: number;
  latency: number;
  modes: OverpackModeResult[];
  /** Lane results compared (vectors x lanes x modes), P values compared. */
  laneResults: number;
  mismatches: number;
  firstMismatch?: OverpackMismatch;
  equal: boolean;
  build: { cached: boolean; ms: number; version: string };
  ms: { rtl: number; check: number; stats: number; total: number };
}

const hex48 = (v: bigint) => `0x${BigInt.asUintN(48, v).toString(16).padStart(12, '0')}`;
const byte = (v: number) => (v & 0xff).toString(16).padStart(2, '0');

/** The modes a layout has: 'approx' anticipates borrows from weight signs, unsigned activations only. */
export function overpackModes(l: OverpackLayout): DecodeMode[] {
  return DECODE_MODES.filter((m) => m !== 'approx' || !l.aSigned);
}

/** The testbench's parameters for a layout (the RTL's stimulus fields are 8 bits, up to 8 activations). */
export function overpackRtlParams(l: OverpackLayout): Record<string, number> {
  if (l.wBits > 8 || l.aBits > 8 || l.activations > 8) throw new InputError(`${l.name}: the RTL testbench takes up to 8-bit operands and 8 activations`);
  return { WB: l.wBits, AB: l.aBits, N: l.weights, M: l.activations, S: l.spacing, ASIGNED: l.aSigned ? 1 : 0, BCOMP: l.bSignCompensation ? 1 : 0 };
}

/** The operand stream: flat tuples (weights then activations) and where each comes from. */
export interface OverpackStream {
  ops: Int16Array;
  width: number;
  count: number;
  random: number;
  boundary: number;
}

/**
 * The operands the co-simulation presents, in order: the whole space (odometer, the last
 * activation fastest), or `vectors` tuples drawn as overpackStats samples them then
 * boundaryTuples(l, boundary).
 */
export function overpackStream(l: OverpackLayout, exhaustive: boolean, vectors: number, seed: number, boundary = 1024): OverpackStream {
  const space = ((l.weightRange[1] - l.weightRange[0] + 1) ** l.weights) * ((l.activationRange[1] - l.activationRange[0] + 1) ** l.activations);
  const width = l.weights + l.activations;
  const ranges = [...Array(l.weights).fill(l.weightRange), ...Array(l.activations).fill(l.activationRange)] as [number, number][];
  if (exhaustive) {
    const ops = new Int16Array(space * width);
    // odometer over weights then activations, the last operand fastest (as overpackStats)
    for (let t = 0; t < space; t++) {
      let r = t;
      for (let i = width - 1; i >= 0; i--) {
        const [lo, hi] = ranges[i]!;
        ops[t * width + i] = lo + (r % (hi - lo + 1));
        r = Math.floor(r / (hi - lo + 1));
      }
    }
    return { ops, width, count: space, random: 0, boundary: 0 };
  }
  const bounds = boundary > 0 ? boundaryTuples(l, boundary) : [];
  const count = vectors + bounds.length;
  const ops = new Int16Array(count * width);
  const rng = new Rng(seed);
  for (let t = 0; t < vectors; t++) for (let i = 0; i < width; i++) ops[t * width + i] = rng.int(...ranges[i]!);
  bounds.forEach((b, j) => ops.set(b, (vectors + j) * width));
  return { ops, width, count, random: vectors, boundary: bounds.length };
}

/** Runs the co-simulation (see the header). */
export function runOverpackCosim(o: OverpackCosimOptions): OverpackCosimReport {
  const t0 = performance.now();
  const l = getOverpack(o.layout);
  const params = overpackRtlParams(l);
  const seed = o.seed ?? 1;
  const have = overpackModes(l);
  const modes = o.modes ?? have;
  for (const m of modes) if (!have.includes(m)) throw new InputError(`${l.name}: decode '${m}' does not apply (one of ${have.join(', ')})`);
  const wn = l.weightRange[1] - l.weightRange[0] + 1;
  const an = l.activationRange[1] - l.activationRange[0] + 1;
  const space = wn ** l.weights * an ** l.activations;
  const exhaustive = o.exhaustive ?? (o.vectors === undefined && space <= OVERPACK_EXHAUSTIVE_DEFAULT);
  if (exhaustive && space > 2 ** 24) throw new InputError(`${l.name}: ${space} tuples are too many to enumerate in RTL simulation (at most 2^24); use --vectors`);
  const vectors = exhaustive ? 0 : requireInt('vectors', o.vectors ?? 2000, 1, 1e8);
  const stream = overpackStream(l, exhaustive, vectors, seed, o.boundary ?? 1024);
  const statsCount = exhaustive ? space : vectors;

  const decode = o.decodeFile ? resolve(o.decodeFile) : join(RTL_DIR, 'overpack_decode.v');
  const sources = OVERPACK_SOURCES.map((f) => (f === 'overpack_decode.v' ? decode : join(RTL_DIR, f)));
  // Icarus runs faster with a memory no deeper than the stimulus (its builds are cheap): one
  // build per depth; Verilator builds once with the full depth
  const builds = new Map<number, Build>();
  const buildFor = (lines: number): Build => {
    const depth = o.sim === 'icarus' ? 2 ** Math.ceil(Math.log2(Math.max(lines, 1024))) : DEPTH;
    let b = builds.get(depth);
    if (!b) {
      b = buildSimulation({
        sim: o.sim, sources: [...sources, join(RTL_DIR, 'tb', 'overpack_tb.v')], tb: 'overpack_tb',
        params: { ...params, DSP_LATENCY: OVERPACK_DSP_LATENCY, DEPTH: depth }, ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}),
      });
      builds.set(depth, b);
    }
    return b;
  };

  const K = l.lanes.length;
  const LW = l.productBits + 1;
  const idx = modes.map((m) => DECODE_MODES.indexOf(m));
  const stats = modes.map(() => l.lanes.map((_, k): LaneStats => ({ lane: overpackLaneName(l, k), errors: 0, sumError: 0, sumAbsError: 0, maxAbsError: 0 })));
  const modeMismatches = modes.map(() => 0);
  let mismatches = 0;
  let first: OverpackMismatch | undefined;
  let laneResults = 0;
  let cycles = 0;
  let simulations = 0;
  let rtlMs = 0;
  let checkMs = 0;
  const garbage = new Rng(seed ^ 0x0b0b);
  const dir = mkdtempSync(join(tmpdir(), 'fkb-overpack-'));
  try {
    for (let base = 0; base < stream.count;) {
      // one simulation: as many vectors as the testbench memory holds, with idle cycles between some
      const lines: string[] = [];
      const inCycle: number[] = [];
      let n = 0;
      while (base + n < stream.count && lines.length < DEPTH - 4) {
        const t = base + n;
        const { w, a } = streamTuple(l, stream, t);
        inCycle.push(lines.length);
        lines.push(stimLine(true, w, a));
        n++;
        if (garbage.next() < 0.25) {
          const idle = garbage.int(1, Math.min(3, DEPTH - lines.length));
          for (let b = 0; b < idle; b++) lines.push(stimLine(false, [garbage.int(-128, 127), garbage.int(-128, 127)], Array.from({ length: 8 }, () => garbage.int(0, 255))));
        }
      }
      writeFileSync(join(dir, 'tb.hex'), `${lines.length.toString(16)}\n${(OVERPACK_LATENCY + 4).toString(16)}\n`);
      writeFileSync(join(dir, 'stim.hex'), `${lines.join('\n')}\n`);
      rtlMs += buildFor(lines.length).run(dir).ms;
      simulations++;
      cycles += lines.length;
      const t1 = performance.now();
      const outs = readFileSync(join(dir, 'out.txt'), 'utf8').split('\n').filter(Boolean);
      for (let i = 0; i < n; i++) {
        const t = base + i;
        const { w, a } = streamTuple(l, stream, t);
        const source = exhaustive ? 'exhaustive' : t < stream.random ? 'random' : 'boundary';
        const at = { vector: t, inCycle: inCycle[i]!, source, w, a } as const;
        const line = outs[i];
        if (!line) {
          mismatches++;
          first ??= { kind: 'missing', ...at, cycle: -1, got: 'no result', want: `a result in cycle ${inCycle[i]! + OVERPACK_LATENCY}` };
          continue;
        }
        const f = line.split(' ');
        const cycle = Number(f[0]);
        const where = { ...at, cycle };
        if (cycle !== inCycle[i]! + OVERPACK_LATENCY) {
          mismatches++;
          first ??= { kind: 'latency', ...where, got: `cycle ${cycle}`, want: `cycle ${inCycle[i]! + OVERPACK_LATENCY}` };
        }
        if (parseInt(f[1]!, 16) !== 0x3f) {
          mismatches++;
          first ??= { kind: 'valid', ...where, got: `valid mask ${f[1]}`, want: 'valid mask 3f (every mode)' };
        }
        const p = overpackP(l, w, a);
        const pApprox = have.includes('approx') ? overpackP(l, w, a, true) : p;
        const corr = mrCorrections(l, w, a);
        const exact = exactProducts(l, w, a);
        const pRtl = [BigInt(`0x${f[2]}`), BigInt(`0x${f[3]}`)];
        for (const [j, mode] of modes.entries()) {
          const m = idx[j]!;
          const pm = mode === 'approx' ? pApprox : p;
          const pGot = mode === 'approx' ? pRtl[1]! : pRtl[0]!;
          if (pGot !== BigInt.asUintN(48, pm)) {
            mismatches++;
            modeMismatches[j]!++;
            first ??= { kind: 'p', ...where, mode, got: hex48(pGot), want: hex48(pm), pGot: hex48(pGot), pWant: hex48(pm) };
          }
          const want = decodeOverpacked(l, pm, mode, corr);
          const got = BigInt(`0x${f[4 + m]}`);
          for (let k = 0; k < K; k++) {
            const r = BigInt.asIntN(LW, got >> BigInt(k * LW));
            laneResults++;
            if (r !== want[k]) {
              mismatches++;
              modeMismatches[j]!++;
              first ??= { kind: 'value', ...where, mode, lane: k, laneName: overpackLaneName(l, k), got: r.toString(), want: want[k]!.toString(), pGot: hex48(pGot), pWant: hex48(pm) };
            }
            if (t < statsCount && r !== exact[k]) {
              const s = stats[j]![k]!;
              const d = Number(r - exact[k]!);
              s.errors++;
              s.sumError += d;
              s.sumAbsError += Math.abs(d);
              s.maxAbsError = Math.max(s.maxAbsError, Math.abs(d));
            }
          }
        }
      }
      if (outs.length > n) {
        mismatches += outs.length - n;
        first ??= { kind: 'valid', vector: base + n, inCycle: -1, cycle: Number(outs[n]!.split(' ')[0]), source: 'random', w: [], a: [], got: `${outs.length - n} extra results`, want: `${n} results` };
      }
      checkMs += performance.now() - t1;
      base += n;
      o.onProgress?.(base, stream.count);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // the software's statistics over the same tuples: the whole space, or the same seeded sample
  const t2 = performance.now();
  const sw = overpackStats(l, exhaustive ? { exhaustiveLimit: space } : { exhaustiveLimit: 0, samples: vectors, seed });
  const statsMs = performance.now() - t2;
  const modeResults = modes.map((mode, j): OverpackModeResult => {
    const want = sw.modes.find((x) => x.mode === mode);
    const lanes = stats[j]!;
    return {
      mode, mismatches: modeMismatches[j]!, lanes,
      errorCount: lanes.reduce((s, x) => s + x.errors, 0),
      maxAbsError: Math.max(0, ...lanes.map((x) => x.maxAbsError)),
      statsEqual: want ? JSON.stringify(want.lanes) === JSON.stringify(lanes) : null,
    };
  });
  const equal = mismatches === 0 && modeResults.every((m) => m.statsEqual !== false);
  return {
    layout: l.name, source: l.source, sim: o.sim, seed, exhaustive, space,
    vectors: stream.count, lanes: K, randomVectors: stream.random, boundaryVectors: stream.boundary, statsVectors: statsCount,
    cycles, simulations, latency: OVERPACK_LATENCY, modes: modeResults, laneResults, mismatches,
    ...(first ? { firstMismatch: first } : {}), equal,
    build: { cached: [...builds.values()].every((b) => b.cached), ms: [...builds.values()].reduce((x, b) => x + b.buildMs, 0), version: [...builds.values()][0]!.version },
    ms: { rtl: rtlMs, check: checkMs, stats: statsMs, total: performance.now() - t0 },
  };
}

/** Tuple t of a stream. */
export function streamTuple(l: OverpackLayout, s: OverpackStream, t: number): { w: number[]; a: number[] } {
  return { w: Array.from(s.ops.subarray(t * s.width, t * s.width + l.weights)), a: Array.from(s.ops.subarray(t * s.width + l.weights, (t + 1) * s.width)) };
}

/** One stimulus line: {valid nibble, w_1 w_0, a_7 .. a_0}, each operand in its own byte. */
function stimLine(valid: boolean, w: readonly number[], a: readonly number[]): string {
  let ws = '';
  let as = '';
  for (let j = 1; j >= 0; j--) ws += byte(w[j] ?? 0);
  for (let i = 7; i >= 0; i--) as += byte(a[i] ?? 0);
  return `${valid ? '1' : '0'}${ws}${as}`;
}
