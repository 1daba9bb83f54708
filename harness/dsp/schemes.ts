/**
 * DSP48E2 packing schemes: how several low-bit products share one 27x18 multiply, how the
 * 48-bit P register is split back into lanes, and how many products one P can sum before a
 * lane corrupts its neighbour. The port layouts are those of ../shared/golden/dsp48e2/README.md:
 *
 *   int8x8   Xilinx WP486/WP487: A = w1 << 18, D = w2, B = a (int8), INMODE D+A.
 *            P = (w1*2^18 + w2) * a. Two output channels share one activation.
 *   int8xu8  the same with uint8 activations (B zero-extended).
 *   wp487u8  WP487's UINT8 variant: A = {u1, 11'b0, u2}, B = w, and C = w << 27 added when
 *            u1[7] = 1 (A[26] is the sign bit, so u1 >= 128 reads as u1 - 256 without it).
 *            P = (u1*2^19 + u2) * w. Two output pixels share one weight.
 *   int4     WP521: A = w1, D = w2 << 22, B = a1 | a2 << 11 (w int4, a uint4), INMODE D+A.
 *            P = (w1 + w2*2^22) * (a1 + a2*2^11): two channels x two pixels, four products.
 *
 * Lane decode, for a lane at bit `offset` with `width` bits, is
 *   sext_width(P[offset+width-1 : offset]) + P[offset-1]     (no carry bit for the lowest lane)
 * The added bit undoes the borrow a negative lower lane takes from this one. Every lane is exact
 * while each lane's sum stays inside its signed width; past that P is still exact, and the decode
 * moves k*2^width between neighbouring lanes, which the emulation reproduces.
 */
import { type SchemeName, SCHEME_NAMES } from '../registry/codes.ts';
import { InputError } from '../util/errors.ts';
import { type SlicePorts, sext, wrap } from './slice.ts';

// The names (and their codes across the WASM boundary) are listed in the registry.
export { SCHEME_NAMES, type SchemeName };

/** One product lane of P: the product of weight `w` (0 or 1) and activation `a` (0 or 1). */
export interface Lane {
  offset: number;
  width: number;
  w: 0 | 1;
  a: 0 | 1;
}

export interface PackingScheme {
  name: SchemeName;
  title: string;
  /** Where the layout comes from. */
  source: string;
  /** Operand codes as the DSP sees them. */
  weightRange: readonly [number, number];
  activationRange: readonly [number, number];
  /** Weights and activations per DSP: products = weights * activations = lanes.length. */
  weights: 1 | 2;
  activations: 1 | 2;
  /** Lanes from the least significant up. */
  lanes: readonly Lane[];
  /** Ports of one packed multiply, OPMODE chosen by `accumulate` (see opmodeFor). */
  ports(w: readonly number[], a: readonly number[], accumulate: Accumulate): SlicePorts;
}

/** Where the new product is added: P = M, P = P + M (own P), or P = PCIN + M (cascade). */
export type Accumulate = 'first' | 'P' | 'PCIN';

const INMODE_D_PLUS_A = 0b00100;
const INMODE_A = 0b00000;
/** OPMODE = W Z Y X (UG579): X = Y = M (0101), Z = 0 / P (010) / PCIN (001), W = 0 / C (11). */
const OPMODE: Record<Accumulate, number> = { first: 0x005, P: 0x025, PCIN: 0x015 };
const OPMODE_W_C = 0x180;

function checkRange(what: string, v: number, [lo, hi]: readonly [number, number], scheme: string): void {
  if (!Number.isInteger(v) || v < lo || v > hi) {
    throw new InputError(`${scheme}: ${what} ${v} is outside [${lo}, ${hi}]`);
  }
}

function make(
  name: SchemeName,
  title: string,
  source: string,
  weightRange: readonly [number, number],
  activationRange: readonly [number, number],
  weights: 1 | 2,
  activations: 1 | 2,
  lanes: Lane[],
  build: (w: readonly number[], a: readonly number[]) => Omit<SlicePorts, 'opmode' | 'pcin' | 'alumode' | 'carryin'> & { useC?: boolean },
): PackingScheme {
  return {
    name, title, source, weightRange, activationRange, weights, activations, lanes,
    ports(w, a, accumulate) {
      if (w.length !== weights || a.length !== activations) {
        throw new InputError(`${name}: takes ${weights} weight(s) and ${activations} activation(s), got ${w.length} and ${a.length}`);
      }
      w.forEach((v) => checkRange('weight', v, weightRange, name));
      a.forEach((v) => checkRange('activation', v, activationRange, name));
      const { useC, ...p } = build(w, a);
      return { ...p, pcin: 0n, alumode: 0, carryin: 0, opmode: OPMODE[accumulate] | (useC ? OPMODE_W_C : 0) };
    },
  };
}

const B = BigInt;

export const SCHEMES: Record<SchemeName, PackingScheme> = {
  int8x8: make(
    'int8x8', 'INT8 weights x INT8 activations, two weights share one activation',
    'Xilinx WP486 (INT8 deep learning on DSP48E2), WP487 section 2',
    [-128, 127], [-128, 127], 2, 1,
    [{ offset: 0, width: 18, w: 1, a: 0 }, { offset: 18, width: 30, w: 0, a: 0 }],
    ([w1, w2], [a]) => ({ a: wrap(B(w1!) << 18n, 30), d: wrap(B(w2!), 27), b: wrap(B(a!), 18), c: 0n, inmode: INMODE_D_PLUS_A }),
  ),
  int8xu8: make(
    'int8xu8', 'INT8 weights x UINT8 activations, two weights share one activation',
    'Xilinx WP486/WP487 packing with unsigned activations (B zero-extended)',
    [-128, 127], [0, 255], 2, 1,
    [{ offset: 0, width: 18, w: 1, a: 0 }, { offset: 18, width: 30, w: 0, a: 0 }],
    ([w1, w2], [a]) => ({ a: wrap(B(w1!) << 18n, 30), d: wrap(B(w2!), 27), b: wrap(B(a!), 18), c: 0n, inmode: INMODE_D_PLUS_A }),
  ),
  wp487u8: make(
    'wp487u8', 'UINT8 activations x INT8 weight, two activations share one weight, C-port sign correction',
    'Xilinx WP487, UINT8 variant',
    [-128, 127], [0, 255], 1, 2,
    [{ offset: 0, width: 19, w: 0, a: 1 }, { offset: 19, width: 29, w: 0, a: 0 }],
    ([w], [u1, u2]) => ({
      a: wrap((B(u1!) << 19n) | B(u2!), 30),
      b: wrap(B(w!), 18),
      c: u1! >= 128 ? wrap(B(w!) << 27n, 48) : 0n,
      d: 0n,
      inmode: INMODE_A,
      useC: u1! >= 128,
    }),
  ),
  int4: make(
    'int4', 'INT4 weights x UINT4 activations, four products: two weights x two activations',
    'Xilinx WP521 (INT4 on DSP48E2)',
    [-8, 7], [0, 15], 2, 2,
    [
      { offset: 0, width: 11, w: 0, a: 0 },
      { offset: 11, width: 11, w: 0, a: 1 },
      { offset: 22, width: 11, w: 1, a: 0 },
      { offset: 33, width: 15, w: 1, a: 1 },
    ],
    ([w1, w2], [a1, a2]) => ({
      a: wrap(B(w1!), 30), d: wrap(B(w2!) << 22n, 27), b: B(a1!) | (B(a2!) << 11n), c: 0n, inmode: INMODE_D_PLUS_A,
    }),
  ),
};

export function getScheme(name: string): PackingScheme {
  const s = Object.hasOwn(SCHEMES, name) ? SCHEMES[name as SchemeName] : undefined;
  if (!s) throw new InputError(`unknown packing scheme '${name}' (one of ${SCHEME_NAMES.join(', ')})`);
  return s;
}

/** The corrected lane values of a 48-bit P. */
export function decodeLanes(scheme: PackingScheme, p: bigint): bigint[] {
  return scheme.lanes.map((l) => {
    const field = sext((p >> B(l.offset)) & ((1n << B(l.width)) - 1n), l.width);
    const borrow = l.offset > 0 ? (p >> B(l.offset - 1)) & 1n : 0n;
    return field + borrow;
  });
}

/**
 * WP521's single-multiply fields without the borrow correction: sext8 of the 8-bit fields at
 * each lane offset. Wrong whenever a lower product is negative; kept to show why the
 * correction exists (golden file int4_wp521_single.csv has both).
 */
export function decodeInt4Naive(p: bigint): bigint[] {
  return SCHEMES.int4.lanes.map((l) => sext((p >> B(l.offset)) & 0xffn, 8));
}

/** Smallest and largest product of one lane over the scheme's operand ranges. */
export function productRange(s: PackingScheme, weightRange = s.weightRange, activationRange = s.activationRange): [number, number] {
  const corners = [weightRange[0] * activationRange[0], weightRange[0] * activationRange[1],
    weightRange[1] * activationRange[0], weightRange[1] * activationRange[1]];
  return [Math.min(...corners), Math.max(...corners)];
}

/**
 * The longest sum of products every lane holds exactly: the largest n with n * [min product,
 * max product] inside each lane's signed width. With narrower operand ranges (sub-ranges of the
 * scheme's, as the DSP sees them: activations after activationOffset) the bound is that of those
 * operands, e.g. 4-bit weights in int8x8 lanes sum many more products than int8 ones.
 */
export function accumulationBound(s: PackingScheme, weightRange = s.weightRange, activationRange = s.activationRange): number {
  const [lo, hi] = productRange(s, weightRange, activationRange);
  let bound = Infinity;
  for (const l of s.lanes) {
    const half = 2 ** (l.width - 1);
    if (hi > 0) bound = Math.min(bound, Math.floor((half - 1) / hi));
    if (lo < 0) bound = Math.min(bound, Math.floor(half / -lo));
  }
  return bound;
}
