/**
 * The one list of split-convolution kernel variants. Adding a variant is one entry here:
 * `npm run gen` writes its AssemblyScript (tiled variants are generated, because AssemblyScript
 * needs lane indices and load offsets as literals), the module entry files export it, and the
 * tests and benchmarks iterate over this list.
 *
 * Name: qs8_splitconv_minmax_<MR>x<NR>c<CB>__<isa>_<strategy>
 *   qs8         signed 8-bit activations and weights, int32 accumulation
 *   minmax      fused requantization with a min/max clamp (mode chosen per call)
 *   MRxNR cCB   register tile: MR output pixels x NR output channels, CB input channels per step
 *   isa         scalar | wasmsimd | wasmrelaxedsimd (which module holds it)
 *   strategy    how a step multiplies and accumulates (see STRATEGIES)
 */

export type ModuleName = 'scalar' | 'simd' | 'relaxed';
export type Strategy = 'loops' | 'dot16x8' | 'extmul8x16' | 'rdot8x16split' | 'rdot8x16w7' | 'rdot8x16usdot';

export interface SplitConvVariant {
  name: string;
  module: ModuleName;
  strategy: Strategy;
  /** Output pixels per register tile. */
  mr: number;
  /** Output channels per register tile (a multiple of 4 for SIMD variants). */
  nr: number;
  /** Input channels per step (channel counts are zero-padded to a multiple of this). */
  cb: number;
  /** Steps per inner-loop iteration (name suffix _u2 when 2). */
  unroll: 1 | 2;
  /** Weights this variant accepts; packing rejects others with a clear error. */
  weightRange: readonly [number, number];
  /** Written by scripts/gen-kernels.ts (true) or by hand (false). */
  generated: boolean;
  /** A remark for the README table. */
  note?: string;
  /**
   * Engine behaviour the variant relies on beyond what its module's self-check proves:
   * 'unsigned-i7' = relaxed_dot reads an i7 operand byte >= 128 as unsigned and sums without
   * saturating (x64 VNNI lowering); harness/wasm/modules.ts probes it at load time.
   */
  needs?: 'unsigned-i7';
}

export const STRATEGIES: Record<Strategy, string> = {
  loops: 'plain scalar loops: for each tap, a channel-wise inner product, accumulated per pixel',
  dot16x8:
    'activations widened to int16 with the zero point subtracted; i32x4.dot_i16x8_s (8 MACs) + i32x4.add',
  extmul8x16:
    'raw int8 operands; i16x8.extmul_low/high_i8x16_s, i32x4.extadd_pairwise_i16x8_s; zero point folded into the bias',
  rdot8x16split:
    'i32x4.relaxed_dot_i8x16_i7x16_add_s with activations as the i8 operand and each weight split as w+128 = 2*hi + lo, hi in [0,127], lo in {0,1}: two dots per 16 MACs, every operand in the well-defined domain',
  rdot8x16w7:
    'i32x4.relaxed_dot_i8x16_i7x16_add_s for weights in [-64, 63] (7-bit): w+64 in [0,127] is the i7 operand; one dot per 16 MACs',
  rdot8x16usdot:
    'i32x4.relaxed_dot_i8x16_i7x16_add_s with int8 weights as the i8 operand and activations x^0x80 = x+128 in [0,255] as the i7 operand, read unsigned by the VNNI lowering (checked at load); bias folds -(zp+128)*sum(w); one dot per 16 MACs for any int8 weights',
};

/** The README table's description of a strategy (its first variant; later tiles say "same"). */
export const STRATEGY_README: Record<Strategy, string> = {
  loops: 'plain loops; the baseline of every speedup',
  dot16x8: 'activations widened to int16 with the zero point subtracted, `i32x4.dot_i16x8_s` + `i32x4.add`',
  extmul8x16:
    'raw int8, `i16x8.extmul_{low,high}_i8x16_s` + `i32x4.extadd_pairwise_i16x8_s`; zero point folded into the bias',
  rdot8x16split: '`i32x4.relaxed_dot_i8x16_i7x16_add_s`, each weight split as w+128 = 2·hi + lo',
  rdot8x16w7: '`i32x4.relaxed_dot_i8x16_i7x16_add_s` for 7-bit weights in [-64, 63]',
  rdot8x16usdot:
    '`i32x4.relaxed_dot_i8x16_i7x16_add_s`, weights as the i8 operand, activations + 128 as the unsigned operand (engines whose lowering reads it unsigned, e.g. x64 VNNI; checked at load)',
};

function simd(
  strategy: Strategy,
  mr: number,
  nr: number,
  unroll: 1 | 2,
  weightRange: readonly [number, number] = [-128, 127],
  note?: string,
): SplitConvVariant {
  const relaxed = strategy.startsWith('rdot');
  const cb = strategy === 'dot16x8' ? 8 : 16;
  return {
    name: `qs8_splitconv_minmax_${mr}x${nr}c${cb}__${relaxed ? 'wasmrelaxedsimd' : 'wasmsimd'}_${strategy}${unroll === 2 ? '_u2' : ''}`,
    unroll,
    module: relaxed ? 'relaxed' : 'simd',
    strategy,
    mr,
    nr,
    cb,
    weightRange,
    generated: true,
    ...(note ? { note } : {}),
    ...(strategy === 'rdot8x16usdot' ? { needs: 'unsigned-i7' as const } : {}),
  };
}

export const SPLITCONV_VARIANTS: readonly SplitConvVariant[] = [
  {
    name: 'qs8_splitconv_minmax_1x1c1__scalar_loops',
    module: 'scalar',
    strategy: 'loops',
    mr: 1,
    nr: 1,
    cb: 1,
    unroll: 1,
    weightRange: [-128, 127],
    generated: false,
  },
  // Tiles kept for comparison: on the reference layer 2x4 is fastest on Node 20 and 24;
  // 3x4 and 1x8 need more registers than x64 V8 has free, and spill without the unroll.
  simd('dot16x8', 1, 4, 2),
  simd('dot16x8', 2, 4, 1, undefined, 'fastest plain-SIMD tile here'),
  simd('dot16x8', 3, 4, 2),
  simd('dot16x8', 1, 8, 2),
  simd('extmul8x16', 2, 4, 2),
  simd('rdot8x16split', 1, 4, 1),
  simd('rdot8x16w7', 2, 4, 1, [-64, 63]),
  // Node 24, reference layer, one run: 2x4 83.3 GMAC/s; 2x4 unrolled 81.2, 3x4 81.1, 1x8 74.2.
  simd('rdot8x16usdot', 2, 4, 1, undefined, 'fastest exact int8 kernel where the engine lowers to VNNI'),
];

export function findVariant(name: string): SplitConvVariant | undefined {
  return SPLITCONV_VARIANTS.find((v) => v.name === name);
}
