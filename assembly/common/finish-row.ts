/**
 * Writes one output row from the row accumulators, four output channels per vector:
 * raw copies, fp32 and gemmlowp in SIMD, bit-exact to the scalar definitions in ./requant;
 * `single` and channel remainders (OC % 4) go through the scalar code.
 */
import {
  field, ptr, MODE, MODE_FP32, MODE_GEMMLOWP, MODE_RAW, OC, OUT_W, Y_PTR, Y_ZP, Q_MIN, Q_MAX, MULT_PTR, SHIFT_PTR,
  SCALE_PTR,
} from './params';
import { finishRowScalar, requantFp32, multiplyGemmlowp, clampAddZeroPoint } from './requant';

/** fp32: f32(acc) * scale, clamped in float, rounded half to even (f32x4.nearest). */
// @ts-ignore: decorator
@inline function fp32x4(acc: v128, scale: v128, lo: v128, hi: v128, zp: v128): v128 {
  let f = f32x4.mul(f32x4.convert_i32x4_s(acc), scale);
  f = f32x4.min(f32x4.max(f, lo), hi);
  return i32x4.add(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f)), zp);
}

/**
 * gemmlowp on two lanes held as i64: x (already shifted left) times the Q0.31 multiplier m,
 * SaturatingRoundingDoublingHighMul (round(x*m / 2^31), C++ truncating division), then
 * RoundingDivideByPOT by the lane's exponent e, computed as floor((q + c) / 2^e) with
 * c = 2^(e-1) - [q < 0] (0 when e = 0); the per-lane division is a multiply by 2^(31-e)
 * and a shift by 31, since WebAssembly SIMD shifts only by one amount for all lanes.
 */
// @ts-ignore: decorator
@inline function gemmlowpX2(ab: v128, half: v128, negAdj: v128, pow: v128): v128 {
  const sign = i64x2.shr_s(ab, 63);
  const s = i64x2.add(ab, i64x2.add(i64x2.splat(1 << 30), v128.and(sign, i64x2.splat(1 - (<i64>1 << 31)))));
  const q = i64x2.shr_s(i64x2.add(s, v128.and(i64x2.shr_s(s, 63), i64x2.splat((<i64>1 << 31) - 1))), 31);
  const v = i64x2.sub(i64x2.add(q, half), v128.and(i64x2.shr_s(q, 63), negAdj));
  return i64x2.shr_s(i64x2.mul(v, pow), 31);
}

/**
 * Per-channel constants of the gemmlowp path, derived from (multiplier, shift) on every call:
 * [OC] i32 2^left | [OC] i64 half | [OC] i64 negAdj | [OC] i64 2^(31-e). 28 bytes a channel.
 */
export function gemmlowpConstantsBytes(oc: i32): i32 {
  return oc * 28;
}

function prepareGemmlowp(p: usize, dst: usize): void {
  const oc = field(p, OC);
  const shifts = ptr(p, SHIFT_PTR);
  for (let c = 0; c < oc; c++) {
    const shift = load<i32>(shifts + (<usize>c << 2));
    const left = shift > 0 ? shift : 0;
    const e = shift > 0 ? 0 : -shift;
    store<i32>(dst + (<usize>c << 2), 1 << left);
    store<i64>(dst + <usize>(oc * 4 + c * 8), e > 0 ? <i64>1 << (e - 1) : 0);
    store<i64>(dst + <usize>(oc * 12 + c * 8), e > 0 ? 1 : 0);
    store<i64>(dst + <usize>(oc * 20 + c * 8), <i64>1 << (31 - e));
  }
}

/**
 * Fills `consts` for a thread whose first row is not row 0 (finishRow fills them at row 0 only),
 * so a band of rows [oh0, oh1) can be finished with a thread's own constants.
 */
export function prepareRows(p: usize, consts: usize): void {
  if (field(p, MODE) == MODE_GEMMLOWP) prepareGemmlowp(p, consts);
}

/** `consts` is scratch of gemmlowpConstantsBytes(OC) bytes (16-byte aligned). */
export function finishRow(p: usize, acc: usize, accStride: i32, oh: i32, consts: usize): void {
  const mode = field(p, MODE);
  const outW = field(p, OUT_W);
  const oc = field(p, OC);
  const oc4 = oc & ~3;
  if (mode == MODE_RAW) {
    // int32 out: copy the valid channels of each pixel (a memory.copy call per pixel is slower).
    const y = ptr(p, Y_PTR) + (<usize>(oh * outW * oc) << 2);
    for (let ow = 0; ow < outW; ow++) {
      const a = acc + (<usize>(ow * accStride) << 2);
      const o = y + (<usize>(ow * oc) << 2);
      let c = 0;
      for (; c < oc4; c += 4) v128.store(o + (<usize>c << 2), v128.load(a + (<usize>c << 2)));
      for (; c < oc; c++) store<i32>(o + (<usize>c << 2), load<i32>(a + (<usize>c << 2)));
    }
    return;
  }
  if (mode != MODE_FP32 && mode != MODE_GEMMLOWP) {
    finishRowScalar(p, acc, accStride, oh);
    return;
  }
  const y = ptr(p, Y_PTR) + <usize>(oh * outW * oc);
  const zp = field(p, Y_ZP);
  const qmin = field(p, Q_MIN);
  const qmax = field(p, Q_MAX);
  const zpv = i32x4.splat(zp);
  const scales = ptr(p, SCALE_PTR);
  const mults = ptr(p, MULT_PTR);
  const shifts = ptr(p, SHIFT_PTR);
  if (mode == MODE_GEMMLOWP && oh == 0) prepareGemmlowp(p, consts);
  const lo = f32x4.splat(<f32>(qmin - zp));
  const hi = f32x4.splat(<f32>(qmax - zp));
  const loI = i32x4.splat(qmin - zp);
  const hiI = i32x4.splat(qmax - zp);
  const oc16 = oc & ~15;
  for (let ow = 0; ow < outW; ow++) {
    const a = acc + (<usize>(ow * accStride) << 2);
    const o = y + <usize>(ow * oc);
    let c = 0;
    if (mode == MODE_FP32) {
      // 16 channels at a time: four vectors narrowed into one 16-byte store.
      for (; c < oc16; c += 16) {
        const ap = a + (<usize>c << 2);
        const sp = scales + (<usize>c << 2);
        const q0 = fp32x4(v128.load(ap), v128.load(sp), lo, hi, zpv);
        const q1 = fp32x4(v128.load(ap, 16), v128.load(sp, 16), lo, hi, zpv);
        const q2 = fp32x4(v128.load(ap, 32), v128.load(sp, 32), lo, hi, zpv);
        const q3 = fp32x4(v128.load(ap, 48), v128.load(sp, 48), lo, hi, zpv);
        v128.store(o + <usize>c, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)));
      }
    }
    for (; c < oc4; c += 4) {
      const x = v128.load(a + (<usize>c << 2));
      let q: v128;
      if (mode == MODE_FP32) {
        q = fp32x4(x, v128.load(scales + (<usize>c << 2)), lo, hi, zpv);
      } else {
        const xl = i32x4.mul(x, v128.load(consts + (<usize>c << 2)));
        const m = v128.load(mults + (<usize>c << 2));
        const half = consts + <usize>(oc * 4 + c * 8);
        const neg = consts + <usize>(oc * 12 + c * 8);
        const pow = consts + <usize>(oc * 20 + c * 8);
        const r0 = gemmlowpX2(i64x2.extmul_low_i32x4_s(xl, m), v128.load(half), v128.load(neg), v128.load(pow));
        const r1 = gemmlowpX2(i64x2.extmul_high_i32x4_s(xl, m), v128.load(half, 16), v128.load(neg, 16), v128.load(pow, 16));
        const r = v128.shuffle<i32>(r0, r1, 0, 2, 4, 6);
        q = i32x4.add(i32x4.min_s(i32x4.max_s(r, loI), hiI), zpv);
      }
      // Values are already within [-128, 127]: the saturating narrows are exact.
      const n = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q, q), q);
      v128.store32_lane(o + <usize>c, n, 0);
    }
    for (; c < oc; c++) {
      const x = load<i32>(a + (<usize>c << 2));
      const off = <usize>c << 2;
      const q = mode == MODE_FP32
        ? requantFp32(x, load<f32>(scales + off), zp, qmin, qmax)
        : clampAddZeroPoint(multiplyGemmlowp(x, load<i32>(mults + off), load<i32>(shifts + off)), zp, qmin, qmax);
      store<i8>(o + <usize>c, <i8>q);
    }
  }
}
