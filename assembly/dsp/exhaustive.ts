/**
 * Exhaustive exactness of the DSP48E2 packing schemes: every operand tuple of one packed
 * multiply goes through the slice datapath (written in i64, mirroring harness/dsp/slice.ts for
 * the ports these layouts produce) and its lanes are decoded and compared with the exact products.
 * Driven by harness/exactness/datapath.ts, which first checks dsp_packed_p against the BigInt slice
 * model (stepSlice) and the golden rows before trusting any count this file returns.
 *
 * Port layouts (harness/dsp/schemes.ts is the definition; the DSP_LAYOUT_* ids come from
 * harness/registry/codes.ts through ../common/codes):
 *
 *   INT8   int8x8, int8xu8  A = w0 << 18, D = w1, B = a0, INMODE 00100 (D + A)
 *   WP487  wp487u8          A = {a0, 11'b0, a1}, B = w0, INMODE 00000 (A),
 *                           C = w0 << 27 through W (OPMODE W = 11) when a0[7] = 1
 *   INT4   int4             A = w0, D = w1 << 22, B = a0 | a1 << 11, INMODE 00100 (D + A)
 *
 * The lane rule and the operand ranges are not repeated here: the harness writes them from the
 * scheme into a descriptor, so the decode is the scheme's own. Descriptor (i32 words):
 *
 *   desc +  0  weights (1 or 2)        +  4  activations (1 or 2)
 *        +  8  weight min   + 12 weight max   + 16 activation min   + 20 activation max
 *        + 24  lane count n (1..4)
 *        + 28 + 20*i  lane i: offset | width | borrow (1: add P[offset-1]) | w (0/1) | a (0/1)
 *
 * Result block written by dsp_exhaustive:
 *
 *   out +  0  i64 mismatching tuples     +  8  i64 tuples enumerated
 *       + 16  i32 w0 | w1 | a0 | a1 of the first mismatch (unused operands 0)
 *       + 32  i32 its first wrong lane   + 40  i64 its P   + 48  i64 got   + 56  i64 want
 */

import { DSP_LAYOUT_INT8, DSP_LAYOUT_WP487 } from '../common/codes';

const MASK18: i64 = (1 << 18) - 1;
const MASK27: i64 = (1 << 27) - 1;
const MASK30: i64 = (1 << 30) - 1;
const MASK48: i64 = (1 << 48) - 1;

const INMODE_A: i32 = 0b00000;
const INMODE_D_PLUS_A: i32 = 0b00100;

const LANE_BASE: usize = 28;
const LANE_BYTES: usize = 20;
const MAX_LANES: i32 = 4;

/** Two's-complement reading of the low `bits` bits of x (slice.ts `sext`). */
// @ts-ignore: decorator
@inline function sext(x: i64, bits: i32): i64 {
  const s = <i64>(64 - bits);
  return (x << s) >> s;
}

/**
 * One clock of the slice with P = W + M (OPMODE X = Y = M, Z = 0, W = 0 or C; ALUMODE 0000,
 * CARRYIN 0), from unsigned port patterns: slice.ts preAdder, multiply and alu in i64.
 */
// @ts-ignore: decorator
@inline function sliceP(a: i64, b: i64, c: i64, d: i64, inmode: i32, wIsC: bool): i64 {
  const aIn: i64 = (inmode & 0b00010) != 0 ? 0 : sext(a, 27); // A[29:27] never reach the pre-adder
  const dIn: i64 = (inmode & 0b00100) != 0 ? sext(d, 27) : 0;
  const ad = sext((inmode & 0b01000) != 0 ? dIn - aIn : dIn + aIn, 27); // 27-bit pre-adder, wraps
  const m = ad * sext(b, 18); // 27x18 signed: 45 bits, exact in i64
  const w: i64 = wIsC ? c : 0;
  return (w + m) & MASK48;
}

/** P of one packed multiply (the scheme's ports with accumulate = 'first'). */
// @ts-ignore: decorator
@inline function packedP(layout: i32, w0: i32, w1: i32, a0: i32, a1: i32): i64 {
  if (layout == DSP_LAYOUT_INT8) {
    return sliceP((<i64>w0 << 18) & MASK30, <i64>a0 & MASK18, 0, <i64>w1 & MASK27, INMODE_D_PLUS_A, false);
  }
  if (layout == DSP_LAYOUT_WP487) {
    const fix = (a0 & 0x80) != 0;
    const c: i64 = fix ? (<i64>w0 << 27) & MASK48 : 0;
    return sliceP(((<i64>a0 << 19) | <i64>a1) & MASK30, <i64>w0 & MASK18, c, 0, INMODE_A, fix);
  }
  return sliceP(<i64>w0 & MASK30, (<i64>a0 | (<i64>a1 << 11)) & MASK18, 0, (<i64>w1 << 22) & MASK27, INMODE_D_PLUS_A, false);
}

/** Lane decode: sext_width(P[offset+width-1 : offset]) + P[offset-1] when `borrow`. */
// @ts-ignore: decorator
@inline function laneValue(p: i64, offset: i32, width: i32, borrow: bool): i64 {
  let v = sext(p >> <i64>offset, width);
  if (borrow) v += (p >> <i64>(offset - 1)) & 1;
  return v;
}

/** P (48-bit pattern) of one packed multiply in the given layout; unused operands are ignored. */
export function dsp_packed_p(layout: i32, w0: i32, w1: i32, a0: i32, a1: i32): i64 {
  return packedP(layout, w0, w1, a0, a1);
}

/** Lane `lane` of P decoded with the descriptor's rule. */
export function dsp_decode_lane(p: i64, desc: usize, lane: i32): i64 {
  const e = desc + LANE_BASE + <usize>lane * LANE_BYTES;
  return laneValue(p, load<i32>(e, 0), load<i32>(e, 4), load<i32>(e, 8) != 0);
}

/**
 * Every operand tuple of the descriptor's ranges through the layout; returns how many tuples
 * decode with at least one wrong lane and fills the result block (see the file comment).
 */
export function dsp_exhaustive(layout: i32, desc: usize, out: usize): i32 {
  const twoW = load<i32>(desc, 0) > 1;
  const twoA = load<i32>(desc, 4) > 1;
  const wLo = load<i32>(desc, 8);
  const wHi = load<i32>(desc, 12);
  const aLo = load<i32>(desc, 16);
  const aHi = load<i32>(desc, 20);
  const n = min(load<i32>(desc, 24), MAX_LANES);

  // The lane table in locals (up to four lanes; unused ones are skipped by `n`).
  const e0 = desc + LANE_BASE;
  const e1 = e0 + LANE_BYTES;
  const e2 = e1 + LANE_BYTES;
  const e3 = e2 + LANE_BYTES;
  const o0 = load<i32>(e0, 0), b0 = load<i32>(e0, 4), c0 = load<i32>(e0, 8) != 0, sw0 = load<i32>(e0, 12), sa0 = load<i32>(e0, 16);
  const o1 = load<i32>(e1, 0), b1 = load<i32>(e1, 4), c1 = load<i32>(e1, 8) != 0, sw1 = load<i32>(e1, 12), sa1 = load<i32>(e1, 16);
  const o2 = load<i32>(e2, 0), b2 = load<i32>(e2, 4), c2 = load<i32>(e2, 8) != 0, sw2 = load<i32>(e2, 12), sa2 = load<i32>(e2, 16);
  const o3 = load<i32>(e3, 0), b3 = load<i32>(e3, 4), c3 = load<i32>(e3, 8) != 0, sw3 = load<i32>(e3, 12), sa3 = load<i32>(e3, 16);

  let mismatches: i32 = 0;
  let cases: i64 = 0;
  const w1Lo = twoW ? wLo : 0;
  const w1Hi = twoW ? wHi : 0;
  const a1Lo = twoA ? aLo : 0;
  const a1Hi = twoA ? aHi : 0;
  for (let w0 = wLo; w0 <= wHi; w0++) {
    for (let w1 = w1Lo; w1 <= w1Hi; w1++) {
      for (let a0 = aLo; a0 <= aHi; a0++) {
        for (let a1 = a1Lo; a1 <= a1Hi; a1++) {
          const p = packedP(layout, w0, w1, a0, a1);
          cases++;
          for (let l = 0; l < n; l++) {
            let got: i64;
            let want: i64;
            if (l == 0) {
              got = laneValue(p, o0, b0, c0);
              want = <i64>(sw0 ? w1 : w0) * <i64>(sa0 ? a1 : a0);
            } else if (l == 1) {
              got = laneValue(p, o1, b1, c1);
              want = <i64>(sw1 ? w1 : w0) * <i64>(sa1 ? a1 : a0);
            } else if (l == 2) {
              got = laneValue(p, o2, b2, c2);
              want = <i64>(sw2 ? w1 : w0) * <i64>(sa2 ? a1 : a0);
            } else {
              got = laneValue(p, o3, b3, c3);
              want = <i64>(sw3 ? w1 : w0) * <i64>(sa3 ? a1 : a0);
            }
            if (got != want) {
              if (mismatches == 0) {
                store<i32>(out, w0, 16);
                store<i32>(out, w1, 20);
                store<i32>(out, a0, 24);
                store<i32>(out, a1, 28);
                store<i32>(out, l, 32);
                store<i64>(out, p, 40);
                store<i64>(out, got, 48);
                store<i64>(out, want, 56);
              }
              mismatches++;
              break;
            }
          }
        }
      }
    }
  }
  store<i64>(out, <i64>mismatches, 0);
  store<i64>(out, cases, 8);
  return mismatches;
}
