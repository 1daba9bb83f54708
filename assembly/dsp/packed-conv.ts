/**
 * Packed-DSP convolution: a whole layer computed as a split-convolution FPGA engine with packed
 * DSP48E2 slices computes it (the engine is defined in harness/dsp/packed-conv.ts). This file
 * holds what every kernel shares: the layouts, the packing and the lane-decode helpers. The
 * kernels themselves (register tiles and the loops that call them) are generated into gen/ from
 * harness/registry/dspconv.ts by scripts/gen-dsppack.ts.
 *
 * Bit-exact to the slice model through one identity: P = sum_i S_i * 2^offset_i (mod 2^48), where
 * S_i are the exact lane sums of a decode group, so each lane's field is computable from running
 * int32 sums
 *   T_0 = S_0,  T_i = S_i + (T_{i-1} >> width_{i-1}),  lane_i = sext_width_i(T_i) + borrow_i
 * with borrow_i the sign bit of sext(T_{i-1}) (bit offset_i - 1 of P). The tests prove every
 * kernel equal to the slice model, including past the accumulation bound.
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
 * Packed weights (int16): per block of NR output channels, [kH*kW][Cg/2] steps of NR/4 vectors
 * (g0, g1 of each 8 channels), then int32 bias'[OCp] (zero point folded in as the DSP sees it).
 * Scratch: packed activations | a zero "ghost" area of kH rows (idle pixels of a row's last tile
 * read it, so a DSP pair's other pixel sees zeros) | row accumulators [outW + spare][OCp] (the
 * idle pixels' results land in the spare rows) | requantization constants.
 */
import {
  field, ptr, roundUp, IN_H, IN_W, IN_C, OC, K_H, K_W, P_T, P_L, P_B, P_R, OUT_W,
  X_ZP, X_PTR, W_PTR, W_RAW_PTR, B_PTR, DSP_SCHEME, DSP_CHAIN, DSP_DECODE,
  DSP_SCHEME_INT8X8, DSP_SCHEME_INT4, DSP_DECODE_CASCADE,
} from '../common/params';
import { gemmlowpConstantsBytes } from '../common/finish-row';

/** The activation code offset of a scheme (x + offset is what the DSP multiplies). */
function activationOffset(scheme: i32): i32 {
  return scheme == DSP_SCHEME_INT8X8 ? 0 : scheme == DSP_SCHEME_INT4 ? 8 : 128;
}

/** Input channels per decode group within one tap (the whole tap for 'tap' and 'window'). */
export function groupLength(p: usize): i32 {
  const c = field(p, IN_C);
  return field(p, DSP_DECODE) == DSP_DECODE_CASCADE ? min(field(p, DSP_CHAIN), c) : c;
}

/** Channels per pixel in the group-padded layout. */
export function paddedChannels(p: usize): i32 {
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

/** Bytes of one block of nb (a multiple of 8) output channels' packed weights. */
export function weightBlockBytes(p: usize, nb: i32): i32 {
  return field(p, K_H) * field(p, K_W) * paddedChannels(p) * nb * 2;
}

export function activationBytes(p: usize): i32 {
  const hp = field(p, IN_H) + field(p, P_T) + field(p, P_B);
  const wp = field(p, IN_W) + field(p, P_L) + field(p, P_R);
  return roundUp(hp * wp * paddedChannels(p) * 2, 16);
}

export function ghostBytes(p: usize): i32 {
  const wp = field(p, IN_W) + field(p, P_L) + field(p, P_R);
  return roundUp(field(p, K_H) * wp * paddedChannels(p) * 2, 16);
}

export function packedBytes(p: usize, nb: i32): i32 {
  const ocp = roundUp(field(p, OC), nb);
  return (ocp / nb) * weightBlockBytes(p, nb) + ocp * 4;
}

/** Scratch of a kernel with nb-channel blocks whose last tile of a row may write `spare` idle pixels. */
export function scratchBytes(p: usize, nb: i32, spare: i32): i32 {
  return activationBytes(p) + ghostBytes(p) + threadScratchBytes(p, nb, spare);
}

/** The scratch's tail each thread has a copy of: row accumulators | requantization constants. */
export function threadScratchBytes(p: usize, nb: i32, spare: i32): i32 {
  const rowAcc = (field(p, OUT_W) + spare) * roundUp(field(p, OC), nb) * 4;
  return rowAcc + roundUp(gemmlowpConstantsBytes(field(p, OC)), 16);
}

/**
 * Weights of blocks of nb output channels; a step (one channel pair of one tap) holds nb/4
 * vectors: even then odd channels of the block's first 8, then of its next 8, and so on.
 */
export function pack(p: usize, nb: i32): void {
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
      const vec = ((j >> 3) << 1) + (j & 1); // even/odd channels of its 8
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

/**
 * Packs the padded input rows [r0, r1) (threads pack a band each); the band that starts at row 0
 * also clears the ghost rows.
 */
export function packActivations(p: usize, dst: usize, ghost: usize, r0: i32, r1: i32): void {
  const h = field(p, IN_H);
  const w = field(p, IN_W);
  const c = field(p, IN_C);
  const pt = field(p, P_T);
  const pl = field(p, P_L);
  const wp = w + pl + field(p, P_R);
  const off = activationOffset(field(p, DSP_SCHEME));
  const zpCode = field(p, X_ZP) + off;
  const g = groupLength(p);
  const gp = roundUp(g, 2);
  const cg = paddedChannels(p);
  const x = ptr(p, X_PTR);
  const offv = i16x8.splat(<i16>off);
  const zpv = i16x8.splat(<i16>zpCode);
  if (r0 == 0 && r1 > 0) memory.fill(ghost, 0, <usize>ghostBytes(p));
  for (let r = r0; r < r1; r++) {
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
@inline export function sext(v: v128, bits: i32): v128 {
  return i32x4.shr_s(i32x4.shl(v, 32 - bits), 32 - bits);
}

/** The sign bit of a sign-extended field, as 0 or 1: the borrow the next lane gives back. */
// @ts-ignore: decorator
@inline export function borrow(field: v128): v128 {
  return i32x4.shr_u(field, 31);
}

