/**
 * Peak loops: how many multiply-accumulates per second one instruction path sustains on this
 * engine, with nothing else in the loop (harness/bench/peak.ts times them; docs/peak.md).
 *
 * Every loop is a 2x4 register tile: two activation vectors x0, x1 times four weight vectors
 * w0..w3 into eight independent accumulators acc[m*4+n] (eight chains cover the latency of the
 * accumulating add, or of the accumulator input of vpdpbusd). One iteration issues 8 groups:
 *
 *   PATH_DOT16X8    i32x4.add(acc, i32x4.dot_i16x8_s(x, w))                            8 MACs
 *   PATH_EXTMUL8X16 i32x4.add(acc, extadd_pairwise(extmul_low(x, w)) + (... high ...)) 16 MACs
 *   PATH_RDOT       i32x4.relaxed_dot_i8x16_i7x16_add_s(x, w, acc)                     16 MACs
 *
 * Resident loops (`peak*Resident`): the four weight vectors and the accumulators stay in
 * registers; x0 and x1 are loaded every iteration from a ring of RING steps in L1. Operands
 * that stayed in registers too would make every product loop-invariant: Node 24's optimizing
 * compiler unrolls such a loop by 4 and computes each dot product once for all four copies
 * (seen in its code), and operands made variant by arithmetic cost vector instructions or, on
 * Node 20, spills. Loading x costs no vector instruction. Load loops (`peak*Loads`): all six
 * vectors are loaded every iteration, as the kernels' 2x4 tiles do per step.
 *
 * Operands at `ops`, as the harness wrote them: RING steps of [x0 | x1], then RING steps of
 * [w0 | w1 | w2 | w3] (RING x 96 bytes); the resident loops keep the weights of step 0.
 * After `iters` iterations the eight accumulators are stored at `out` (128 bytes), so the
 * arithmetic is kept and a test can check it.
 */

export const PATH_DOT16X8: i32 = 0;
export const PATH_EXTMUL8X16: i32 = 1;
export const PATH_RDOT: i32 = 2;

/** Steps in the ring of the load loops (a power of two). */
export const RING: i32 = 16;

// @ts-ignore: decorator
@inline function mac(path: i32, acc: v128, x: v128, w: v128): v128 {
  if (path == PATH_RDOT) {
    if (ASC_FEATURE_RELAXED_SIMD) return i32x4.relaxed_dot_i8x16_i7x16_add_s(x, w, acc);
    unreachable();
  }
  if (path == PATH_EXTMUL8X16) {
    return i32x4.add(acc, i32x4.add(
      i32x4.extadd_pairwise_i16x8_s(i16x8.extmul_low_i8x16_s(x, w)),
      i32x4.extadd_pairwise_i16x8_s(i16x8.extmul_high_i8x16_s(x, w))));
  }
  return i32x4.add(acc, i32x4.dot_i16x8_s(x, w));
}

/**
 * The loop of one path; `loads` chooses the operand source. Inlined into each exported entry
 * with constant arguments, so each entry compiles to its path's instructions only.
 */
// @ts-ignore: decorator
@inline export function peakLoop(path: i32, loads: bool, ops: usize, iters: i32, out: usize): void {
  const wRing = ops + <usize>(RING * 32);
  let w0 = v128.load(wRing, 0);
  let w1 = v128.load(wRing, 16);
  let w2 = v128.load(wRing, 32);
  let w3 = v128.load(wRing, 48);
  let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
  let a4 = i32x4.splat(0), a5 = i32x4.splat(0), a6 = i32x4.splat(0), a7 = i32x4.splat(0);
  for (let i = 0; i < iters; i++) {
    const s = <usize>(i & (RING - 1));
    const xp = ops + (s << 5);
    const x0 = v128.load(xp, 0);
    const x1 = v128.load(xp, 16);
    if (loads) {
      const wp = wRing + (s << 6);
      w0 = v128.load(wp, 0);
      w1 = v128.load(wp, 16);
      w2 = v128.load(wp, 32);
      w3 = v128.load(wp, 48);
    }
    a0 = mac(path, a0, x0, w0);
    a1 = mac(path, a1, x0, w1);
    a2 = mac(path, a2, x0, w2);
    a3 = mac(path, a3, x0, w3);
    a4 = mac(path, a4, x1, w0);
    a5 = mac(path, a5, x1, w1);
    a6 = mac(path, a6, x1, w2);
    a7 = mac(path, a7, x1, w3);
  }
  v128.store(out, a0, 0);
  v128.store(out, a1, 16);
  v128.store(out, a2, 32);
  v128.store(out, a3, 48);
  v128.store(out, a4, 64);
  v128.store(out, a5, 80);
  v128.store(out, a6, 96);
  v128.store(out, a7, 112);
}
