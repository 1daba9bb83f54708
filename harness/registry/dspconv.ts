/**
 * The one list of packed-DSP convolution kernels: a whole layer computed the way an FPGA engine
 * of packed DSP48E2 slices computes it (harness/dsp/packed-conv.ts defines the engine). Adding a
 * tile of an existing lane decode is one `dsppack(...)` line here: `npm run gen` writes its
 * AssemblyScript (assembly/dsp/gen/, from scripts/gen-dsppack.ts), the module entry files export
 * it, the README table lists it, and the tests (every scheme it supports against the engine
 * model, shapes around its tile) and benchmarks iterate over this list.
 *
 * Name: qs8_dsppack_minmax_<MR>x<NR>c<CB>__wasmsimd_dot16x8[_<scheme>]
 *   qs8         signed 8-bit operands as the schemes encode them, int32 accumulation
 *   dsppack     DSP48E2-packed convolution
 *   minmax      fused requantization with a min/max clamp (mode chosen per call)
 *   MRxNR cCB   register tile: MR output pixels x NR output channels, CB = 2 input channels
 *               (one DSP channel pair) per step
 *   dot16x8     int16 activation codes x int16 weights, i32x4.dot_i16x8_s per channel pair
 *   _<scheme>   the one scheme the kernel is limited to, when its lane decode is specialized
 */
import { SCHEME_NAMES, type SchemeName } from './codes.ts';

/** How a kernel turns the exact sums of a decode group back into each DSP's lanes. */
export type LaneDecode = 'full' | 'carry';

export const LANE_DECODES: Record<LaneDecode, string> = {
  full: 'every scheme: exact lane sums per decode group, then the full lane decode of each DSP (pixel pairs share the DSPs of WP487 and INT4)',
  carry: 'int8x8 only: the high lane runs on and takes the carry; low-lane groups start at 2^17, so the carry is one shift and the low lane one mask',
};

export interface DspConvVariant {
  name: string;
  module: 'simd';
  /** Output pixels per register tile (even for the full decode: WP487 and INT4 pair pixels). */
  mr: number;
  /** Output channels per register tile: 8, 16, 32, ... (even/odd vectors of 8-channel blocks). */
  nr: number;
  /** Input channels per step: one DSP channel pair. */
  cb: 2;
  laneDecode: LaneDecode;
  /**
   * Carry decode: where the low-lane totals wait between decode groups, in registers or in the
   * tile's own rows of the accumulators (fewer live vectors for wide tiles).
   */
  lowTotals: 'registers' | 'output';
  /** Activations/weights are validated per scheme; this is the widest range. */
  weightRange: readonly [number, number];
  schemes: readonly SchemeName[];
  /** Longest decode group (products per P) the kernel computes exactly. */
  maxGroupProducts: number;
  /** How it decodes, for the README table and the generated file's header. */
  description: string;
}

/**
 * A registered tile. The carry decode is exact while the high lane's 30-bit field cannot wrap:
 * |S_high| + |carry| < 2^29 holds for groups of at most 32767 int8x8 products.
 */
function dsppack(laneDecode: LaneDecode, mr: number, nr: number, opts: { lowTotals?: 'registers' | 'output' } = {}): DspConvVariant {
  const carry = laneDecode === 'carry';
  const lowTotals = opts.lowTotals ?? 'registers';
  const where = carry && lowTotals === 'output' ? '; the low-lane totals wait in the output rows' : '';
  return {
    name: `qs8_dsppack_minmax_${mr}x${nr}c2__wasmsimd_dot16x8${carry ? '_int8x8' : ''}`,
    module: 'simd',
    mr,
    nr,
    cb: 2,
    laneDecode,
    lowTotals,
    weightRange: [-128, 127],
    schemes: carry ? ['int8x8'] : SCHEME_NAMES,
    maxGroupProducts: carry ? 32767 : Number.POSITIVE_INFINITY,
    description: `${LANE_DECODES[laneDecode]}${where}`,
  };
}

export const DSPCONV_VARIANTS: readonly DspConvVariant[] = [
  dsppack('full', 2, 8),
  dsppack('carry', 3, 8),
  // 16 channels: more outputs per activation load; with the low totals in memory 8 accumulator
  // vectors stay live instead of 12.
  dsppack('carry', 2, 16, { lowTotals: 'output' }),
  // Every scheme, 4 pixels: two DSP pixel pairs per weight load.
  dsppack('full', 4, 8),
];
