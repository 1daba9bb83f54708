/**
 * Depthwise convolution (groups = input channels = output channels) on the ConvParams block,
 * for the integer graph's compiled executor (harness/quant/int-graph-wasm.ts). The same
 * integer result as the group-by-group split convolution: per output pixel and channel
 * acc = bias[c] + sum over the window's pixels inside the input of (x - X_ZP) * w[c][kh][kw]
 * (a padded pixel is X_ZP, contributing 0), then the row is requantized by finishRow, the code
 * every split-convolution kernel uses.
 *
 * W_PTR: i16 weights [K_H][K_W][Cp], Cp = IN_C rounded up to 8, zero past IN_C.
 * B_PTR: i32 bias [Cp], zero past IN_C.
 * Scratch: i32 row accumulators [OUT_W][Cp] | gemmlowp constants.
 */
import { field, ptr, roundUp, IN_H, IN_W, IN_C, K_H, K_W, S_H, S_W, P_T, P_L, OUT_H, OUT_W, X_ZP, X_PTR, W_PTR, B_PTR, SCRATCH_PTR } from '../common/params';
import { finishRow, gemmlowpConstantsBytes } from '../common/finish-row';
import { tapsFrom, tapsTo } from './ops';

export function graph_depthwise_scratch_bytes(p: usize): i32 {
  return field(p, OUT_W) * roundUp(field(p, IN_C), 8) * 4 + roundUp(gemmlowpConstantsBytes(field(p, IN_C)), 16);
}

export function graph_depthwise_run(p: usize): void {
  const inH = field(p, IN_H);
  const inW = field(p, IN_W);
  const c = field(p, IN_C);
  const cp = roundUp(c, 8);
  const kH = field(p, K_H);
  const kW = field(p, K_W);
  const sH = field(p, S_H);
  const sW = field(p, S_W);
  const pT = field(p, P_T);
  const pL = field(p, P_L);
  const outH = field(p, OUT_H);
  const outW = field(p, OUT_W);
  const zpv = i16x8.splat(<i16>field(p, X_ZP));
  const x = ptr(p, X_PTR);
  const w = ptr(p, W_PTR);
  const bias = ptr(p, B_PTR);
  const acc = ptr(p, SCRATCH_PTR);
  const consts = acc + <usize>roundUp(outW * cp * 4, 16);
  const pix = <usize>c;
  const tapBytes = <usize>(cp << 1);
  for (let oh = 0; oh < outH; oh++) {
    const ih0 = oh * sH - pT, kh0 = tapsFrom(ih0), kh1 = tapsTo(ih0, kH, inH);
    for (let ow = 0; ow < outW; ow++) {
      const iw0 = ow * sW - pL, kw0 = tapsFrom(iw0), kw1 = tapsTo(iw0, kW, inW);
      const a = acc + (<usize>(ow * cp) << 2);
      for (let ci = 0; ci < cp; ci += 8) {
        let lo = v128.load(bias + (<usize>ci << 2));
        let hi = v128.load(bias + (<usize>ci << 2), 16);
        for (let kh = kh0; kh < kh1; kh++) {
          let xp = x + <usize>(((ih0 + kh) * inW + iw0 + kw0) * c + ci);
          let wp = w + <usize>(((kh * kW + kw0) * cp + ci) << 1);
          for (let kw = kw0; kw < kw1; kw++) {
            const xv = i16x8.sub(v128.load8x8_s(xp), zpv);
            const wv = v128.load(wp);
            lo = i32x4.add(lo, i32x4.extmul_low_i16x8_s(xv, wv));
            hi = i32x4.add(hi, i32x4.extmul_high_i16x8_s(xv, wv));
            xp += pix;
            wp += tapBytes;
          }
        }
        v128.store(a + (<usize>ci << 2), lo);
        v128.store(a + (<usize>ci << 2), hi, 16);
      }
    }
    finishRow(p, acc, cp, oh, consts);
  }
}
