/**
 * Overpacking: more low-bit products in one DSP48E2 multiply than fit side by side, with the
 * lanes of P overlapping, and the decodes (with and without correction) that split P again.
 *
 * see: J. Sommer, M. A. Özkan, O. Keszocze, J. Teich, "DSP-Packing: Squeezing Low-precision
 * Arithmetic into FPGA DSP Blocks", FPL 2022 (arXiv:2203.11028): §III (INT-N packing of an outer
 * product, offsets), §IV (errors; full correction = round half up after extraction), §V
 * (Overpacking: negative padding δ; MR-Overpacking: the LSBs of the product that lands on a
 * lane's MSBs are computed outside the DSP and subtracted). docs/overpacking.md compares our
 * exhaustive figures with their Table II.
 *
 * Layout (one multiply, N weights x M activations, lane spacing s, product width p):
 *
 *   A[26:0] = w_0                         (sign-extended; the pre-adder's A input)
 *   D[26:0] = w_1 << (M·s)                (N = 2 only; INMODE = 00100: AD = D + A)
 *   B[17:0] = Σ_i a_i << (i·s)            (i = 0..M-1)
 *   P       = AD · B = Σ_k e_k · 2^(k·s), lane k = j·M + i, e_k = w_j · a_i
 *
 *   bit:  47 ...                          2s+p   2s   s+p    s     p      0
 *   P:    |  ...  | e_2 ...............|  overlap |  e_1 ...| overlap | e_0 |
 *                                         (δ = s − p < 0: lane k+1's low −δ bits lie on
 *                                          lane k's top −δ bits)
 *
 * With unsigned activations whose pattern reaches B[17] (the multiplier's sign bit), the DSP
 * reads B − 2^18 when a_(M−1) has its top bit set; as in WP487's UINT8 variant, the C port then
 * adds the missing (w_0 + w_1·2^(M·s)) · 2^18 (OPMODE W = C), so P is the exact packed sum.
 *
 * Decodes (pure functions of P and, for the MR modes, the correction inputs c_k; p = field
 * width, off_k = k·s, d = p − s overlap bits, sext_p = two's-complement reading of p bits):
 *
 *   naive     r_k = sext_p(P[off_k+p−1 : off_k])
 *   round     r_k = naive_k + P[off_k − 1]                       (paper: full correction,
 *             round half up; k = 0 adds nothing)
 *   mr        r_k = sext_p((P[off_k+p−1 : off_k] − (c_k << s)) mod 2^p)   (paper: MR-Overpacking)
 *             c_k = e_(k+1) mod 2^d, the low d bits of the product on lane k's top bits, computed
 *             outside the DSP from the low d bits of its two operands:
 *             c_k = ((w_j mod 2^d) · (a_i mod 2^d)) mod 2^d; c_(last) = 0
 *   mr-round  r_k = mr_k + P[off_k − 1]
 *   exact     r_k = sext_p((P[off_k+p−1 : off_k] − (c_k << s) − f_k) mod 2^p)   (ours)
 *             f_k = floor(L_k / 2^off_k), L_k = Σ_(i<k) r_i · 2^(i·s) from the lanes below
 *             (L_k mod 2^off_k = P[off_k−1:0], so f_k is the borrow the lanes below took)
 *   approx    the naive decode of a P whose C port added 2^off_k for every lane k >= 1 whose
 *             lower neighbour's weight is negative (paper §IV approximate correction, as we read
 *             it: the borrow anticipated from the operand signs, no logic after the DSP)
 *
 * Accumulation (ours; the paper decodes every multiply): a chain of products summed in P
 * (P + M, or PCIN + M down a cascade) decodes with the same functions at a wider field width
 * p' >= p; c_k is then the low p' − s bits of lane k+1's SUM, which the fabric accumulates
 * from the operands' low bits (chainCorrections).
 */
import { InputError } from '../util/errors.ts';
import { type SlicePorts, PORT_BITS, sext, stepSlice, wrap } from './slice.ts';

/** One configuration as listed (the one list of configurations is OVERPACK_CONFIGS). */
export interface OverpackSpec {
  name: string;
  /** Where it comes from: a section/table of the paper, or 'ours'. */
  source: string;
  /** Weights per DSP (1: A only, 2: A and D through the pre-adder). */
  weights: 1 | 2;
  /** Activations per DSP, packed in B. */
  activations: number;
  /** Signed weight bits. */
  wBits: number;
  /** Activation bits. */
  aBits: number;
  /** Activations as two's complement (true) or unsigned codes (false). @default false */
  aSigned?: boolean;
  /** Lane spacing s in P; δ = s − (wBits + aBits). */
  spacing: number;
}

export interface OverpackLane {
  /** Bit offset of the lane in P: k·s. */
  offset: number;
  /** Weight and activation index of its product. */
  w: number;
  a: number;
}

/** A validated configuration: its lanes and the port facts that follow from the spec. */
export interface OverpackLayout extends Required<OverpackSpec> {
  /** Product width p = wBits + aBits (a signed product of a signed and a b-bit operand fits). */
  productBits: number;
  /** δ = spacing − productBits (< 0: overpacked). */
  delta: number;
  /** Overlap d = max(0, −δ) bits per lane. */
  overlap: number;
  weightRange: [number, number];
  activationRange: [number, number];
  lanes: OverpackLane[];
  /** Unsigned activation patterns reach B[17] (the sign bit): C adds AD·2^18 when it is set. */
  bSignCompensation: boolean;
}

export const DECODE_MODES = ['naive', 'round', 'mr', 'mr-round', 'exact', 'approx'] as const;
export type DecodeMode = (typeof DECODE_MODES)[number];

/** Modes that need the correction inputs c_k (computed outside the DSP). */
export const MR_MODES: readonly DecodeMode[] = ['mr', 'mr-round', 'exact'];

const PAPER = 'Sommer et al., FPL 2022';

/**
 * The configurations, from the paper where it has them (Table II: two int4 weights x two uint4
 * activations at δ = +3 (Xilinx WP521), −1, −2, −3; six int4 products; four int6 products at
 * δ = −2) and ours for the widths of this project's models (2-bit and 8-bit layers).
 */
export const OVERPACK_CONFIGS: readonly OverpackSpec[] = [
  { name: 'int4-2x2-wp521', source: `${PAPER}, Table II row 'Xilinx INT4' (WP521 layout, δ = +3)`, weights: 2, activations: 2, wBits: 4, aBits: 4, spacing: 11 },
  { name: 'int4-2x2-d1', source: `${PAPER}, Table II rows δ = −1`, weights: 2, activations: 2, wBits: 4, aBits: 4, spacing: 7 },
  { name: 'int4-2x2-d2', source: `${PAPER}, Table II rows δ = −2`, weights: 2, activations: 2, wBits: 4, aBits: 4, spacing: 6 },
  { name: 'int4-2x2-d3', source: `${PAPER}, Table II rows δ = −3`, weights: 2, activations: 2, wBits: 4, aBits: 4, spacing: 5 },
  { name: 'int4-2x3-d1', source: `${PAPER}, abstract/§V: six int4 products per DSP (layout and B[17] compensation ours)`, weights: 2, activations: 3, wBits: 4, aBits: 4, spacing: 7 },
  { name: 'int4-2x3-d2', source: 'ours: six int4 products at δ = −2 (B within 16 bits, no compensation)', weights: 2, activations: 3, wBits: 4, aBits: 4, spacing: 6 },
  { name: 'int6-2x2-d2', source: `${PAPER}, §IX: four int6 products with MR-Overpacking δ = −2`, weights: 2, activations: 2, wBits: 6, aBits: 6, spacing: 10 },
  { name: 'int2-2x5-d0', source: 'ours: ten 2-bit products side by side (δ = 0, B[17] compensation)', weights: 2, activations: 5, wBits: 2, aBits: 2, spacing: 4 },
  { name: 'int2-2x6-d1', source: 'ours: twelve 2-bit products at δ = −1', weights: 2, activations: 6, wBits: 2, aBits: 2, spacing: 3 },
  { name: 'int8-2x2-d7', source: 'ours: four int8 products at δ = −7 (the only 2x2 int8 layout the ports take)', weights: 2, activations: 2, wBits: 8, aBits: 8, spacing: 9 },
];

export const OVERPACK_NAMES: readonly string[] = OVERPACK_CONFIGS.map((c) => c.name);

/** Signed range of `bits` bits. */
const signedRange = (bits: number): [number, number] => [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1];

/**
 * Validates a spec against the DSP48E2 ports (UG579: A/D 27 bits into the pre-adder, B 18 bits
 * signed, P 48 bits) and derives its lanes. Throws an InputError naming the port or field.
 */
export function overpackLayout(spec: OverpackSpec): OverpackLayout {
  const n = spec.name;
  const bad = (why: string): never => {
    throw new InputError(`overpack config '${n}': ${why}`);
  };
  if (spec.weights !== 1 && spec.weights !== 2) bad(`weights must be 1 (A) or 2 (A and D), got ${spec.weights}`);
  for (const [k, v, lo, hi] of [['activations', spec.activations, 1, 18], ['wBits', spec.wBits, 2, 26], ['aBits', spec.aBits, 1, 18], ['spacing', spec.spacing, 1, 47]] as const) {
    if (!Number.isInteger(v) || v < lo || v > hi) bad(`${k} must be an integer in [${lo}, ${hi}], got ${v}`);
  }
  const aSigned = spec.aSigned ?? false;
  if (aSigned && spec.aBits < 2) bad('signed activations need aBits >= 2');
  const p = spec.wBits + spec.aBits;
  const s = spec.spacing;
  const M = spec.activations;
  const N = spec.weights;
  if (2 * s <= p) bad(`spacing ${s} must exceed half the product width ${p} (else a lane overlaps two lanes above it)`);
  const w = signedRange(spec.wBits);
  const a: [number, number] = aSigned ? signedRange(spec.aBits) : [0, 2 ** spec.aBits - 1];
  // D: w_1 << (M·s) as a 27-bit signed value, and the pre-adder sum D + A must not wrap.
  if (N === 2) {
    const top = M * s + spec.wBits;
    if (top > PORT_BITS.d) bad(`D: w_1 << ${M * s} needs ${top} bits, the D port has ${PORT_BITS.d}`);
    const sum = [w[0] * 2 ** (M * s) + w[0], w[1] * 2 ** (M * s) + w[1]];
    if (sum[0]! < -(2 ** 26) || sum[1]! >= 2 ** 26) bad(`pre-adder: D + A spans [${sum[0]}, ${sum[1]}], outside the 27-bit AD range`);
  }
  // B: the activation pattern Σ a_i·2^(i·s) as the 18-bit signed multiplier operand.
  const weightSum = Array.from({ length: M }, (_, i) => 2 ** (i * s)).reduce((x, y) => x + y, 0);
  const bRange = [a[0] * weightSum, a[1] * weightSum];
  if (bRange[0]! < -(2 ** 17) || bRange[1]! >= 2 ** (aSigned ? 17 : 18)) {
    bad(`B: ${M} activations at spacing ${s} span [${bRange[0]}, ${bRange[1]}], more than the ${PORT_BITS.b}-bit B port holds`);
  }
  const bSignCompensation = !aSigned && bRange[1]! >= 2 ** 17;
  // P: the top lane's field must lie inside the 48-bit P.
  const pTop = (N * M - 1) * s + p;
  if (pTop > PORT_BITS.p) bad(`P: ${N * M} lanes at spacing ${s} of ${p}-bit products need ${pTop} bits, P has ${PORT_BITS.p}`);
  const lanes: OverpackLane[] = [];
  for (let j = 0; j < N; j++) for (let i = 0; i < M; i++) lanes.push({ offset: (j * M + i) * s, w: j, a: i });
  return {
    ...spec, aSigned, productBits: p, delta: s - p, overlap: Math.max(0, p - s),
    weightRange: w, activationRange: a, lanes, bSignCompensation,
  };
}

export function getOverpack(name: string): OverpackLayout {
  const spec = OVERPACK_CONFIGS.find((c) => c.name === name);
  if (!spec) throw new InputError(`unknown overpack config '${name}' (one of ${OVERPACK_NAMES.join(', ')})`);
  return overpackLayout(spec);
}

/** "w0*a2": the product lane k holds. */
export function overpackLaneName(l: OverpackLayout, k: number): string {
  const lane = l.lanes[k]!;
  return `w${lane.w}*a${lane.a}`;
}

function checkOperands(l: OverpackLayout, w: readonly number[], a: readonly number[]): void {
  if (w.length !== l.weights || a.length !== l.activations) {
    throw new InputError(`${l.name}: takes ${l.weights} weight(s) and ${l.activations} activation(s), got ${w.length} and ${a.length}`);
  }
  const check = (what: string, v: number, [lo, hi]: readonly [number, number]) => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new InputError(`${l.name}: ${what} ${v} is outside [${lo}, ${hi}]`);
  };
  w.forEach((v) => check('weight', v, l.weightRange));
  a.forEach((v) => check('activation', v, l.activationRange));
}

/** Where the new product goes: P = M, P = P + M, P = PCIN + M (as schemes.ts Accumulate). */
export type OverpackAccumulate = 'first' | 'P' | 'PCIN';
const OPMODE: Record<OverpackAccumulate, number> = { first: 0x005, P: 0x025, PCIN: 0x015 };
const OPMODE_W_C = 0x180;

/** The C port's value: B[17] sign compensation and, for 'approx', the anticipated borrows. */
export function overpackC(l: OverpackLayout, w: readonly number[], a: readonly number[], approx = false): bigint {
  let c = 0n;
  const bU = a.reduce((acc, v, i) => acc + BigInt(v) * 2n ** BigInt(i * l.spacing), 0n);
  if (l.bSignCompensation && bU >= 1n << 17n) {
    // the multiplier reads B − 2^18: add back AD · 2^18
    c += (BigInt(w[0]!) + (l.weights === 2 ? BigInt(w[1]!) << BigInt(l.activations * l.spacing) : 0n)) << 18n;
  }
  if (approx) {
    if (l.aSigned) throw new InputError(`${l.name}: the approximate correction anticipates borrows from weight signs, which needs unsigned activations`);
    for (let k = 1; k < l.lanes.length; k++) if (w[l.lanes[k - 1]!.w]! < 0) c += 1n << BigInt(l.lanes[k]!.offset);
  }
  return wrap(c, 48);
}

/** The ports of one overpacked multiply (see the header for the layout). */
export function overpackPorts(l: OverpackLayout, w: readonly number[], a: readonly number[], accumulate: OverpackAccumulate = 'first', approx = false): SlicePorts {
  checkOperands(l, w, a);
  const b = a.reduce((acc, v, i) => acc + (BigInt(v) << BigInt(i * l.spacing)), 0n);
  const c = overpackC(l, w, a, approx);
  return {
    a: wrap(BigInt(w[0]!), 30),
    d: l.weights === 2 ? wrap(BigInt(w[1]!) << BigInt(l.activations * l.spacing), 27) : 0n,
    b: wrap(b, 18),
    c,
    pcin: 0n,
    inmode: l.weights === 2 ? 0b00100 : 0b00000,
    opmode: OPMODE[accumulate] | (c !== 0n ? OPMODE_W_C : 0),
    alumode: 0,
    carryin: 0,
  };
}

/** P of one overpacked multiply through the slice model (P = M [+ C]). */
export function overpackP(l: OverpackLayout, w: readonly number[], a: readonly number[], approx = false): bigint {
  return stepSlice(overpackPorts(l, w, a, 'first', approx), 0n);
}

/** The exact products, lane by lane. */
export function exactProducts(l: OverpackLayout, w: readonly number[], a: readonly number[]): bigint[] {
  return l.lanes.map((lane) => BigInt(w[lane.w]!) * BigInt(a[lane.a]!));
}

/**
 * The correction inputs c_k of the MR modes for lane values v (products, or lane sums of a
 * chain) and field width `field`: c_k = v_(k+1) mod 2^(field − s), c_last = 0. Empty overlap
 * (field <= s) gives zeros.
 */
export function contamination(l: OverpackLayout, v: readonly bigint[], field = l.productBits): bigint[] {
  const d = field - l.spacing;
  if (2 * l.spacing <= field) throw new InputError(`${l.name}: field ${field} overlaps two lanes above it at spacing ${l.spacing}`);
  return v.map((_, k) => (d > 0 && k + 1 < v.length ? wrap(v[k + 1]!, d) : 0n));
}

/**
 * c_k of one multiply as the fabric computes it: from the low d bits of the operands only,
 * c_k = ((w_j mod 2^d) · (a_i mod 2^d)) mod 2^d for lane k+1 = (j, i). Equals contamination()
 * of the exact products (test/dsp-overpack.test.ts checks it).
 */
export function mrCorrections(l: OverpackLayout, w: readonly number[], a: readonly number[]): bigint[] {
  const d = l.overlap;
  return l.lanes.map((_, k) => {
    if (d === 0 || k + 1 >= l.lanes.length) return 0n;
    const up = l.lanes[k + 1]!;
    return wrap(wrap(BigInt(w[up.w]!), d) * wrap(BigInt(a[up.a]!), d), d);
  });
}

/**
 * Splits P into lanes (the decodes of the header). `corrections` are the c_k of the MR modes
 * (required for them, ignored otherwise); `field` is the lane field width (the product width,
 * or wider for an accumulated chain). For 'approx' pass the P computed with approx = true.
 */
export function decodeOverpacked(l: OverpackLayout, p: bigint, mode: DecodeMode, corrections?: readonly bigint[], field = l.productBits): bigint[] {
  const mr = MR_MODES.includes(mode);
  if (mr && (!corrections || corrections.length !== l.lanes.length)) {
    throw new InputError(`${l.name}: decode '${mode}' needs one correction input per lane (${l.lanes.length})`);
  }
  const s = BigInt(l.spacing);
  const f = BigInt(field);
  const out: bigint[] = [];
  for (const [k, lane] of l.lanes.entries()) {
    const off = BigInt(lane.offset);
    let bits = (p >> off) & ((1n << f) - 1n);
    if (mr) bits -= corrections![k]! << s;
    if (mode === 'exact') {
      const lower = out.reduce((acc, r, i) => acc + (r << BigInt(l.lanes[i]!.offset)), 0n);
      bits -= lower >> off; // floor(L_k / 2^off_k): BigInt >> is floor for negatives
    }
    let r = sext(bits, field);
    if ((mode === 'round' || mode === 'mr-round') && k > 0) r += (p >> (off - 1n)) & 1n;
    out.push(r);
  }
  return out;
}

/** One multiply through the slice model, decoded: the lanes and the exact products. */
export function overpackMultiply(l: OverpackLayout, w: readonly number[], a: readonly number[], mode: DecodeMode): { p: bigint; got: bigint[]; exact: bigint[] } {
  const p = overpackP(l, w, a, mode === 'approx');
  return { p, got: decodeOverpacked(l, p, mode, mrCorrections(l, w, a)), exact: exactProducts(l, w, a) };
}

/** A chain of multiplies accumulated in P (through stepSlice): P, the exact lane sums, and the fabric's c_k. */
export interface OverpackChain {
  steps: number;
  p: bigint;
  sums: bigint[];
}

/**
 * Adds one multiply to a chain: the first as P = M, then P = P + M ('P', one slice) or
 * P = PCIN + M ('PCIN', the next slice of a cascade, fed the previous P).
 */
export function stepOverpackChain(l: OverpackLayout, st: OverpackChain, w: readonly number[], a: readonly number[], via: 'P' | 'PCIN' = 'P'): OverpackChain {
  const first = st.steps === 0;
  const ports = overpackPorts(l, w, a, first ? 'first' : via);
  const p = via === 'PCIN' ? stepSlice({ ...ports, pcin: first ? 0n : st.p }, 0n) : stepSlice(ports, st.p);
  const e = exactProducts(l, w, a);
  return { steps: st.steps + 1, p, sums: st.sums.map((v, k) => v + e[k]!) };
}

export function emptyOverpackChain(l: OverpackLayout): OverpackChain {
  return { steps: 0, p: 0n, sums: l.lanes.map(() => 0n) };
}

/**
 * The fabric side of an accumulated chain's MR correction: c_k = (Σ_t e_(k+1),t) mod 2^(field − s),
 * accumulated from each multiply's low-bit products mod 2^(field − s) (never from the exact sums).
 */
export function chainCorrections(l: OverpackLayout, operands: ReadonlyArray<{ w: readonly number[]; a: readonly number[] }>, field: number): bigint[] {
  const d = field - l.spacing;
  const c = l.lanes.map(() => 0n);
  if (d <= 0) return c;
  for (const { w, a } of operands) {
    for (let k = 0; k + 1 < l.lanes.length; k++) {
      const up = l.lanes[k + 1]!;
      c[k] = wrap(c[k]! + wrap(BigInt(w[up.w]!), d) * wrap(BigInt(a[up.a]!), d), d);
    }
  }
  return c;
}

/**
 * The field width a chain of n products needs so every lane sum fits: the smallest p' with
 * n · [min product, max product] inside p' signed bits.
 */
export function chainField(l: OverpackLayout, n: number): number {
  const [wl, wh] = l.weightRange;
  const [al, ah] = l.activationRange;
  const corners = [wl * al, wl * ah, wh * al, wh * ah];
  const lo = n * Math.min(...corners);
  const hi = n * Math.max(...corners);
  let bits = 2;
  while (lo < -(2 ** (bits - 1)) || hi > 2 ** (bits - 1) - 1) bits++;
  return bits;
}

/**
 * The fast path: P and every mode's decode for one tuple, in doubles. `out[m * K + k]` gets
 * mode m's lane k value (m in DECODE_MODES order); returns P (exact, signed).
 */
export function fastEvaluator(l: OverpackLayout): (w: readonly number[], a: readonly number[], out: Float64Array) => number {
  const K = l.lanes.length;
  const lw = l.lanes.map((x) => x.w);
  const la = l.lanes.map((x) => x.a);
  const pow = l.lanes.map((x) => 2 ** x.offset);
  const powBelow = l.lanes.map((x) => (x.offset > 0 ? 2 ** (x.offset - 1) : 1));
  const F = 2 ** l.productBits;
  const half = F / 2;
  const S = 2 ** l.spacing;
  const D = 2 ** l.overlap;
  const e = new Float64Array(K);
  const mod = (x: number, m: number) => x - Math.floor(x / m) * m;
  const sx = (x: number) => (x >= half ? x - F : x);
  const modes = DECODE_MODES.length;
  const approxAt = DECODE_MODES.indexOf('approx');
  return (w, a, out) => {
    let p = 0;
    let pa = 0;
    for (let k = 0; k < K; k++) {
      e[k] = w[lw[k]!]! * a[la[k]!]!;
      p += e[k]! * pow[k]!;
      if (k > 0 && w[lw[k - 1]!]! < 0) pa += pow[k]!;
    }
    pa += p;
    let lower = 0; // Σ_(i<k) e_i·2^off_i, for 'exact'
    for (let k = 0; k < K; k++) {
      const field = mod(Math.floor(p / pow[k]!), F);
      const below = k > 0 ? mod(Math.floor(p / powBelow[k]!), 2) : 0;
      const c = D > 1 && k + 1 < K ? mod(e[k + 1]!, D) : 0;
      const naive = sx(field);
      const mr = sx(mod(field - c * S, F));
      out[0 * K + k] = naive;
      out[1 * K + k] = naive + below;
      out[2 * K + k] = mr;
      out[3 * K + k] = mr + below;
      out[4 * K + k] = sx(mod(field - c * S - Math.floor(lower / pow[k]!), F));
      out[approxAt * K + k] = sx(mod(Math.floor(pa / pow[k]!), F));
      lower += e[k]! * pow[k]!;
    }
    if (modes !== 6) throw new Error('fastEvaluator knows six decode modes');
    return p;
  };
}
