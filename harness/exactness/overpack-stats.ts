/**
 * Error statistics of the overpacked multiplies (harness/dsp/overpack.ts): every operand tuple
 * of one multiply (or a seeded sample where the space is too large), decoded with every mode,
 * per lane: error rate, mean error, mean |error|, max |error|.
 *
 * The enumeration runs on a fast path in plain JS numbers (P < 2^48 is exact in a double);
 * before its counts are trusted, checkFastPath() compares its P and every decode with the BigInt
 * slice model (stepSlice via overpackP, decodeOverpacked) on every boundary combination and
 * seeded random tuples of the configuration, and throws VerificationError on any difference.
 *
 * The paper's figures (PAPER_TABLE_II) are per result: EP = wrong results / all results,
 * MAE = mean |error| over all results, WCE = max |error|; our exhaustive INT4 counts reproduce
 * them (docs/overpacking.md).
 */
import { Rng } from '../util/rng.ts';
import { InputError, VerificationError } from '../util/errors.ts';
import { sext } from '../dsp/slice.ts';
import {
  DECODE_MODES,
  type DecodeMode,
  type OverpackLayout,
  decodeOverpacked,
  fastEvaluator,
  getOverpack,
  mrCorrections,
  overpackLaneName,
  overpackP,
} from '../dsp/overpack.ts';

/** Larger operand spaces are sampled. 2^25 tuples take a few seconds per configuration. */
export const EXHAUSTIVE_LIMIT = 2 ** 25;
/** Tuples drawn when a space is sampled. @default 2^22 */
export const DEFAULT_SAMPLES = 2 ** 22;

export interface LaneStats {
  lane: string;
  /** Results that differ from the exact product. */
  errors: number;
  /** Σ (decoded − exact), Σ |decoded − exact|. */
  sumError: number;
  sumAbsError: number;
  maxAbsError: number;
}

export interface ModeStats {
  mode: DecodeMode;
  /** Tuples with at least one wrong lane. */
  tupleErrors: number;
  lanes: LaneStats[];
  /** Over all results (tuples x lanes), as the paper reports: EP (%), mean error, MAE, WCE. */
  errorRate: number;
  meanError: number;
  meanAbsError: number;
  maxAbsError: number;
}

export interface OverpackStats {
  config: string;
  source: string;
  /** The operand ranges enumerated. */
  weightRange: [number, number];
  activationRange: [number, number];
  products: number;
  spacing: number;
  delta: number;
  productBits: number;
  /** Operand tuples in the space, and how many were evaluated. */
  space: number;
  cases: number;
  exhaustive: boolean;
  /** Seed of the sample (sampled spaces only). */
  seed?: number;
  /** Tuples whose fast-path P and decodes were compared with the BigInt slice model. */
  checkedAgainstSlice: number;
  modes: ModeStats[];
  ms: number;
}

/** One multiply's operands: weights then activations. */
type Tuple = { w: number[]; a: number[] };

/** Boundary values of a range: min, min+1, -1, 0, 1, max-1, max (those inside it). */
function boundary([lo, hi]: readonly [number, number]): number[] {
  return [...new Set([lo, lo + 1, -1, 0, 1, hi - 1, hi])].filter((v) => v >= lo && v <= hi);
}

function checkTuple(l: OverpackLayout, ev: ReturnType<typeof fastEvaluator>, t: Tuple, out: Float64Array): void {
  const p = ev(t.w, t.a, out);
  const where = () => `${l.name} w=[${t.w}] a=[${t.a}]`;
  const ref = overpackP(l, t.w, t.a);
  if (sext(ref, 48) !== BigInt(p)) throw new VerificationError(`fast path differs from the slice model: ${where()}: P ${p}, stepSlice ${sext(ref, 48)}`);
  const refApprox = l.aSigned ? undefined : overpackP(l, t.w, t.a, true);
  const corr = mrCorrections(l, t.w, t.a);
  const K = l.lanes.length;
  DECODE_MODES.forEach((mode, m) => {
    if (mode === 'approx' && !refApprox) return;
    const want = decodeOverpacked(l, mode === 'approx' ? refApprox! : ref, mode, corr);
    want.forEach((v, k) => {
      if (BigInt(out[m * K + k]!) !== v) throw new VerificationError(`fast path differs from decodeOverpacked: ${where()} mode ${mode} lane ${overpackLaneName(l, k)}: ${out[m * K + k]}, want ${v}`);
    });
  });
}

/**
 * Every combination of boundary operands (weights then activations, each slot's values from
 * boundary()), thinned evenly to at most `cap` as it grows.
 */
export function boundaryTuples(l: OverpackLayout, cap = 4096): number[][] {
  const slots = [...Array(l.weights).fill(boundary(l.weightRange)), ...Array(l.activations).fill(boundary(l.activationRange))] as number[][];
  let combos: number[][] = [[]];
  for (const values of slots) {
    combos = combos.flatMap((c) => values.map((v) => [...c, v]));
    if (combos.length > cap) combos = combos.filter((_, i) => i % Math.ceil(combos.length / cap) === 0);
  }
  return combos;
}

/**
 * Compares the fast path with the BigInt slice model on every combination of boundary operands
 * (capped at 4096) and `random` seeded tuples. Returns the tuples compared.
 */
export function checkFastPath(l: OverpackLayout, random = 1000, seed = 0x0e7ac): number {
  const ev = fastEvaluator(l);
  const out = new Float64Array(DECODE_MODES.length * l.lanes.length);
  const slots = [...Array(l.weights).fill(l.weightRange), ...Array(l.activations).fill(l.activationRange)] as [number, number][];
  const combos = boundaryTuples(l);
  const rng = new Rng(seed);
  for (let i = 0; i < random; i++) combos.push(slots.map((r) => rng.int(...r)));
  for (const c of combos) checkTuple(l, ev, { w: c.slice(0, l.weights), a: c.slice(l.weights) }, out);
  return combos.length;
}

export interface StatsOptions {
  /** Sample instead of enumerating above this many tuples. @default EXHAUSTIVE_LIMIT */
  exhaustiveLimit?: number;
  /** Tuples drawn for a sampled space. @default DEFAULT_SAMPLES */
  samples?: number;
  /** Seed of the sample. @default 1 */
  seed?: number;
  /** Random tuples compared with the slice model before counting. @default 1000 */
  checkRandom?: number;
  /**
   * Weights symmetric as this project's quantizer writes them, [−(2^(b−1) − 1), 2^(b−1) − 1]
   * instead of the full two's-complement range. @default false
   */
  symmetricWeights?: boolean;
}

/** The statistics of one configuration (see the header). */
export function overpackStats(config: string | OverpackLayout, o: StatsOptions = {}): OverpackStats {
  const full = typeof config === 'string' ? getOverpack(config) : config;
  const l: OverpackLayout = o.symmetricWeights ? { ...full, weightRange: [full.weightRange[0] + 1, full.weightRange[1]] } : full;
  const t0 = performance.now();
  const checked = checkFastPath(l, o.checkRandom ?? 1000);
  const wn = l.weightRange[1] - l.weightRange[0] + 1;
  const an = l.activationRange[1] - l.activationRange[0] + 1;
  const space = wn ** l.weights * an ** l.activations;
  const exhaustive = space <= (o.exhaustiveLimit ?? EXHAUSTIVE_LIMIT);
  const samples = o.samples ?? DEFAULT_SAMPLES;
  if (!exhaustive && (!Number.isInteger(samples) || samples < 1)) throw new InputError(`samples must be a positive integer, got ${samples}`);
  const seed = o.seed ?? 1;
  const K = l.lanes.length;
  const modes = DECODE_MODES.length;
  const ev = fastEvaluator(l);
  const out = new Float64Array(modes * K);
  const errors = new Float64Array(modes * K);
  const sumErr = new Float64Array(modes * K);
  const sumAbs = new Float64Array(modes * K);
  const maxAbs = new Float64Array(modes * K);
  const tupleErrors = new Float64Array(modes);
  const skipApprox = l.aSigned;
  const w = new Array<number>(l.weights).fill(l.weightRange[0]);
  const a = new Array<number>(l.activations).fill(l.activationRange[0]);
  const count = () => {
    ev(w, a, out);
    for (let m = 0; m < modes; m++) {
      let any = false;
      for (let k = 0; k < K; k++) {
        const exact = w[l.lanes[k]!.w]! * a[l.lanes[k]!.a]!;
        const d = out[m * K + k]! - exact;
        if (d !== 0) {
          const i = m * K + k;
          any = true;
          errors[i]!++;
          sumErr[i]! += d;
          const ad = Math.abs(d);
          sumAbs[i]! += ad;
          if (ad > maxAbs[i]!) maxAbs[i] = ad;
        }
      }
      if (any) tupleErrors[m]!++;
    }
  };
  let cases = 0;
  if (exhaustive) {
    // odometer over weights then activations
    const ops = [...w, ...a];
    const lo = [...w.map(() => l.weightRange[0]), ...a.map(() => l.activationRange[0])];
    const hi = [...w.map(() => l.weightRange[1]), ...a.map(() => l.activationRange[1])];
    for (;;) {
      for (let i = 0; i < l.weights; i++) w[i] = ops[i]!;
      for (let i = 0; i < l.activations; i++) a[i] = ops[l.weights + i]!;
      count();
      cases++;
      let d = ops.length - 1;
      while (d >= 0 && ops[d] === hi[d]) ops[d] = lo[d--]!;
      if (d < 0) break;
      ops[d]!++;
    }
    if (cases !== space) throw new VerificationError(`${l.name}: enumerated ${cases} tuples, want ${space}`);
  } else {
    const rng = new Rng(seed);
    for (; cases < samples; cases++) {
      for (let i = 0; i < l.weights; i++) w[i] = rng.int(...l.weightRange);
      for (let i = 0; i < l.activations; i++) a[i] = rng.int(...l.activationRange);
      count();
    }
  }
  const results = cases * K;
  const modeStats: ModeStats[] = [];
  DECODE_MODES.forEach((mode, m) => {
    if (mode === 'approx' && skipApprox) return;
    const lanes = l.lanes.map((_, k): LaneStats => ({
      lane: overpackLaneName(l, k),
      errors: errors[m * K + k]!,
      sumError: sumErr[m * K + k]!,
      sumAbsError: sumAbs[m * K + k]!,
      maxAbsError: maxAbs[m * K + k]!,
    }));
    const tot = (f: (x: LaneStats) => number) => lanes.reduce((acc, x) => acc + f(x), 0);
    modeStats.push({
      mode,
      tupleErrors: tupleErrors[m]!,
      lanes,
      errorRate: (100 * tot((x) => x.errors)) / results,
      meanError: tot((x) => x.sumError) / results,
      meanAbsError: tot((x) => x.sumAbsError) / results,
      maxAbsError: Math.max(...lanes.map((x) => x.maxAbsError)),
    });
  });
  const exact = modeStats.find((x) => x.mode === 'exact')!;
  if (exact.tupleErrors !== 0) throw new VerificationError(`${l.name}: the exact decode is wrong for ${exact.tupleErrors} tuples`);
  return {
    config: l.name, source: l.source, weightRange: l.weightRange, activationRange: l.activationRange, products: K, spacing: l.spacing, delta: l.delta, productBits: l.productBits,
    space, cases, exhaustive, ...(exhaustive ? {} : { seed }), checkedAgainstSlice: checked, modes: modeStats, ms: performance.now() - t0,
  };
}

/** One row of the paper's Table II: a configuration and decode of ours it corresponds to. */
export interface PaperRow {
  row: string;
  config: string;
  mode: DecodeMode;
  /** MAE, EP (% of results), WCE as published. */
  mae: number;
  ep: number;
  wce: number;
  /** LUTs and FFs of the correction as published. */
  luts: number;
  ffs: number;
}

/**
 * Sommer, Özkan, Keszocze, Teich, "DSP-Packing: Squeezing Low-precision Arithmetic into FPGA DSP
 * Blocks", FPL 2022 (arXiv:2203.11028), Table II (p. 6): two signed int4 weights x two unsigned
 * int4 activations, exhaustively tested, on a Zynq UltraScale+ XCZU7EV. Read from a public
 * page-by-page summary of the paper, not from the PDF (docs/overpacking.md says which figures we
 * could verify independently).
 */
export const PAPER_TABLE_II: readonly PaperRow[] = [
  { row: 'Xilinx INT4', config: 'int4-2x2-wp521', mode: 'naive', mae: 0.37, ep: 37.35, wce: 1, luts: 0, ffs: 0 },
  { row: 'full correction', config: 'int4-2x2-wp521', mode: 'round', mae: 0.0, ep: 0.0, wce: 0, luts: 27, ffs: 32 },
  { row: 'approximate correction', config: 'int4-2x2-wp521', mode: 'approx', mae: 0.02, ep: 3.13, wce: 1, luts: 0, ffs: 0 },
  { row: 'Overpacking δ = −1', config: 'int4-2x2-d1', mode: 'naive', mae: 24.27, ep: 49.85, wce: 129, luts: 0, ffs: 0 },
  { row: 'Overpacking δ = −2', config: 'int4-2x2-d2', mode: 'naive', mae: 37.95, ep: 58.64, wce: 194, luts: 0, ffs: 0 },
  { row: 'Overpacking δ = −3', config: 'int4-2x2-d3', mode: 'naive', mae: 45.53, ep: 78.26, wce: 228, luts: 0, ffs: 0 },
  { row: 'MR-Overpacking δ = −1', config: 'int4-2x2-d1', mode: 'mr', mae: 0.37, ep: 37.35, wce: 1, luts: 4, ffs: 6 },
  { row: 'MR-Overpacking δ = −2', config: 'int4-2x2-d2', mode: 'mr', mae: 0.47, ep: 41.48, wce: 2, luts: 6, ffs: 20 },
  { row: 'MR-Overpacking δ = −3', config: 'int4-2x2-d3', mode: 'mr', mae: 0.78, ep: 49.95, wce: 4, luts: 17, ffs: 30 },
];

/** Our figures beside the paper's, row by row. */
export interface PaperComparison extends PaperRow {
  ours: { mae: number; ep: number; wce: number; meanError: number };
}

export function compareWithPaper(stats: readonly OverpackStats[]): PaperComparison[] {
  return PAPER_TABLE_II.flatMap((r) => {
    // Table II enumerates the full two's-complement weight range
    const s = stats.find((x) => x.config === r.config && x.weightRange[0] === getOverpack(r.config).weightRange[0]);
    const m = s?.modes.find((x) => x.mode === r.mode);
    return m ? [{ ...r, ours: { mae: m.meanAbsError, ep: m.errorRate, wce: m.maxAbsError, meanError: m.meanError } }] : [];
  });
}
