/**
 * Packing shared by the SIMD variants. Weights are packed once per layer (like XNNPACK's
 * packed weights); activations are packed on every call, inside the timed region.
 *
 * Packed weights, for each block of NR output channels (zero-padded to OCp = roundup(OC, NR)):
 *
 *   [kH][kW][Cs / CB] steps, each step = VECS x NR vectors of CB weights
 *   then int32 bias'[OCp] after all blocks
 *
 *   Cs = roundup(C, CB); padded channels and padded output channels hold encoded zero (0).
 *   VECS = 2 for the split encoding (all "hi" vectors of the step, then all "lo" vectors).
 *
 * Packed activations: [inH + pT + pB][inW + pL + pR][Cs], border pixels hold the zero
 * point (int8 encodings) or 0 (int16 encoding, zero point already subtracted).
 * Kernels read whole steps of CB channels, never past the packed buffers.
 */
import {
  field, ptr, IN_H, IN_W, IN_C, OC, K_H, K_W, S_H, S_W, P_T, P_L, P_R, OUT_W, X_ZP,
  X_PTR, W_RAW_PTR, B_PTR,
} from './params';

/** Weight encodings. */
export const ENC_I16: i32 = 0; // int16 w
export const ENC_I8: i32 = 1; // int8 w
export const ENC_W7: i32 = 2; // uint7 w + 64, for w in [-64, 63]
export const ENC_SPLIT: i32 = 3; // w + 128 = 2*hi + lo: hi in [0,127], lo in {0,1}
export const ENC_I8_UACT: i32 = 4; // int8 w, for activations stored as x + 128 (bias folds zp + 128)

export function packWeights(p: usize, dst: usize, nr: i32, cb: i32, encoding: i32, foldZeroPoint: bool): void {
  const c = field(p, IN_C);
  const oc = field(p, OC);
  const taps = field(p, K_H) * field(p, K_W);
  const cs = (c + cb - 1) / cb * cb;
  const steps = cs / cb;
  const elem: i32 = encoding == ENC_I16 ? 2 : 1;
  const vecs: i32 = encoding == ENC_SPLIT ? 2 : 1;
  const blocks = (oc + nr - 1) / nr;
  const stepBytes = vecs * nr * cb * elem;
  const blockBytes = taps * steps * stepBytes;
  const w = ptr(p, W_RAW_PTR);
  const zp = field(p, X_ZP);
  memory.fill(dst, 0, <usize>(blocks * blockBytes));
  const biasOut = dst + <usize>(blocks * blockBytes);
  const bias = ptr(p, B_PTR);
  for (let o = 0; o < blocks * nr; o++) {
    const block = o / nr;
    const lane = o % nr;
    let wsum = 0;
    if (o < oc) {
      for (let t = 0; t < taps; t++) {
        for (let ci = 0; ci < c; ci++) {
          const v = <i32>load<i8>(w + <usize>((o * taps + t) * c + ci));
          wsum += v;
          const step = t * steps + ci / cb;
          const at = dst + <usize>(block * blockBytes + step * stepBytes + (lane * cb + ci % cb) * elem);
          if (encoding == ENC_I16) store<i16>(at, <i16>v);
          else if (encoding == ENC_I8 || encoding == ENC_I8_UACT) store<i8>(at, <i8>v);
          else if (encoding == ENC_W7) store<u8>(at, <u8>(v + 64));
          else {
            store<u8>(at, <u8>((v + 128) >> 1));
            store<u8>(at + <usize>(nr * cb), <u8>((v + 128) & 1));
          }
        }
      }
    }
    const b = o < oc ? load<i32>(bias + (<usize>o << 2)) : 0;
    // sum (x - zp) w = sum (x + 128) w - (zp + 128) sum w when the activations are stored shifted.
    const fold = encoding == ENC_I8_UACT ? zp + 128 : zp;
    store<i32>(biasOut + (<usize>o << 2), foldZeroPoint ? b - fold * wsum : b);
  }
}

/**
 * int16 activations with the zero point subtracted; border and padded channels 0. Packs the
 * padded rows [r0, r1) of inH + pT + pB (threads pack a band each).
 */
export function packActivationsI16Rows(p: usize, dst: usize, cs: i32, r0: i32, r1: i32): void {
  const h = field(p, IN_H);
  const w = field(p, IN_W);
  const c = field(p, IN_C);
  const pt = field(p, P_T);
  const pl = field(p, P_L);
  const wp = w + pl + field(p, P_R);
  const zp = field(p, X_ZP);
  const zpv = i16x8.splat(<i16>zp);
  memory.fill(dst + (<usize>(r0 * wp * cs) << 1), 0, <usize>((r1 - r0) * wp * cs) << 1);
  const x = ptr(p, X_PTR);
  for (let ih = max(r0 - pt, 0); ih < min(r1 - pt, h); ih++) {
    for (let iw = 0; iw < w; iw++) {
      const src = x + <usize>((ih * w + iw) * c);
      const out = dst + (<usize>(((ih + pt) * wp + iw + pl) * cs) << 1);
      let ci = 0;
      for (; ci + 8 <= c; ci += 8) {
        v128.store(out + (<usize>ci << 1), i16x8.sub(v128.load8x8_s(src + <usize>ci), zpv));
      }
      for (; ci < c; ci++) store<i16>(out + (<usize>ci << 1), <i16>(<i32>load<i8>(src + <usize>ci) - zp));
    }
  }
}

/**
 * Raw int8 activations; border pixels hold the zero point. Padded channels are left as they
 * are: their packed weights are 0, so they contribute nothing. When `sums`
 * is not 0, also writes the int32 channel sum of every padded-input pixel there ([hp][wp]).
 * With `flipSign`, every stored byte is x ^ 0x80, i.e. x + 128 read as unsigned (the sums
 * stay those of x). Packs the padded rows [r0, r1) of inH + pT + pB (threads pack a band each).
 */
export function packActivationsI8Rows(p: usize, dst: usize, cs: i32, sums: usize, flipSign: bool, r0: i32, r1: i32): void {
  const h = field(p, IN_H);
  const w = field(p, IN_W);
  const c = field(p, IN_C);
  const pt = field(p, P_T);
  const pl = field(p, P_L);
  const wp = w + pl + field(p, P_R);
  const zp = field(p, X_ZP);
  const x = ptr(p, X_PTR);
  const flip: u8 = flipSign ? 0x80 : 0;
  const flipv = i8x16.splat(<i8>flip);
  for (let r = r0; r < r1; r++) {
    for (let col = 0; col < wp; col++) {
      const out = dst + <usize>((r * wp + col) * cs);
      const ih = r - pt;
      const iw = col - pl;
      let sum = 0;
      if (ih >= 0 && ih < h && iw >= 0 && iw < w) {
        // Vector copy (a memory.copy call per pixel costs more than the copy), summing as it goes.
        const src = x + <usize>((ih * w + iw) * c);
        let ci = 0;
        let acc = i32x4.splat(0);
        for (; ci + 16 <= c; ci += 16) {
          const v = v128.load(src + <usize>ci);
          v128.store(out + <usize>ci, v128.xor(v, flipv));
          if (sums != 0) acc = i32x4.add(acc, i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(v)));
        }
        for (; ci < c; ci++) {
          const v = load<i8>(src + <usize>ci);
          store<u8>(out + <usize>ci, <u8>v ^ flip);
          sum += <i32>v;
        }
        if (sums != 0) {
          sum += i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
        }
      } else {
        memory.fill(out, <u8>zp ^ flip, <usize>c);
        sum = zp * c;
      }
      if (sums != 0) store<i32>(sums + (<usize>(r * wp + col) << 2), sum);
    }
  }
}

/**
 * Per-pixel correction of the relaxed variants for output row `oh`:
 * corr[ow] = factor * (sum over the window's taps of the pixel channel sums).
 */
export function windowSumsRow(p: usize, sums: usize, oh: i32, factor: i32, dst: usize): void {
  const kh = field(p, K_H);
  const kw = field(p, K_W);
  const sh = field(p, S_H);
  const sw = field(p, S_W);
  const wp = field(p, IN_W) + field(p, P_L) + field(p, P_R);
  const outW = field(p, OUT_W);
  for (let ow = 0; ow < outW; ow++) {
    let s = 0;
    for (let r = 0; r < kh; r++) {
      const row = sums + (<usize>((oh * sh + r) * wp + ow * sw) << 2);
      for (let t = 0; t < kw; t++) s += load<i32>(row + (<usize>t << 2));
    }
    store<i32>(dst + (<usize>ow << 2), factor * s);
  }
}
