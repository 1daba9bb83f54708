/**
 * qs8_splitconv_minmax_1x1c1__scalar_loops: the scalar baseline, written as the split
 * convolution is defined: for every output pixel, each kernel tap contributes one
 * channel-wise inner product, and the K² products are accumulated pixel-wise.
 * Padded taps are skipped (they would contribute (zp - zp) * w = 0).
 *
 * Packed weights: int32 bias[OC], then the OHWI int8 weights as given.
 * Scratch: int32 row accumulators [outW][OC].
 */
import {
  field, ptr, IN_H, IN_W, IN_C, OC, K_H, K_W, S_H, S_W, P_T, P_L, OUT_H, OUT_W, X_ZP, X_PTR,
  W_PTR, SCRATCH_PTR, B_PTR, W_RAW_PTR,
} from '../common/params';
import { finishRowScalar } from '../common/requant';

export function qs8_splitconv_minmax_1x1c1__scalar_loops_packed_bytes(p: usize): i32 {
  return field(p, OC) * 4 + field(p, OC) * field(p, K_H) * field(p, K_W) * field(p, IN_C);
}

export function qs8_splitconv_minmax_1x1c1__scalar_loops_scratch_bytes(p: usize): i32 {
  return field(p, OUT_W) * field(p, OC) * 4;
}

export function qs8_splitconv_minmax_1x1c1__scalar_loops_pack(p: usize): void {
  const oc = field(p, OC);
  const dst = ptr(p, W_PTR);
  memory.copy(dst, ptr(p, B_PTR), <usize>oc << 2);
  memory.copy(dst + (<usize>oc << 2), ptr(p, W_RAW_PTR), <usize>(oc * field(p, K_H) * field(p, K_W) * field(p, IN_C)));
}

/** A thread's own scratch (threaded runs): its row accumulators. */
export function qs8_splitconv_minmax_1x1c1__scalar_loops_thread_bytes(p: usize): i32 {
  return field(p, OUT_W) * field(p, OC) * 4;
}

/** Nothing to pack: the kernel reads the input as it is (the threaded runner's first phase). */
export function qs8_splitconv_minmax_1x1c1__scalar_loops_pack_rows(p: usize, r0: i32, r1: i32): void {}

export function qs8_splitconv_minmax_1x1c1__scalar_loops_run(p: usize): void {
  qs8_splitconv_minmax_1x1c1__scalar_loops_rows(p, 0, field(p, OUT_H), ptr(p, SCRATCH_PTR));
}

/** Output rows [oh0, oh1) with the row accumulators at `acc` (thread_bytes). */
export function qs8_splitconv_minmax_1x1c1__scalar_loops_rows(p: usize, oh0: i32, oh1: i32, acc: usize): void {
  const h = field(p, IN_H);
  const w = field(p, IN_W);
  const c = field(p, IN_C);
  const oc = field(p, OC);
  const kh = field(p, K_H);
  const kw = field(p, K_W);
  const sh = field(p, S_H);
  const sw = field(p, S_W);
  const pt = field(p, P_T);
  const pl = field(p, P_L);
  const outW = field(p, OUT_W);
  const zp = field(p, X_ZP);
  const x = ptr(p, X_PTR);
  const bias = ptr(p, W_PTR);
  const weights = bias + (<usize>oc << 2);
  for (let oh = oh0; oh < oh1; oh++) {
    for (let ow = 0; ow < outW; ow++) {
      const accPixel = acc + (<usize>(ow * oc) << 2);
      for (let o = 0; o < oc; o++) store<i32>(accPixel + (<usize>o << 2), load<i32>(bias + (<usize>o << 2)));
      for (let r = 0; r < kh; r++) {
        const ih = oh * sh + r - pt;
        if (ih < 0 || ih >= h) continue;
        for (let t = 0; t < kw; t++) {
          const iw = ow * sw + t - pl;
          if (iw < 0 || iw >= w) continue;
          const xp = x + <usize>((ih * w + iw) * c);
          // One tap: the channel-wise inner product for every output channel.
          for (let o = 0; o < oc; o++) {
            const wp = weights + <usize>(((o * kh + r) * kw + t) * c);
            let dot = 0;
            for (let ci = 0; ci < c; ci++) {
              dot += (<i32>load<i8>(xp + <usize>ci) - zp) * <i32>load<i8>(wp + <usize>ci);
            }
            const a = accPixel + (<usize>o << 2);
            store<i32>(a, load<i32>(a) + dot);
          }
        }
      }
    }
    finishRowScalar(p, acc, oc, oh);
  }
}
