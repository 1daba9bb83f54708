/**
 * The non-convolution nodes of the integer graph (harness/quant/int-graph-ops.ts) on int8 NHWC
 * codes in linear memory, bit-exact with that TypeScript: max/average pooling, global average
 * pooling, TFLite's int8 add, clamp, channel copies (concat, group slices), the requantizing
 * copy of a concat input, the NHWC -> NCHW flatten, and im2col for convolutions with few input
 * channels. Pointers are byte offsets chosen by harness/quant/int-graph-wasm.ts; every buffer
 * it places has at least 16 readable bytes after its end (vector loads may read past it).
 */
import { multiplyGemmlowp } from '../common/requant';

/** round half away from zero(sum / n), n > 0: trunc((sum ± n/2) / n); i32 division truncates. */
// @ts-ignore: decorator
@inline function roundedDivide(sum: i32, n: i32): i32 {
  const half = n >> 1;
  return (sum >= 0 ? sum + half : sum - half) / n;
}

/** The first tap of a window starting at input index i0 that lies inside the input. */
// @ts-ignore: decorator
@inline export function tapsFrom(i0: i32): i32 {
  return i0 < 0 ? -i0 : 0;
}

/** One past the last tap of a k-tap window starting at i0 inside an input of n. */
// @ts-ignore: decorator
@inline export function tapsTo(i0: i32, k: i32, n: i32): i32 {
  return min(k, n - i0);
}

/** Every byte of [dst, dst + bytes) = code. */
export function graph_fill(dst: usize, bytes: i32, code: i32): void {
  memory.fill(dst, <u8>code, <usize>bytes);
}

/**
 * Channels [srcC0, srcC0 + n) of each of `pixels` pixels (srcC channels each) into channels
 * [dstC0, dstC0 + n) of dst (dstC channels each): a concat input, a group's slice or its output.
 */
export function graph_copyChannels(src: usize, pixels: i32, srcC: i32, srcC0: i32, n: i32, dst: usize, dstC: i32, dstC0: i32): void {
  if (srcC == n && dstC == n) {
    memory.copy(dst, src, <usize>(pixels * n));
    return;
  }
  let s = src + <usize>srcC0;
  let d = dst + <usize>dstC0;
  const ss = <usize>srcC;
  const ds = <usize>dstC;
  if (n == 1) {
    for (let p = 0; p < pixels; p++, s += ss, d += ds) store<u8>(d, load<u8>(s));
    return;
  }
  const n16 = n & ~15;
  for (let p = 0; p < pixels; p++, s += ss, d += ds) {
    let j = 0;
    for (; j < n16; j += 16) v128.store(d + <usize>j, v128.load(s + <usize>j));
    for (; j < n; j++) store<u8>(d + <usize>j, load<u8>(s + <usize>j));
  }
}

/** y = clamp(x, lo, hi) on n codes (a ReLU or Clip that is not fused). */
export function graph_clamp(x: usize, y: usize, n: i32, lo: i32, hi: i32): void {
  const lov = i8x16.splat(<i8>lo);
  const hiv = i8x16.splat(<i8>hi);
  let i = 0;
  for (; i + 16 <= n; i += 16) v128.store(y + <usize>i, i8x16.min_s(i8x16.max_s(v128.load(x + <usize>i), lov), hiv));
  for (; i < n; i++) {
    const v = <i32>load<i8>(x + <usize>i);
    store<i8>(y + <usize>i, <i8>(v < lo ? lo : v > hi ? hi : v));
  }
}

/**
 * Max (op 0) or average (op 1) pooling over kH x kW windows. Padded pixels are skipped; an
 * average divides by the pixels inside, or with countIncludePad by kH * kW with each padded
 * pixel counted as the code zp. A window with no pixel inside gives 0 (as the TypeScript's
 * -Infinity / NaN stored into an Int8Array).
 */
export function graph_pool(
  op: i32, x: usize, y: usize, inH: i32, inW: i32, c: i32, outH: i32, outW: i32,
  kH: i32, kW: i32, sH: i32, sW: i32, pT: i32, pL: i32, countIncludePad: i32, zp: i32, sums: usize,
): void {
  const area = kH * kW;
  const c16 = c & ~15;
  for (let oh = 0; oh < outH; oh++) {
    const ih0 = oh * sH - pT, kh0 = tapsFrom(ih0), kh1 = tapsTo(ih0, kH, inH);
    for (let ow = 0; ow < outW; ow++) {
      const iw0 = ow * sW - pL, kw0 = tapsFrom(iw0), kw1 = tapsTo(iw0, kW, inW);
      const o = y + <usize>((oh * outW + ow) * c);
      const inside = kh1 > kh0 && kw1 > kw0 ? (kh1 - kh0) * (kw1 - kw0) : 0;
      if (inside == 0) {
        memory.fill(o, 0, <usize>c);
        continue;
      }
      if (op == 0) {
        let ci = 0;
        for (; ci < c16; ci += 16) {
          let m = i8x16.splat(-128);
          for (let kh = kh0; kh < kh1; kh++) {
            const row = x + <usize>(((ih0 + kh) * inW + iw0) * c + ci);
            for (let kw = kw0; kw < kw1; kw++) m = i8x16.max_s(m, v128.load(row + <usize>(kw * c)));
          }
          v128.store(o + <usize>ci, m);
        }
        for (; ci < c; ci++) {
          let m: i32 = -128;
          for (let kh = kh0; kh < kh1; kh++) {
            for (let kw = kw0; kw < kw1; kw++) m = max(m, <i32>load<i8>(x + <usize>(((ih0 + kh) * inW + iw0 + kw) * c + ci)));
          }
          store<i8>(o + <usize>ci, <i8>m);
        }
      } else {
        memory.fill(sums, 0, <usize>(c << 2));
        for (let kh = kh0; kh < kh1; kh++) {
          for (let kw = kw0; kw < kw1; kw++) {
            const px = x + <usize>(((ih0 + kh) * inW + iw0 + kw) * c);
            for (let ci = 0; ci < c; ci++) {
              const a = sums + (<usize>ci << 2);
              store<i32>(a, load<i32>(a) + <i32>load<i8>(px + <usize>ci));
            }
          }
        }
        for (let ci = 0; ci < c; ci++) {
          const s = load<i32>(sums + (<usize>ci << 2));
          const q = countIncludePad ? roundedDivide(s + (area - inside) * zp, area) : roundedDivide(s, inside);
          store<i8>(o + <usize>ci, <i8>q);
        }
      }
    }
  }
}

/** Per channel, roundedDivide(sum of the codes over all pixels, pixels); `sums` is i32[c] scratch. */
export function graph_globalAvgPool(x: usize, y: usize, pixels: i32, c: i32, sums: usize): void {
  memory.fill(sums, 0, <usize>(c << 2));
  const c8 = c & ~7;
  for (let p = 0; p < pixels; p++) {
    const px = x + <usize>(p * c);
    let ci = 0;
    for (; ci < c8; ci += 8) {
      const v = v128.load8x8_s(px + <usize>ci);
      const a = sums + (<usize>ci << 2);
      v128.store(a, i32x4.add(v128.load(a), i32x4.extend_low_i16x8_s(v)));
      v128.store(a, i32x4.add(v128.load(a, 16), i32x4.extend_high_i16x8_s(v)), 16);
    }
    for (; ci < c; ci++) {
      const a = sums + (<usize>ci << 2);
      store<i32>(a, load<i32>(a) + <i32>load<i8>(px + <usize>ci));
    }
  }
  for (let ci = 0; ci < c; ci++) store<i8>(y + <usize>ci, <i8>roundedDivide(load<i32>(sums + (<usize>ci << 2)), pixels));
}

/**
 * table[i] = MulQ((i - 128 - zp) * 2^leftShift, multiplier, shift) for i in 0..255 (i32[256]):
 * an add's or a requantized concat input's scaled operand for every int8 code.
 */
export function graph_codeTable(table: usize, zp: i32, leftShift: i32, multiplier: i32, shift: i32): void {
  for (let i = 0; i < 256; i++) store<i32>(table + (<usize>i << 2), multiplyGemmlowp((i - 128 - zp) << leftShift, multiplier, shift));
}

/** lut[i] = clamp(table[i] + zp, lo, hi) as int8 (u8[256]): a concat input's requantization. */
export function graph_codeLut(lut: usize, table: usize, zp: i32, lo: i32, hi: i32): void {
  for (let i = 0; i < 256; i++) {
    const v = load<i32>(table + (<usize>i << 2)) + zp;
    store<i8>(lut + <usize>i, <i8>(v < lo ? lo : v > hi ? hi : v));
  }
}

/** Each code q of `pixels` x n codes through lut[q + 128], into channels [dstC0, dstC0 + n) of dst. */
export function graph_lookupChannels(src: usize, pixels: i32, n: i32, lut: usize, dst: usize, dstC: i32, dstC0: i32): void {
  for (let p = 0; p < pixels; p++) {
    const s = src + <usize>(p * n);
    const d = dst + <usize>(p * dstC + dstC0);
    for (let j = 0; j < n; j++) store<u8>(d + <usize>j, load<u8>(lut + <usize>((<i32>load<i8>(s + <usize>j) + 128) & 255)));
  }
}

/**
 * lut[(a + 128) * 256 + (b + 128)] = clamp(MulQ(ta[a + 128] + tb[b + 128], multiplier, shift) + zp, lo, hi)
 * for every int8 pair (u8[65536]): TFLite's int8 add with the operand tables of graph_codeTable,
 * computed once per add node.
 */
export function graph_addLut(lut: usize, ta: usize, tb: usize, multiplier: i32, shift: i32, zp: i32, lo: i32, hi: i32): void {
  const qlo = lo - zp;
  const qhi = hi - zp;
  for (let i = 0; i < 256; i++) {
    const a = load<i32>(ta + (<usize>i << 2));
    const row = lut + (<usize>i << 8);
    for (let j = 0; j < 256; j++) {
      const r = multiplyGemmlowp(a + load<i32>(tb + (<usize>j << 2)), multiplier, shift);
      store<i8>(row + <usize>j, <i8>((r < qlo ? qlo : r > qhi ? qhi : r) + zp));
    }
  }
}

/** The add on n code pairs through its graph_addLut table. */
export function graph_add(a: usize, b: usize, y: usize, n: i32, lut: usize): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const va = load<u32>(a + <usize>i) ^ 0x80808080; // codes + 128
    const vb = load<u32>(b + <usize>i) ^ 0x80808080;
    const o0 = load<u8>(lut + <usize>(((va & 255) << 8) | (vb & 255)));
    const o1 = load<u8>(lut + <usize>((va & 0xff00) | ((vb >> 8) & 255)));
    const o2 = load<u8>(lut + <usize>(((va >> 8) & 0xff00) | ((vb >> 16) & 255)));
    const o3 = load<u8>(lut + <usize>(((va >> 16) & 0xff00) | (vb >> 24)));
    store<u32>(y + <usize>i, <u32>o0 | (<u32>o1 << 8) | (<u32>o2 << 16) | (<u32>o3 << 24));
  }
  for (; i < n; i++) {
    const ia = (<u32>load<u8>(a + <usize>i) ^ 0x80) << 8;
    store<u8>(y + <usize>i, load<u8>(lut + <usize>(ia | (<u32>load<u8>(b + <usize>i) ^ 0x80))));
  }
}

/** The NHWC codes of an h x w x c map in NCHW order (a 'chw' flatten). */
export function graph_nhwcToNchw(x: usize, y: usize, h: i32, w: i32, c: i32): void {
  const hw = h * w;
  for (let ci = 0; ci < c; ci++) {
    const d = y + <usize>(ci * hw);
    for (let p = 0; p < hw; p++) store<u8>(d + <usize>p, load<u8>(x + <usize>(p * c + ci)));
  }
}

/**
 * im2col: y[oh][ow] = the kH x kW x c window of x at (oh * sH - pT, ow * sW - pL), padded
 * pixels holding the code zp, so that a 1x1 convolution with the OHWI weights (already
 * O x (kH kW c)) and input zero point zp computes the original convolution exactly.
 * A window row of at most 16 bytes is moved as one vector (y needs 16 bytes of room past its end).
 */
export function graph_im2col(x: usize, y: usize, inH: i32, inW: i32, c: i32, outH: i32, outW: i32, kH: i32, kW: i32, sH: i32, sW: i32, pT: i32, pL: i32, zp: i32): void {
  let d = y;
  const rowBytes = kW * c;
  const short = rowBytes <= 16;
  const zpv = i8x16.splat(<i8>zp);
  for (let oh = 0; oh < outH; oh++) {
    for (let ow = 0; ow < outW; ow++) {
      const iw0 = ow * sW - pL;
      const inside = iw0 >= 0 && iw0 + kW <= inW;
      for (let kh = 0; kh < kH; kh++) {
        const ih = oh * sH - pT + kh;
        if (ih < 0 || ih >= inH) {
          if (short) v128.store(d, zpv);
          else memory.fill(d, <u8>zp, <usize>rowBytes);
        } else if (inside) {
          const s = x + <usize>((ih * inW + iw0) * c);
          if (short) v128.store(d, v128.load(s));
          else memory.copy(d, s, <usize>rowBytes);
        } else {
          const src = x + <usize>(ih * inW * c);
          for (let kw = 0; kw < kW; kw++) {
            const iw = iw0 + kw;
            const o = d + <usize>(kw * c);
            if (iw < 0 || iw >= inW) {
              for (let j = 0; j < c; j++) store<u8>(o + <usize>j, <u8>zp);
            } else {
              const s = src + <usize>(iw * c);
              for (let j = 0; j < c; j++) store<u8>(o + <usize>j, load<u8>(s + <usize>j));
            }
          }
        }
        d += <usize>rowBytes;
      }
    }
  }
}
