/**
 * The problems the browser runner checks, shared with the Node side so both can compute the
 * same outputs: every registered variant (split-convolution and packed-DSP) on a few seeded
 * shapes. Kept small: the page also runs the plain-JS reference on each.
 */
import type { ConvProblem } from '../conv/layer.ts';
import { type PackedConvConfig } from '../dsp/packed-conv.ts';
import { fitToScheme } from '../problems/scheme-problem.ts';
import { SCHEMES } from '../dsp/schemes.ts';
import { DSPCONV_VARIANTS } from '../registry/dspconv.ts';
import { SPLITCONV_VARIANTS } from '../registry/splitconv.ts';
import { KernelTester } from '../testers/kernel-tester.ts';
import type { KernelVariant } from '../wasm/kernel-runner.ts';

export interface BrowserCase {
  /** `<variant> <case>`: the key both sides report results under (the module is added). */
  key: string;
  variant: KernelVariant;
  problem: ConvProblem;
  dsp?: PackedConvConfig;
}

const shapes = () => [
  new KernelTester().image(7, 9).channels(19, 13).kernel(3).pad(1).inputZeroPoint(-7).mode('gemmlowp').seed(11),
  new KernelTester().image(9, 6).channels(33, 6).kernel(5, 3).stride(2, 1).pad(2, 1, 0, 1).mode('fp32').outputZeroPoint(4).seed(12),
  new KernelTester().image(14, 14).channels(32, 32).kernel(3).pad(1).operands('extremes').mode('raw').seed(13),
  new KernelTester().image(5, 5).channels(8, 24).kernel(1).pad(0).mode('single').seed(14),
];

export function browserCases(): BrowserCase[] {
  const out: BrowserCase[] = [];
  for (const variant of SPLITCONV_VARIANTS) {
    shapes().forEach((t, i) => out.push({ key: `${variant.name} case${i}`, variant, problem: t.problem(variant.weightRange) }));
  }
  for (const variant of DSPCONV_VARIANTS) {
    for (const scheme of variant.schemes) {
      const dsp: PackedConvConfig = { scheme, chain: 16, decode: 'cascade' };
      shapes().forEach((t, i) => {
        out.push({ key: `${variant.name} ${scheme} case${i}`, variant, problem: fitToScheme(t.problem(SCHEMES[scheme].weightRange), scheme), dsp });
      });
    }
  }
  return out;
}

/** FNV-1a over the output's bytes: equal digests mean (all but certainly) equal outputs. */
export function digest(out: Int8Array | Int32Array): string {
  const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return `${(h >>> 0).toString(16).padStart(8, '0')}:${out.length}`;
}
