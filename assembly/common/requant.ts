/**
 * Requantization of int32 accumulators to int8, scalar. Each mode is bit-exact to its
 * definition in harness/reference/requant.ts (the oracle), which cites the sources.
 * Multipliers are >= 0 (QuantizeMultiplier never yields a negative one), so gemmlowp's
 * INT32_MIN * INT32_MIN saturation case cannot occur and is not tested for here.
 */
import {
  field, ptr, MODE, MODE_RAW, MODE_GEMMLOWP, MODE_SINGLE, OC, OUT_W, Y_PTR, Y_ZP, Q_MIN, Q_MAX,
  MULT_PTR, SHIFT_PTR, SCALE_PTR,
} from './params';

/** gemmlowp SaturatingRoundingDoublingHighMul for b >= 0. */
// @ts-ignore: decorator
@inline function doublingHighMul(a: i32, b: i32): i32 {
  const ab = <i64>a * <i64>b;
  const nudge: i64 = ab >= 0 ? (<i64>1 << 30) : (<i64>1 - (<i64>1 << 30));
  return <i32>((ab + nudge) / (<i64>1 << 31)); // i64.div_s truncates toward zero, as C++ does
}

/** gemmlowp RoundingDivideByPOT, exponent in [0, 31]. */
// @ts-ignore: decorator
@inline function roundingDivideByPOT(x: i32, exponent: i32): i32 {
  const mask = <i32>((<i64>1 << exponent) - 1);
  const remainder = x & mask;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

// @ts-ignore: decorator
@inline export function multiplyGemmlowp(x: i32, m: i32, shift: i32): i32 {
  const left = shift > 0 ? shift : 0;
  const right = shift > 0 ? 0 : -shift;
  return roundingDivideByPOT(doublingHighMul(x << left, m), right);
}

// @ts-ignore: decorator
@inline export function multiplySingle(x: i32, m: i32, shift: i32): i32 {
  const total = <i64>(31 - shift); // shift in [-31, 30]
  const r = (<i64>x * <i64>m + (<i64>1 << (total - 1))) >> total;
  return r < <i64>i32.MIN_VALUE ? i32.MIN_VALUE : r > <i64>i32.MAX_VALUE ? i32.MAX_VALUE : <i32>r;
}

/** Clamp y to [qmin - zp, qmax - zp] first, so adding zp cannot wrap. */
// @ts-ignore: decorator
@inline export function clampAddZeroPoint(y: i32, zp: i32, qmin: i32, qmax: i32): i32 {
  const lo = qmin - zp;
  const hi = qmax - zp;
  return (y < lo ? lo : y > hi ? hi : y) + zp;
}

// @ts-ignore: decorator
@inline export function requantFp32(acc: i32, scale: f32, zp: i32, qmin: i32, qmax: i32): i32 {
  let f = <f32>acc * scale;
  f = max<f32>(f, <f32>(qmin - zp));
  f = min<f32>(f, <f32>(qmax - zp));
  return <i32>nearest<f32>(f) + zp;
}

/**
 * Writes one output row from the row accumulators `acc` ([outW][accStride] int32, bias
 * included): int32 as is in raw mode, otherwise requantized int8.
 */
export function finishRowScalar(p: usize, acc: usize, accStride: i32, oh: i32): void {
  const outW = field(p, OUT_W);
  const oc = field(p, OC);
  const mode = field(p, MODE);
  const rowElems = outW * oc;
  if (mode == MODE_RAW) {
    const y = ptr(p, Y_PTR) + (<usize>(oh * rowElems) << 2);
    for (let ow = 0; ow < outW; ow++) {
      memory.copy(y + (<usize>(ow * oc) << 2), acc + (<usize>(ow * accStride) << 2), <usize>oc << 2);
    }
    return;
  }
  const y = ptr(p, Y_PTR) + <usize>(oh * rowElems);
  const zp = field(p, Y_ZP);
  const qmin = field(p, Q_MIN);
  const qmax = field(p, Q_MAX);
  const mults = ptr(p, MULT_PTR);
  const shifts = ptr(p, SHIFT_PTR);
  const scales = ptr(p, SCALE_PTR);
  for (let ow = 0; ow < outW; ow++) {
    const a = acc + (<usize>(ow * accStride) << 2);
    const o = y + <usize>(ow * oc);
    for (let c = 0; c < oc; c++) {
      const x = load<i32>(a + (<usize>c << 2));
      const off = <usize>c << 2;
      let q: i32;
      if (mode == MODE_GEMMLOWP) {
        q = clampAddZeroPoint(multiplyGemmlowp(x, load<i32>(mults + off), load<i32>(shifts + off)), zp, qmin, qmax);
      } else if (mode == MODE_SINGLE) {
        q = clampAddZeroPoint(multiplySingle(x, load<i32>(mults + off), load<i32>(shifts + off)), zp, qmin, qmax);
      } else {
        q = requantFp32(x, load<f32>(scales + off), zp, qmin, qmax);
      }
      store<i8>(o + <usize>c, <i8>q);
    }
  }
}
