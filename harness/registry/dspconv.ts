/**
 * The packed-DSP convolution kernels: a whole layer computed the way an FPGA engine of packed
 * DSP48E2 slices computes it (harness/dsp/packed-conv.ts defines the engine). Tests compare
 * every entry with the slice model for each scheme it supports; benchmarks run it next to the
 * plain split convolution. The AssemblyScript is assembly/dsp/packed-conv.ts.
 *
 * Name: qs8_dsppack_conv_<MR>x<NR>c2__wasmsimd_dot16x8[_<scheme>]: MR output pixels x NR output
 * channels per tile, two input channels per step, and the one scheme it is limited to, if any.
 */
import { SCHEME_NAMES, type SchemeName } from './codes.ts';

export interface DspConvVariant {
  name: string;
  module: 'simd';
  mr: number;
  nr: number;
  cb: number;
  /** Activations/weights are validated per scheme; this is the widest range. */
  weightRange: readonly [number, number];
  schemes: readonly SchemeName[];
  /** Longest decode group (products per P) the kernel computes exactly. */
  maxGroupProducts: number;
  description: string;
}

export const DSPCONV_VARIANTS: readonly DspConvVariant[] = [
  {
    name: 'qs8_dsppack_conv_2x8c2__wasmsimd_dot16x8',
    module: 'simd',
    mr: 2,
    nr: 8,
    cb: 2,
    weightRange: [-128, 127],
    schemes: SCHEME_NAMES,
    maxGroupProducts: Number.POSITIVE_INFINITY,
    description: 'every scheme: exact lane sums per decode group, then the full lane decode (pixel pairs for WP487/INT4)',
  },
  {
    name: 'qs8_dsppack_conv_3x8c2__wasmsimd_dot16x8_int8x8',
    module: 'simd',
    mr: 3,
    nr: 8,
    cb: 2,
    weightRange: [-128, 127],
    schemes: ['int8x8'],
    maxGroupProducts: 32767,
    description: 'int8x8 only: the high lane runs on and takes the carry, only the low lane is decoded per group',
  },
  {
    name: 'qs8_dsppack_conv_2x16c2__wasmsimd_dot16x8_int8x8',
    module: 'simd',
    mr: 2,
    nr: 16,
    cb: 2,
    weightRange: [-128, 127],
    schemes: ['int8x8'],
    maxGroupProducts: 32767,
    description: 'int8x8 only, as the 3x8 tile but two pixels x 16 channels: more outputs per activation load',
  },
];
