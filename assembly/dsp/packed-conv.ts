/**
 * Packed-DSP convolution: a whole layer computed as a split-convolution FPGA engine with packed
 * DSP48E2 slices computes it (the engine is defined in harness/dsp/packed-conv.ts). Bit-exact to
 * the slice model through one identity: P = sum_i S_i * 2^offset_i (mod 2^48), where S_i are the
 * exact lane sums of a decode group, so each lane's field is computable from running int32 sums
 *   T_0 = S_0,  T_i = S_i + (T_{i-1} >> width_{i-1}),  lane_i = sext_width_i(T_i) + borrow_i
 * with borrow_i the sign bit of sext(T_{i-1}) (bit offset_i - 1 of P). The tests prove every
 * kernel here equal to the slice model, including past the accumulation bound.
 *
 * Accumulators hold four output channels per vector ("lanes = output channels"), so a decode
 * group's sums need no horizontal reduction: a step multiplies one pixel's pair of input
 * channels (v128.load32_splat, int16 codes) with a pair of channels of four output channels
 * (i32x4.dot_i16x8_s). Of each 8-channel block, vector g0 holds the even channels 0,2,4,6 and
 * g1 the odd ones 1,3,5,7: the DSP pairs (2j, 2j+1) then sit in the same lane of g0 and g1,
 * and a tile of pixels (2i, 2i+1) puts DSP pixel pairs in the same lane of two pixels' vectors.
 *
 * Packed activations (int16): [inH+pT+pB][inW+pL+pR][Cg], codes x + offset, border pixels the
 * zero point's code, group padding 0. Cg = channels laid out per decode group, each group padded
 * to an even count (so a channel pair never straddles two cascades).
 * Packed weights (int16): per 8-channel block, [kH*kW][Cg/2] steps of two vectors (g0, g1),
 * then int32 bias'[OCp] (zero point folded in as the DSP sees it).
 * Scratch: packed activations | a zero "ghost" area of kH rows (the idle second pixel of an
 * odd row's last pixel pair reads it) | row accumulators [outW + 1][OCp] (the idle pixel's
 * results land in the extra slot) | requantization constants.
 */
import {
  field, ptr, roundUp, IN_H, IN_W, IN_C, OC, K_H, K_W, S_H, S_W, P_T, P_L, P_B, P_R, OUT_H, OUT_W,
  X_ZP, X_PTR, W_PTR, W_RAW_PTR, B_PTR, SCRATCH_PTR, DSP_SCHEME, DSP_CHAIN, DSP_DECODE,
  DSP_SCHEME_INT8X8, DSP_SCHEME_WP487U8, DSP_SCHEME_INT4, DSP_DECODE_CASCADE, DSP_DECODE_WINDOW,
} from '../common/params';
import { finishRow, gemmlowpConstantsBytes } from '../common/finish-row';

/** The activation code offset of a scheme (x + offset is what the DSP multiplies). */
function activationOffset(scheme: i32): i32 {
  return scheme == DSP_SCHEME_INT8X8 ? 0 : scheme == DSP_SCHEME_INT4 ? 8 : 128;
}

/** Input channels per decode group within one tap (the whole tap for 'tap' and 'window'). */
function groupLength(p: usize): i32 {
  const c = field(p, IN_C);
  return field(p, DSP_DECODE) == DSP_DECODE_CASCADE ? min(field(p, DSP_CHAIN), c) : c;
}

/** Channels per pixel in the group-padded layout. */
function paddedChannels(p: usize): i32 {
  const c = field(p, IN_C);
  const g = groupLength(p);
  const full = c / g;
  const rest = c - full * g;
  return full * roundUp(g, 2) + roundUp(rest, 2);
}

/** Position of input channel ci in the group-padded layout. */
// @ts-ignore: decorator
@inline function paddedIndex(ci: i32, g: i32): i32 {
  return (ci / g) * roundUp(g, 2) + ci % g;
}

/** Bytes of one block of nb (8 or 16) output channels' packed weights. */
function weightBlockBytes(p: usize, nb: i32): i32 {
  return field(p, K_H) * field(p, K_W) * paddedChannels(p) * nb * 2;
}

function activationBytes(p: usize): i32 {
  const hp = field(p, IN_H) + field(p, P_T) + field(p, P_B);
  const wp = field(p, IN_W) + field(p, P_L) + field(p, P_R);
  return roundUp(hp * wp * paddedChannels(p) * 2, 16);
}

function ghostBytes(p: usize): i32 {
  const wp = field(p, IN_W) + field(p, P_L) + field(p, P_R);
  return roundUp(field(p, K_H) * wp * paddedChannels(p) * 2, 16);
}

function packedBytes(p: usize, nb: i32): i32 {
  const ocp = roundUp(field(p, OC), nb);
  return (ocp / nb) * weightBlockBytes(p, nb) + ocp * 4;
}

function scratchBytes(p: usize, nb: i32): i32 {
  const rowAcc = (field(p, OUT_W) + 1) * roundUp(field(p, OC), nb) * 4;
  return activationBytes(p) + ghostBytes(p) + rowAcc + roundUp(gemmlowpConstantsBytes(field(p, OC)), 16);
}

/**
 * Weights of blocks of nb output channels; a step (one channel pair of one tap) holds nb/4
 * vectors: even then odd channels of the block's first 8, then of its second 8 (nb = 16).
 */
function pack(p: usize, nb: i32): void {
  const c = field(p, IN_C);
  const oc = field(p, OC);
  const taps = field(p, K_H) * field(p, K_W);
  const g = groupLength(p);
  const cg = paddedChannels(p);
  const ocp = roundUp(oc, nb);
  const blockBytes = weightBlockBytes(p, nb);
  const dst = ptr(p, W_PTR);
  const w = ptr(p, W_RAW_PTR);
  const zpCode = field(p, X_ZP) + activationOffset(field(p, DSP_SCHEME));
  memory.fill(dst, 0, <usize>((ocp / nb) * blockBytes));
  const biasOut = dst + <usize>((ocp / nb) * blockBytes);
  for (let o = 0; o < ocp; o++) {
    let wsum = 0;
    if (o < oc) {
      const block = dst + <usize>((o / nb) * blockBytes);
      const j = o % nb;
      const lane = (j & 7) >> 1; // lane within its vector
      const vec = ((j >> 3) << 1) + (j & 1); // even/odd channels of the first or second 8
      for (let t = 0; t < taps; t++) {
        for (let ci = 0; ci < c; ci++) {
          const v = <i32>load<i8>(w + <usize>((o * taps + t) * c + ci));
          wsum += v;
          const k = paddedIndex(ci, g);
          // step (t, k >> 1) holds nb/4 vectors; each lane two int16 (a channel pair).
          const at = block + <usize>((t * (cg >> 1) + (k >> 1)) * nb * 4 + vec * 16 + lane * 4 + (k & 1) * 2);
          store<i16>(at, <i16>v);
        }
      }
    }
    const b = o < oc ? load<i32>(ptr(p, B_PTR) + (<usize>o << 2)) : 0;
    store<i32>(biasOut + (<usize>o << 2), b - zpCode * wsum);
  }
}

function packActivations(p: usize, dst: usize, ghost: usize): void {
  const h = field(p, IN_H);
  const w = field(p, IN_W);
  const c = field(p, IN_C);
  const pt = field(p, P_T);
  const pl = field(p, P_L);
  const wp = w + pl + field(p, P_R);
  const hp = h + pt + field(p, P_B);
  const off = activationOffset(field(p, DSP_SCHEME));
  const zpCode = field(p, X_ZP) + off;
  const g = groupLength(p);
  const gp = roundUp(g, 2);
  const cg = paddedChannels(p);
  const x = ptr(p, X_PTR);
  const offv = i16x8.splat(<i16>off);
  const zpv = i16x8.splat(<i16>zpCode);
  memory.fill(ghost, 0, <usize>ghostBytes(p));
  for (let r = 0; r < hp; r++) {
    for (let col = 0; col < wp; col++) {
      const out = dst + (<usize>((r * wp + col) * cg) << 1);
      const ih = r - pt;
      const iw = col - pl;
      const inside = ih >= 0 && ih < h && iw >= 0 && iw < w;
      const src = x + <usize>((ih * w + iw) * c);
      // One run per decode group: channels [c0, c0 + len) at padded position gi * gp.
      for (let c0 = 0, d = 0; c0 < c; c0 += g, d += gp) {
        const len = min(g, c - c0);
        const o = out + (<usize>d << 1);
        let i = 0;
        if (inside) {
          for (; i + 8 <= len; i += 8) v128.store(o + (<usize>i << 1), i16x8.add(v128.load8x8_s(src + <usize>(c0 + i)), offv));
          for (; i < len; i++) store<i16>(o + (<usize>i << 1), <i16>(<i32>load<i8>(src + <usize>(c0 + i)) + off));
        } else {
          for (; i + 8 <= len; i += 8) v128.store(o + (<usize>i << 1), zpv);
          for (; i < len; i++) store<i16>(o + (<usize>i << 1), <i16>zpCode);
        }
        if (len & 1) store<i16>(o + (<usize>len << 1), 0); // the pad of an odd run
      }
    }
  }
}

// @ts-ignore: decorator
@inline function sext(v: v128, bits: i32): v128 {
  return i32x4.shr_s(i32x4.shl(v, 32 - bits), 32 - bits);
}

/** The sign bit of a sign-extended field, as 0 or 1: the borrow the next lane gives back. */
// @ts-ignore: decorator
@inline function borrow(field: v128): v128 {
  return i32x4.shr_u(field, 31);
}

/** The int8x8 tiles' group bias and low-lane mask (see tile3int8). */
const HALF = i32x4.splat(1 << 17);
const LOW18 = i32x4.splat((1 << 18) - 1);

/**
 * One output-row tile of two pixels (x0, x1) x 8 output channels, all schemes. c.. are the
 * exact sums of the current decode group, t.. the decoded totals. `out` receives 2 x 8 int32.
 */
function tile2(
  x0: usize, x1: usize, rowStride: usize, kh: i32, kw: i32, groups: i32, fullSteps: i32, lastSteps: i32,
  w: usize, out: usize, outStride: usize, bias: usize, scheme: i32, decode: i32,
): void {
  let c00 = i32x4.splat(0); let c01 = i32x4.splat(0); let c10 = i32x4.splat(0); let c11 = i32x4.splat(0);
  let t00 = i32x4.splat(0); let t01 = i32x4.splat(0); let t10 = i32x4.splat(0); let t11 = i32x4.splat(0);
  let wp = w;
  const perGroup = decode != DSP_DECODE_WINDOW;
  for (let r = 0; r < kh; r++) {
    let p0 = x0 + <usize>r * rowStride;
    let p1 = x1 + <usize>r * rowStride;
    for (let t = 0; t < kw; t++) {
      for (let gi = 0; gi < groups; gi++) {
        const steps = gi < groups - 1 ? fullSteps : lastSteps;
        for (let s = 0; s < steps; s++) {
          const a0 = v128.load32_splat(p0);
          const a1 = v128.load32_splat(p1);
          const w0 = v128.load(wp);
          const w1 = v128.load(wp, 16);
          c00 = i32x4.add(c00, i32x4.dot_i16x8_s(a0, w0));
          c01 = i32x4.add(c01, i32x4.dot_i16x8_s(a0, w1));
          c10 = i32x4.add(c10, i32x4.dot_i16x8_s(a1, w0));
          c11 = i32x4.add(c11, i32x4.dot_i16x8_s(a1, w1));
          p0 += 4;
          p1 += 4;
          wp += 32;
        }
        if (perGroup || (r == kh - 1 && t == kw - 1 && gi == groups - 1)) {
          // Decode the group's P of every DSP, lane by lane (see the file comment).
          if (scheme == DSP_SCHEME_INT4) {
            // DSP (w1 = even channel, w2 = odd; a1 = pixel 0, a2 = pixel 1): lanes w1a1, w1a2, w2a1, w2a2.
            const l0 = sext(c00, 11);
            const T1 = i32x4.add(c10, i32x4.shr_s(c00, 11));
            const f1 = sext(T1, 11);
            const T2 = i32x4.add(c01, i32x4.shr_s(T1, 11));
            const f2 = sext(T2, 11);
            const T3 = i32x4.add(c11, i32x4.shr_s(T2, 11));
            t00 = i32x4.add(t00, l0);
            t10 = i32x4.add(t10, i32x4.add(f1, borrow(l0)));
            t01 = i32x4.add(t01, i32x4.add(f2, borrow(f1)));
            t11 = i32x4.add(t11, i32x4.add(sext(T3, 15), borrow(f2)));
          } else if (scheme == DSP_SCHEME_WP487U8) {
            // DSP per channel: u1 = pixel 0 (high lane, 29 bits), u2 = pixel 1 (low lane, 19 bits).
            const lo0 = sext(c10, 19);
            t10 = i32x4.add(t10, lo0);
            t00 = i32x4.add(t00, i32x4.add(sext(i32x4.add(c00, i32x4.shr_s(c10, 19)), 29), borrow(lo0)));
            const lo1 = sext(c11, 19);
            t11 = i32x4.add(t11, lo1);
            t01 = i32x4.add(t01, i32x4.add(sext(i32x4.add(c01, i32x4.shr_s(c11, 19)), 29), borrow(lo1)));
          } else {
            // int8x8, int8xu8: DSP per pixel: w1 = even channel (high lane, 30 bits), w2 = odd (low, 18).
            const lo0 = sext(c01, 18);
            t01 = i32x4.add(t01, lo0);
            t00 = i32x4.add(t00, i32x4.add(sext(i32x4.add(c00, i32x4.shr_s(c01, 18)), 30), borrow(lo0)));
            const lo1 = sext(c11, 18);
            t11 = i32x4.add(t11, lo1);
            t10 = i32x4.add(t10, i32x4.add(sext(i32x4.add(c10, i32x4.shr_s(c11, 18)), 30), borrow(lo1)));
          }
          c00 = i32x4.splat(0); c01 = i32x4.splat(0); c10 = i32x4.splat(0); c11 = i32x4.splat(0);
        }
      }
      // The next tap of this kernel row is the next pixel: the pointers already stand there.
    }
  }
  // Even/odd channel vectors back to channel order, plus bias'.
  const b0 = v128.load(bias);
  const b1 = v128.load(bias, 16);
  v128.store(out, i32x4.add(v128.shuffle<i32>(t00, t01, 0, 4, 1, 5), b0));
  v128.store(out, i32x4.add(v128.shuffle<i32>(t00, t01, 2, 6, 3, 7), b1), 16);
  v128.store(out + outStride, i32x4.add(v128.shuffle<i32>(t10, t11, 0, 4, 1, 5), b0));
  v128.store(out + outStride, i32x4.add(v128.shuffle<i32>(t10, t11, 2, 6, 3, 7), b1), 16);
}

/**
 * int8x8 only, three pixels x 8 channels, cheaper per decode: the high lane's decode is the
 * exact sum plus the carry k = round(S2 / 2^18) (halves up) whenever its 30-bit field cannot
 * wrap, which holds for groups of at most 32767 products (|S1| + |k| < 2^29; the harness checks
 * it). So the high-lane accumulators h run on without reset and receive k; only the low lanes
 * keep a per-group sum c and a decoded total l. c starts each group at 2^17, so k = c >> 18 and
 * sext18(S2) = (c & 0x3ffff) - 2^17: two operations a lane, the 2^17s subtracted once at the
 * end (`decodes` groups per output). `pixels` (1..3) says how many are real.
 */
function tile3int8(
  x0: usize, x1: usize, x2: usize, rowStride: usize, kh: i32, kw: i32, groups: i32, fullSteps: i32, lastSteps: i32,
  w: usize, out: usize, outStride: usize, bias: usize, decode: i32, pixels: i32, decodes: i32,
): void {
  let h0 = i32x4.splat(0); let h1 = i32x4.splat(0); let h2 = i32x4.splat(0);
  let c0 = HALF; let c1 = HALF; let c2 = HALF;
  let l0 = i32x4.splat(0); let l1 = i32x4.splat(0); let l2 = i32x4.splat(0);
  let wp = w;
  const perGroup = decode != DSP_DECODE_WINDOW;
  for (let r = 0; r < kh; r++) {
    let p0 = x0 + <usize>r * rowStride;
    let p1 = x1 + <usize>r * rowStride;
    let p2 = x2 + <usize>r * rowStride;
    for (let t = 0; t < kw; t++) {
      for (let gi = 0; gi < groups; gi++) {
        const steps = gi < groups - 1 ? fullSteps : lastSteps;
        for (let s = 0; s < steps; s++) {
          const w0 = v128.load(wp);
          const w1 = v128.load(wp, 16);
          const a0 = v128.load32_splat(p0);
          h0 = i32x4.add(h0, i32x4.dot_i16x8_s(a0, w0));
          c0 = i32x4.add(c0, i32x4.dot_i16x8_s(a0, w1));
          const a1 = v128.load32_splat(p1);
          h1 = i32x4.add(h1, i32x4.dot_i16x8_s(a1, w0));
          c1 = i32x4.add(c1, i32x4.dot_i16x8_s(a1, w1));
          const a2 = v128.load32_splat(p2);
          h2 = i32x4.add(h2, i32x4.dot_i16x8_s(a2, w0));
          c2 = i32x4.add(c2, i32x4.dot_i16x8_s(a2, w1));
          p0 += 4;
          p1 += 4;
          p2 += 4;
          wp += 32;
        }
        if (perGroup || (r == kh - 1 && t == kw - 1 && gi == groups - 1)) {
          h0 = i32x4.add(h0, i32x4.shr_s(c0, 18));
          l0 = i32x4.add(l0, v128.and(c0, LOW18));
          h1 = i32x4.add(h1, i32x4.shr_s(c1, 18));
          l1 = i32x4.add(l1, v128.and(c1, LOW18));
          h2 = i32x4.add(h2, i32x4.shr_s(c2, 18));
          l2 = i32x4.add(l2, v128.and(c2, LOW18));
          c0 = HALF; c1 = HALF; c2 = HALF;
        }
      }
    }
  }
  const bias17 = i32x4.splat(decodes << 17);
  l0 = i32x4.sub(l0, bias17); l1 = i32x4.sub(l1, bias17); l2 = i32x4.sub(l2, bias17);
  const b0 = v128.load(bias);
  const b1 = v128.load(bias, 16);
  v128.store(out, i32x4.add(v128.shuffle<i32>(h0, l0, 0, 4, 1, 5), b0));
  v128.store(out, i32x4.add(v128.shuffle<i32>(h0, l0, 2, 6, 3, 7), b1), 16);
  if (pixels > 1) {
    v128.store(out + outStride, i32x4.add(v128.shuffle<i32>(h1, l1, 0, 4, 1, 5), b0));
    v128.store(out + outStride, i32x4.add(v128.shuffle<i32>(h1, l1, 2, 6, 3, 7), b1), 16);
  }
  if (pixels > 2) {
    v128.store(out + 2 * outStride, i32x4.add(v128.shuffle<i32>(h2, l2, 0, 4, 1, 5), b0));
    v128.store(out + 2 * outStride, i32x4.add(v128.shuffle<i32>(h2, l2, 2, 6, 3, 7), b1), 16);
  }
}

/**
 * int8x8 only, two pixels x 16 channels (two 8-channel blocks, weights at wA and wB): the same
 * decode as tile3int8 with more output channels per activation load. `pixels` and `blocks`
 * (1 or 2) say which results are real; the others recompute pixel 0 / block A and are dropped.
 */
function tile2x16int8(
  x0: usize, x1: usize, rowStride: usize, kh: i32, kw: i32, groups: i32, fullSteps: i32, lastSteps: i32,
  w: usize, out: usize, outStride: usize, bias: usize, decode: i32, pixels: i32, decodes: i32,
): void {
  let h00 = i32x4.splat(0); let h01 = i32x4.splat(0); let h10 = i32x4.splat(0); let h11 = i32x4.splat(0);
  let c00 = HALF; let c01 = HALF; let c10 = HALF; let c11 = HALF;
  // The low-lane totals wait in the tile's own output slots (pixel m, block j at out + m*outStride
  // + 32j), starting at -2^17 per decode: 12 live vectors instead of 16 leave room in x86's 16
  // registers for the activations and weights.
  const lowStart = i32x4.splat(-(decodes << 17));
  const o1 = out + outStride;
  v128.store(out, lowStart); v128.store(out, lowStart, 32); v128.store(o1, lowStart); v128.store(o1, lowStart, 32);
  let pa = w;
  const perGroup = decode != DSP_DECODE_WINDOW;
  for (let r = 0; r < kh; r++) {
    let p0 = x0 + <usize>r * rowStride;
    let p1 = x1 + <usize>r * rowStride;
    for (let t = 0; t < kw; t++) {
      for (let gi = 0; gi < groups; gi++) {
        const steps = gi < groups - 1 ? fullSteps : lastSteps;
        for (let s = 0; s < steps; s++) {
          const a0 = v128.load32_splat(p0);
          const a1 = v128.load32_splat(p1);
          const wh0 = v128.load(pa);
          h00 = i32x4.add(h00, i32x4.dot_i16x8_s(a0, wh0));
          h10 = i32x4.add(h10, i32x4.dot_i16x8_s(a1, wh0));
          const wl0 = v128.load(pa, 16);
          c00 = i32x4.add(c00, i32x4.dot_i16x8_s(a0, wl0));
          c10 = i32x4.add(c10, i32x4.dot_i16x8_s(a1, wl0));
          const wh1 = v128.load(pa, 32);
          h01 = i32x4.add(h01, i32x4.dot_i16x8_s(a0, wh1));
          h11 = i32x4.add(h11, i32x4.dot_i16x8_s(a1, wh1));
          const wl1 = v128.load(pa, 48);
          c01 = i32x4.add(c01, i32x4.dot_i16x8_s(a0, wl1));
          c11 = i32x4.add(c11, i32x4.dot_i16x8_s(a1, wl1));
          p0 += 4;
          p1 += 4;
          pa += 64;
        }
        if (perGroup || (r == kh - 1 && t == kw - 1 && gi == groups - 1)) {
          h00 = i32x4.add(h00, i32x4.shr_s(c00, 18));
          h01 = i32x4.add(h01, i32x4.shr_s(c01, 18));
          h10 = i32x4.add(h10, i32x4.shr_s(c10, 18));
          h11 = i32x4.add(h11, i32x4.shr_s(c11, 18));
          v128.store(out, i32x4.add(v128.load(out), v128.and(c00, LOW18)));
          v128.store(out, i32x4.add(v128.load(out, 32), v128.and(c01, LOW18)), 32);
          v128.store(o1, i32x4.add(v128.load(o1), v128.and(c10, LOW18)));
          v128.store(o1, i32x4.add(v128.load(o1, 32), v128.and(c11, LOW18)), 32);
          c00 = HALF; c01 = HALF; c10 = HALF; c11 = HALF;
        }
      }
    }
  }
  const l00 = v128.load(out); const l01 = v128.load(out, 32); const l10 = v128.load(o1); const l11 = v128.load(o1, 32);
  // Pixel m, block j: channels 8j..8j+7 at out + m*outStride + 32j.
  v128.store(out, i32x4.add(v128.shuffle<i32>(h00, l00, 0, 4, 1, 5), v128.load(bias)));
  v128.store(out, i32x4.add(v128.shuffle<i32>(h00, l00, 2, 6, 3, 7), v128.load(bias, 16)), 16);
  v128.store(out, i32x4.add(v128.shuffle<i32>(h01, l01, 0, 4, 1, 5), v128.load(bias, 32)), 32);
  v128.store(out, i32x4.add(v128.shuffle<i32>(h01, l01, 2, 6, 3, 7), v128.load(bias, 48)), 48);
  if (pixels > 1) {
    v128.store(o1, i32x4.add(v128.shuffle<i32>(h10, l10, 0, 4, 1, 5), v128.load(bias)));
    v128.store(o1, i32x4.add(v128.shuffle<i32>(h10, l10, 2, 6, 3, 7), v128.load(bias, 16)), 16);
    v128.store(o1, i32x4.add(v128.shuffle<i32>(h11, l11, 0, 4, 1, 5), v128.load(bias, 32)), 32);
    v128.store(o1, i32x4.add(v128.shuffle<i32>(h11, l11, 2, 6, 3, 7), v128.load(bias, 48)), 48);
  }
}

/** The loop over rows, 8-channel blocks and pixel tiles shared by both kernels. */
function run(p: usize, fast: bool, nb: i32): void {
  const fast16 = nb == 16;
  const hp = field(p, IN_H) + field(p, P_T) + field(p, P_B);
  const wp = field(p, IN_W) + field(p, P_L) + field(p, P_R);
  const kh = field(p, K_H);
  const kw = field(p, K_W);
  const outH = field(p, OUT_H);
  const outW = field(p, OUT_W);
  const ocp = roundUp(field(p, OC), nb);
  const c = field(p, IN_C);
  const g = groupLength(p);
  const groups = (c + g - 1) / g;
  const fullSteps = roundUp(g, 2) >> 1;
  const lastSteps = roundUp(c - (groups - 1) * g, 2) >> 1;
  const cg = paddedChannels(p);
  const pixBytes = <usize>cg << 1;
  const rowStride = <usize>wp * pixBytes;
  const pixStride = <usize>field(p, S_W) * pixBytes;
  const outStride = <usize>ocp << 2;
  const blockBytes = <usize>weightBlockBytes(p, nb);
  const weights = ptr(p, W_PTR);
  const bias = weights + <usize>(ocp / nb) * blockBytes;
  const act = ptr(p, SCRATCH_PTR);
  const ghost = act + <usize>activationBytes(p);
  const rowAcc = ghost + <usize>ghostBytes(p);
  const consts = rowAcc + <usize>((outW + 1) * ocp * 4);
  const scheme = field(p, DSP_SCHEME);
  const decode = field(p, DSP_DECODE);
  const decodes = decode == DSP_DECODE_WINDOW ? 1 : kh * kw * groups;
  packActivations(p, act, ghost);
  for (let oh = 0; oh < outH; oh++) {
    const xRow = act + <usize>(oh * field(p, S_H)) * rowStride;
    if (fast16) {
      for (let ob = 0; ob < ocp / 16; ob++) {
        const wb = weights + <usize>ob * blockBytes;
        const out = rowAcc + (<usize>(ob * 16) << 2);
        const b = bias + (<usize>(ob * 16) << 2);
        for (let ow = 0; ow < outW; ow += 2) {
          const x0 = xRow + <usize>ow * pixStride;
          const n = min(2, outW - ow);
          const x1 = n > 1 ? x0 + pixStride : x0;
          tile2x16int8(x0, x1, rowStride, kh, kw, groups, fullSteps, lastSteps, wb, out + <usize>ow * outStride, outStride, b, decode, n, decodes);
        }
      }
      finishRow(p, rowAcc, ocp, oh, consts);
      continue;
    }
    for (let ob = 0; ob < ocp / 8; ob++) {
      const wb = weights + <usize>ob * blockBytes;
      const out = rowAcc + (<usize>(ob * 8) << 2);
      const b = bias + (<usize>(ob * 8) << 2);
      if (fast) {
        for (let ow = 0; ow < outW; ow += 3) {
          const x0 = xRow + <usize>ow * pixStride;
          const n = min(3, outW - ow);
          // Missing pixels of the last tile recompute pixel 0; their results are not stored.
          const x1 = n > 1 ? x0 + pixStride : x0;
          const x2 = n > 2 ? x0 + 2 * pixStride : x0;
          tile3int8(x0, x1, x2, rowStride, kh, kw, groups, fullSteps, lastSteps, wb, out + <usize>ow * outStride, outStride, b, decode, n, decodes);
        }
      } else {
        for (let ow = 0; ow < outW; ow += 2) {
          const x0 = xRow + <usize>ow * pixStride;
          // The second pixel of a pair past the row's end is an idle DSP input: zeros.
          const x1 = ow + 1 < outW ? x0 + pixStride : ghost;
          tile2(x0, x1, rowStride, kh, kw, groups, fullSteps, lastSteps, wb, out + <usize>ow * outStride, outStride, b, scheme, decode);
        }
      }
    }
    finishRow(p, rowAcc, ocp, oh, consts);
  }
}

// The two registered variants (harness/registry/dspconv.ts): same packing, different tiles.
export function qs8_dsppack_conv_2x8c2__wasmsimd_dot16x8_packed_bytes(p: usize): i32 { return packedBytes(p, 8); }
export function qs8_dsppack_conv_2x8c2__wasmsimd_dot16x8_scratch_bytes(p: usize): i32 { return scratchBytes(p, 8); }
export function qs8_dsppack_conv_2x8c2__wasmsimd_dot16x8_pack(p: usize): void { pack(p, 8); }
export function qs8_dsppack_conv_2x8c2__wasmsimd_dot16x8_run(p: usize): void { run(p, false, 8); }

export function qs8_dsppack_conv_3x8c2__wasmsimd_dot16x8_int8x8_packed_bytes(p: usize): i32 { return packedBytes(p, 8); }
export function qs8_dsppack_conv_3x8c2__wasmsimd_dot16x8_int8x8_scratch_bytes(p: usize): i32 { return scratchBytes(p, 8); }
export function qs8_dsppack_conv_3x8c2__wasmsimd_dot16x8_int8x8_pack(p: usize): void { pack(p, 8); }
export function qs8_dsppack_conv_3x8c2__wasmsimd_dot16x8_int8x8_run(p: usize): void { run(p, true, 8); }

export function qs8_dsppack_conv_2x16c2__wasmsimd_dot16x8_int8x8_packed_bytes(p: usize): i32 { return packedBytes(p, 16); }
export function qs8_dsppack_conv_2x16c2__wasmsimd_dot16x8_int8x8_scratch_bytes(p: usize): i32 { return scratchBytes(p, 16); }
export function qs8_dsppack_conv_2x16c2__wasmsimd_dot16x8_int8x8_pack(p: usize): void { pack(p, 16); }
export function qs8_dsppack_conv_2x16c2__wasmsimd_dot16x8_int8x8_run(p: usize): void { run(p, true, 16); }
