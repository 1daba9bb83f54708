/**
 * The question a user asks before committing a packing scheme to hardware: on this layer, with
 * this data, how many outputs would the packed-DSP engine get wrong, and by how much? Runs the
 * packed kernel and the exact split convolution (both WASM, both verified by the tests) on the
 * same problem and compares them.
 */
import { type ConvProblem, describeShape } from '../conv/layer.ts';
import { DSPCONV_VARIANTS, type DspConvVariant } from '../registry/dspconv.ts';
import { SPLITCONV_VARIANTS } from '../registry/splitconv.ts';
import { InputError } from '../util/errors.ts';
import { KernelRunner, modulesFor } from '../wasm/kernel-runner.ts';
import { type PackedConvConfig, exactnessReport, groupProducts, validatePackedProblem } from '../dsp/packed-conv.ts';
import { type ExactnessReport } from '../results/index.ts';
import type { LayerExactness } from '../results/index.ts';

/** The fastest registered packed kernel that computes this configuration exactly. */
export function packedKernelFor(p: ConvProblem, c: PackedConvConfig): DspConvVariant {
  const perGroup = groupProducts(p, c);
  const fits = DSPCONV_VARIANTS.filter((v) => v.schemes.includes(c.scheme) && perGroup <= v.maxGroupProducts);
  // Specialized kernels (fewer schemes) are the faster ones.
  const best = fits.sort((a, b) => a.schemes.length - b.schemes.length)[0];
  if (!best) throw new InputError(`no packed kernel computes ${c.scheme} with ${perGroup} products per decode`);
  return best;
}

function run(variant: DspConvVariant | (typeof SPLITCONV_VARIANTS)[number], p: ConvProblem, c?: PackedConvConfig): Int8Array | Int32Array {
  const kernel = modulesFor(variant).find((k) => k.name === variant.module);
  if (!kernel) throw new InputError(`the ${variant.module} module is not usable on this engine, needed for ${variant.name}`);
  const r = new KernelRunner(variant, kernel, p, c);
  r.run();
  return r.output();
}

export function layerExactness(name: string, p: ConvProblem, c: PackedConvConfig): LayerExactness {
  validatePackedProblem(p, c);
  const variant = packedKernelFor(p, c);
  const exactKernel = SPLITCONV_VARIANTS.find((v) => v.name === 'qs8_splitconv_minmax_2x4c8__wasmsimd_dot16x8')!;
  const raw = { ...p, requant: { ...p.requant, mode: 'raw' as const } };
  const packedAcc = run(variant, raw, c);
  const exactAcc = run(exactKernel, raw);
  const packedOut = p.requant.mode === 'raw' ? packedAcc : run(variant, p, c);
  const exactOut = p.requant.mode === 'raw' ? exactAcc : run(exactKernel, p);
  return {
    layer: name, shape: describeShape(p.shape), kernel: variant.name,
    ...exactnessReport(p, c, { acc: packedAcc, out: packedOut }, { acc: exactAcc, out: exactOut }),
  };
}
