/**
 * The ConvParams block: one struct of i32 fields that the harness writes into linear memory
 * and every kernel reads. One pointer instead of thirty arguments; the field list lives here
 * and in harness/wasm/params.ts (a test checks that the two agree).
 *
 *   field        meaning
 *   IN_H..OC     input height, width, channels; output channels
 *   K_H, K_W     kernel size;  S_H, S_W stride;  P_T, P_L, P_B, P_R padding
 *   OUT_H, OUT_W output size (the harness computes it once)
 *   X_ZP         input zero point;  Y_ZP output zero point;  Q_MIN, Q_MAX output clamp
 *   MODE         0 raw int32, 1 gemmlowp, 2 single, 3 fp32
 *   X_PTR        int8 NHWC input
 *   W_PTR        packed weights (layout is the variant's own; see its pack function)
 *   MULT_PTR     i32[OC] Q0.31 multipliers (gemmlowp, single)
 *   SHIFT_PTR    i32[OC] exponents (gemmlowp, single)
 *   SCALE_PTR    f32[OC] scales (fp32)
 *   Y_PTR        output: int8 NHWC, or int32 NHWC in raw mode
 *   SCRATCH_PTR  the variant's scratch (packed activations, row accumulators)
 *   B_PTR        int32 bias[OC] (unpacked; pack functions fold it into W_PTR)
 *   W_RAW_PTR    int8 OHWI weights (unpacked; read by pack functions and the scalar variant)
 *   DSP_SCHEME   packed-DSP kernels: 0 int8x8, 1 int8xu8, 2 wp487u8, 3 int4
 *   DSP_CHAIN    packed-DSP kernels: DSPs per cascade along input channels
 *   DSP_DECODE   packed-DSP kernels: 0 cascade, 1 tap, 2 window (see harness/dsp/packed-conv.ts)
 */
export const IN_H: i32 = 0;
export const IN_W: i32 = 1;
export const IN_C: i32 = 2;
export const OC: i32 = 3;
export const K_H: i32 = 4;
export const K_W: i32 = 5;
export const S_H: i32 = 6;
export const S_W: i32 = 7;
export const P_T: i32 = 8;
export const P_L: i32 = 9;
export const P_B: i32 = 10;
export const P_R: i32 = 11;
export const OUT_H: i32 = 12;
export const OUT_W: i32 = 13;
export const X_ZP: i32 = 14;
export const Y_ZP: i32 = 15;
export const Q_MIN: i32 = 16;
export const Q_MAX: i32 = 17;
export const MODE: i32 = 18;
export const X_PTR: i32 = 19;
export const W_PTR: i32 = 20;
export const MULT_PTR: i32 = 21;
export const SHIFT_PTR: i32 = 22;
export const SCALE_PTR: i32 = 23;
export const Y_PTR: i32 = 24;
export const SCRATCH_PTR: i32 = 25;
export const B_PTR: i32 = 26;
export const W_RAW_PTR: i32 = 27;
export const DSP_SCHEME: i32 = 28;
export const DSP_CHAIN: i32 = 29;
export const DSP_DECODE: i32 = 30;
export const FIELD_COUNT: i32 = 31;

export const MODE_RAW: i32 = 0;
export const MODE_GEMMLOWP: i32 = 1;
export const MODE_SINGLE: i32 = 2;
export const MODE_FP32: i32 = 3;

// @ts-ignore: decorator
@inline export function field(p: usize, index: i32): i32 {
  return load<i32>(p + (<usize>index << 2));
}

// @ts-ignore: decorator
@inline export function ptr(p: usize, index: i32): usize {
  return <usize>load<u32>(p + (<usize>index << 2));
}

/** Rounds n up to a multiple of m (m a power of two). */
// @ts-ignore: decorator
@inline export function roundUp(n: i32, m: i32): i32 {
  return (n + m - 1) & ~(m - 1);
}

/** Where the harness may start placing buffers. */
export function heapBase(): usize {
  return (__heap_base + 15) & ~15;
}
