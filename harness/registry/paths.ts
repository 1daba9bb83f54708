/**
 * The instruction path of every registered kernel: the multiply-accumulate instructions its
 * inner loop issues, and so the peak it is measured against (`fkb bench`'s "% peak" column;
 * the peak loops are assembly/peak/, timed by harness/bench/peak.ts). Derived here, from a
 * split-convolution variant's strategy or a packed-DSP kernel's inner loop, and nowhere else.
 */
import type { DspConvVariant } from './dspconv.ts';
import type { SplitConvVariant } from './splitconv.ts';

export type InstructionPath = 'dot16x8' | 'extmul8x16' | 'rdot8x16' | 'rdot8x16split';

export interface InstructionPathInfo {
  /** The module whose peak loop measures the path (and that the path's kernels need). */
  module: 'simd' | 'relaxed';
  /** The peak loop: assembly/peak/ exports peak<loop>Regs and peak<loop>Loads. */
  loop: 'Dot16x8' | 'Extmul8x16' | 'Rdot';
  /** MACs of the convolution per instruction group (the loop issues 8 groups per iteration). */
  macsPerGroup: number;
  /** One instruction group, as the tables print it. */
  group: string;
}

export const INSTRUCTION_PATHS: Record<InstructionPath, InstructionPathInfo> = {
  dot16x8: { module: 'simd', loop: 'Dot16x8', macsPerGroup: 8, group: 'i32x4.dot_i16x8_s + i32x4.add' },
  extmul8x16: {
    module: 'simd',
    loop: 'Extmul8x16',
    macsPerGroup: 16,
    group: 'i16x8.extmul_low/high_i8x16_s + 2 i32x4.extadd_pairwise_i16x8_s + 2 i32x4.add',
  },
  rdot8x16: { module: 'relaxed', loop: 'Rdot', macsPerGroup: 16, group: 'i32x4.relaxed_dot_i8x16_i7x16_add_s' },
  // The same instruction, but each weight is split in two: two dots per 16 MACs.
  rdot8x16split: { module: 'relaxed', loop: 'Rdot', macsPerGroup: 8, group: 'i32x4.relaxed_dot_i8x16_i7x16_add_s (2 per 16 MACs)' },
};

/**
 * A kernel's path; undefined for the scalar loops. Packed-DSP kernels multiply int16 channel
 * pairs with dot_i16x8_s + add (scripts/gen-dsppack.ts), the dot16x8 mix with a splat load; every
 * relaxed strategy issues one relaxed dot per 16 MACs except the split one.
 */
export function pathOf(v: SplitConvVariant | DspConvVariant): InstructionPath | undefined {
  if ('schemes' in v) return 'dot16x8';
  if (v.strategy === 'dot16x8' || v.strategy === 'extmul8x16' || v.strategy === 'rdot8x16split') return v.strategy;
  if (v.strategy.startsWith('rdot')) return 'rdot8x16';
  return undefined;
}
