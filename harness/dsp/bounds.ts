/**
 * Accumulation bounds found by ENUMERATION through the BigInt slice model, as a check on the
 * formula in schemes.ts (accumulationBound):
 *
 *   for N = 1, 2, ...: every worst-case chain of N products (below) is driven through stepSlice,
 *   accumulating in P (OPMODE Z = P) and, separately, as a PCOUT -> PCIN cascade of N slices
 *   (OPMODE Z = PCIN); the bound is N - 1 for the first N at which some chain decodes inexactly.
 *
 * Worst-case chains: for every lane and each of its largest and smallest product, every corner
 * operand tuple (each operand at its min or max) attaining it, repeated N times. The other
 * lanes' operands are then at their own extremes too. A sum of N products lies between the two
 * constant chains, and each lane decodes exactly iff it and every lane below it stay inside
 * their signed widths, so these chains are the first to fail.
 *
 * Past the bound P itself stays exact; the decode moves k*2^width from an overflowing lane into
 * the next (README of the golden vectors: lo = S_lo - k*2^18, hi = S_hi + k for int8x8).
 * chainReport() shows that corruption for a chain length, computed with the slice model.
 */
import { VerificationError } from '../util/errors.ts';
import { formatOperands, laneName } from './operand-names.ts';
import { accumulationBound, decodeLanes, type PackingScheme, type SchemeName } from './schemes.ts';
import { stepSlice, toHex48, wrap } from './slice.ts';

export interface Operands {
  w: number[];
  a: number[];
}

/** Why a tuple is a worst case: lane index and which extreme of its product it attains. */
export interface WorstLabel {
  lane: number;
  extreme: 'max' | 'min';
}

export interface WorstCaseChain extends Operands {
  /** Every (lane, extreme) this tuple attains. */
  labels: WorstLabel[];
}

/** Exact product of lane i for one operand tuple. */
function laneProduct(s: PackingScheme, lane: number, { w, a }: Operands): bigint {
  const l = s.lanes[lane]!;
  return BigInt(w[l.w]!) * BigInt(a[l.a]!);
}

/**
 * The operand tuples of the worst-case chains: corner tuples that attain, for some lane, its
 * largest or smallest product. Deduplicated; each carries the labels it attains.
 */
export function worstCaseChains(s: PackingScheme): WorstCaseChain[] {
  const slots = [...Array<readonly [number, number]>(s.weights).fill(s.weightRange), ...Array<readonly [number, number]>(s.activations).fill(s.activationRange)];
  let corners: number[][] = [[]];
  for (const [lo, hi] of slots) corners = corners.flatMap((c) => [[...c, lo], [...c, hi]]);
  const tuples = corners.map((c) => ({ w: c.slice(0, s.weights), a: c.slice(s.weights) }));
  const chains: WorstCaseChain[] = [];
  for (const t of tuples) {
    const labels: WorstLabel[] = [];
    s.lanes.forEach((_, lane) => {
      const products = tuples.map((u) => laneProduct(s, lane, u));
      const max = products.reduce((x, y) => (y > x ? y : x));
      const min = products.reduce((x, y) => (y < x ? y : x));
      const p = laneProduct(s, lane, t);
      if (p === max) labels.push({ lane, extreme: 'max' });
      if (p === min) labels.push({ lane, extreme: 'min' });
    });
    if (labels.length > 0) chains.push({ ...t, labels });
  }
  return chains;
}

/** One chain's state in the slice model: P, and the exact lane sums so far. */
export interface ChainState {
  steps: number;
  p: bigint;
  exact: bigint[];
}

export function emptyChain(s: PackingScheme): ChainState {
  return { steps: 0, p: 0n, exact: s.lanes.map(() => 0n) };
}

/**
 * Adds one product to a chain through stepSlice: the first as P = M, later ones as P = P + M
 * ('P', one slice accumulating) or P = PCIN + M ('PCIN', the next slice of a cascade: PCIN is
 * the previous stage's P and this stage's own P register is never selected).
 */
export function stepChain(s: PackingScheme, st: ChainState, ops: Operands, via: 'P' | 'PCIN'): ChainState {
  const first = st.steps === 0;
  const ports = s.ports(ops.w, ops.a, first ? 'first' : via);
  const p = via === 'PCIN' ? stepSlice({ ...ports, pcin: first ? 0n : st.p }, 0n) : stepSlice(ports, st.p);
  return { steps: st.steps + 1, p, exact: st.exact.map((e, i) => e + laneProduct(s, i, ops)) };
}

/** The decode of a chain, compared with its exact lane sums. */
export interface ChainDecode {
  /** P as 12 hex digits. */
  p: string;
  /** P equals the exact packed sum Σ S_i·2^offset_i mod 2^48 (it always should). */
  pExact: boolean;
  exact: bigint[];
  got: bigint[];
  /**
   * k_i moved out of lane i into lane i+1: got_i = S_i − k_i·2^width_i + k_(i−1).
   * null when the difference is not of that form (it never should be).
   */
  carries: bigint[] | null;
  ok: boolean;
}

export function decodeChain(s: PackingScheme, st: ChainState): ChainDecode {
  const got = decodeLanes(s, st.p);
  const packed = wrap(s.lanes.reduce((acc, l, i) => acc + (st.exact[i]! << BigInt(l.offset)), 0n), 48);
  let carries: bigint[] | null = [];
  let kIn = 0n;
  for (const [i, l] of s.lanes.entries()) {
    const diff = st.exact[i]! + kIn - got[i]!;
    const unit = 1n << BigInt(l.width);
    if (diff % unit !== 0n) {
      carries = null;
      break;
    }
    kIn = diff / unit;
    carries.push(kIn);
  }
  return { p: toHex48(st.p), pExact: st.p === packed, exact: st.exact, got, carries, ok: got.every((g, i) => g === st.exact[i]) };
}

/** A worst-case chain of N products after the slice model. */
export interface ChainResult {
  w: number[];
  a: number[];
  labels: WorstLabel[];
  /** Products in the chain. */
  n: number;
  decode: ChainDecode;
}

export interface BoundSearch {
  scheme: SchemeName;
  /** Largest N for which every worst-case chain decodes exactly (enumerated). */
  bound: number;
  /** accumulationBound(scheme): the formula, for comparison. */
  formula: number;
  /** Distinct worst-case operand tuples driven per N (each accumulated in P and as a cascade). */
  chainsPerN: number;
  /** stepSlice calls made. */
  clocks: number;
  /** The chains that decode inexactly at N = bound + 1. */
  failing: ChainResult[];
}

/**
 * The largest N for which every worst-case chain of N products decodes exactly, found by
 * driving the chains through stepSlice for N = 1, 2, ... until one fails. Each chain runs both
 * accumulated in P and as a PCIN cascade; the two must give the same P at every N (else
 * VerificationError), and P must equal the exact packed sum.
 *
 * @param opts.maxN give up (VerificationError) past this many products. @default 1 << 16
 */
export function findBound(s: PackingScheme, opts: { maxN?: number } = {}): BoundSearch {
  const maxN = opts.maxN ?? 1 << 16;
  const chains = worstCaseChains(s);
  let inP = chains.map(() => emptyChain(s));
  let cascade = chains.map(() => emptyChain(s));
  let clocks = 0;
  for (let n = 1; n <= maxN; n++) {
    inP = inP.map((st, i) => stepChain(s, st, chains[i]!, 'P'));
    cascade = cascade.map((st, i) => stepChain(s, st, chains[i]!, 'PCIN'));
    clocks += 2 * chains.length;
    const failing: ChainResult[] = [];
    chains.forEach((c, i) => {
      const where = `${s.name} chain of ${n} x (${formatOperands(s, c.w, c.a)})`;
      if (cascade[i]!.p !== inP[i]!.p) {
        throw new VerificationError(`${where}: PCIN cascade gives P ${toHex48(cascade[i]!.p)}, accumulating in P gives ${toHex48(inP[i]!.p)}`);
      }
      const decode = decodeChain(s, inP[i]!);
      if (!decode.pExact) throw new VerificationError(`${where}: P ${decode.p} is not the exact packed sum of the lanes`);
      if (!decode.ok) failing.push({ w: c.w, a: c.a, labels: c.labels, n, decode });
    });
    if (failing.length > 0) {
      return { scheme: s.name, bound: n - 1, formula: accumulationBound(s), chainsPerN: chains.length, clocks, failing };
    }
  }
  throw new VerificationError(`${s.name}: every worst-case chain up to ${maxN} products decodes exactly; no bound found`);
}

/** One lane's worst case for a chain length. */
export interface LaneWorst {
  lane: number;
  name: string;
  width: number;
  /** The lane's signed range [-2^(width-1), 2^(width-1) - 1]. */
  range: [number, number];
  /** Smallest and largest exact lane sum over the worst-case chains of this length. */
  sumMin: number;
  sumMax: number;
  /** The side whose sum lies further out (or closer to the edge). */
  side: 'max' | 'min';
  /** How far that sum lies outside the range: > 0 overflow, <= 0 minus the headroom left. */
  overflow: number;
}

export interface ChainReport {
  scheme: SchemeName;
  /** Products per P before decode. */
  length: number;
  /** findBound(scheme).bound. */
  bound: number;
  /** Every worst-case chain of this length decodes exactly. */
  safe: boolean;
  lanes: LaneWorst[];
  /** The lane with the largest overflow (least headroom). */
  worst: LaneWorst;
  /** Worst-case chains driven, and how many of them decode inexactly. */
  chains: number;
  corrupted: number;
  /** For an unsafe length: the chain at the worst lane's worst side, through the slice model. */
  corruption?: ChainResult;
}

/**
 * Safety of chains of `length` products: the worst-case lane sums against the lane widths, and,
 * past the bound, what the decode makes of the worst chain (P exact, k moved between lanes).
 * Everything is measured on the worst-case chains driven through stepSlice (accumulating in P).
 */
export function chainReport(s: PackingScheme, length: number): ChainReport {
  if (!Number.isInteger(length) || length < 1) throw new RangeError(`chain length must be an integer >= 1, got ${length}`);
  const { bound } = findBound(s);
  const chains = worstCaseChains(s);
  const results: ChainResult[] = chains.map((c) => {
    let st = emptyChain(s);
    for (let i = 0; i < length; i++) st = stepChain(s, st, c, 'P');
    return { w: c.w, a: c.a, labels: c.labels, n: length, decode: decodeChain(s, st) };
  });
  const lanes: LaneWorst[] = s.lanes.map((l, i) => {
    const sums = results.map((r) => Number(r.decode.exact[i]!));
    const sumMin = Math.min(...sums);
    const sumMax = Math.max(...sums);
    const range: [number, number] = [-(2 ** (l.width - 1)), 2 ** (l.width - 1) - 1];
    const over = { max: sumMax - range[1], min: range[0] - sumMin };
    const side = over.max >= over.min ? 'max' : 'min';
    return { lane: i, name: laneName(s, i), width: l.width, range, sumMin, sumMax, side, overflow: over[side] };
  });
  const worst = lanes.reduce((x, y) => (y.overflow > x.overflow ? y : x));
  const corrupted = results.filter((r) => !r.decode.ok).length;
  const report: ChainReport = { scheme: s.name, length, bound, safe: corrupted === 0, lanes, worst, chains: results.length, corrupted };
  if ((corrupted === 0) !== (length <= bound) || (corrupted === 0) !== (worst.overflow <= 0)) {
    throw new VerificationError(`${s.name}: chains of ${length}: ${corrupted} corrupted, bound ${bound}, worst lane ${worst.name} overflow ${worst.overflow}: these disagree`);
  }
  if (corrupted > 0) {
    report.corruption = results.find((r) => r.labels.some((lb) => lb.lane === worst.lane && lb.extreme === worst.side) && !r.decode.ok);
  }
  return report;
}

/** The lane names with got/exact and the carries: "w2*a got -131072 want 131072 (k=1); ...". */
export function formatCorruption(s: PackingScheme, r: ChainResult): string {
  const k = r.decode.carries;
  return s.lanes.map((_, i) => {
    const carry = k && k[i] !== 0n ? ` (k=${k[i]} out)` : '';
    return `${laneName(s, i)} got ${r.decode.got[i]} want ${r.decode.exact[i]}${carry}`;
  }).join('; ');
}
