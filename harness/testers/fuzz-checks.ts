/**
 * What the property-based kernel suite checks on one random case (see fuzz-cases.ts):
 *
 * - split:  every split-convolution variant, in every module this engine loads, equals
 *           referenceConv exactly (restricted-weight variants on weights from their range);
 * - packed: every packed-DSP kernel, for every scheme it computes and every decode point at the
 *           case's cascade length, equals the engine model (identityPackedAccumulators, then
 *           requantizePacked), corruption past the bound included; the model equals the exact
 *           convolution whenever the products per decode are within the scheme's bound;
 * - slice:  on small cases, the slice model (every packed multiply through stepSlice) equals the
 *           identity model for every scheme and decode point;
 *
 * and that no kernel wrote past any of its buffers (guard bytes). A failure throws a
 * VerificationError naming the kernel, module, configuration, first differing output
 * (oh, ow, oc), got/want and the case.
 */
import { type ConvProblem, macs } from '../conv/layer.ts';
import {
  DECODE_POINTS, type PackedConvConfig, groupProducts, identityPackedAccumulators, requantizePacked, slicePackedAccumulators,
} from '../dsp/packed-conv.ts';
import { SCHEMES, SCHEME_NAMES, accumulationBound } from '../dsp/schemes.ts';
import { fitToScheme } from '../problems/scheme-problem.ts';
import { referenceConv } from '../reference/conv.ts';
import { DSPCONV_VARIANTS, type DspConvVariant } from '../registry/dspconv.ts';
import { SPLITCONV_VARIANTS } from '../registry/splitconv.ts';
import { VerificationError } from '../util/errors.ts';
import type { KernelModule } from '../wasm/modules.ts';
import { KernelRunner, modulesFor } from '../wasm/kernel-runner.ts';
import { type FuzzCase, caseProblem, describeCase } from './fuzz-cases.ts';
import { type KernelTarget, compareOutputs, targetLabel } from './kernel-tester.ts';

/** A packed-DSP kernel in one of the modules that hold it. */
export interface PackedTarget {
  variant: DspConvVariant;
  kernel: KernelModule;
}

/** Every kernel in every module this engine loads. */
export interface FuzzTargets {
  split: KernelTarget[];
  packed: PackedTarget[];
}

export function fuzzTargets(): FuzzTargets {
  return {
    split: SPLITCONV_VARIANTS.flatMap((variant) => modulesFor(variant).map((kernel) => ({ variant, kernel }))),
    packed: DSPCONV_VARIANTS.flatMap((variant) => modulesFor(variant).map((kernel) => ({ variant, kernel }))),
  };
}

/** How much was checked: a run that never reached a path has not tested it. */
export interface FuzzCounts {
  cases: number;
  /** Split-convolution kernel runs compared with the reference. */
  splitRuns: number;
  /** Packed-DSP kernel runs compared with the engine model. */
  packedRuns: number;
  /** Engine-model configurations within the bound, compared with the exact convolution. */
  exactWithinBound: number;
  /** Engine-model configurations past the bound whose accumulators differ from the exact ones. */
  corruptedPastBound: number;
  /** Slice-model configurations compared with the identity model. */
  sliceChecks: number;
}

export const emptyCounts = (): FuzzCounts => ({ cases: 0, splitRuns: 0, packedRuns: 0, exactWithinBound: 0, corruptedPastBound: 0, sliceChecks: 0 });

export function addCounts(into: FuzzCounts, from: FuzzCounts): void {
  for (const k of Object.keys(into) as (keyof FuzzCounts)[]) into[k] += from[k];
}

export interface CheckOptions {
  /**
   * The oracle of the split-convolution kernels. @default referenceConv
   * (tests pass a broken one to prove that the property fails and how it reports).
   */
  reference?: (p: ConvProblem) => Int8Array | Int32Array;
  /**
   * Cases of at most this many MACs also run the slice model, a BigInt datapath per packed
   * multiply (about 100x slower than the identity model). @default 1500
   */
  sliceMacs?: number;
}

export const DEFAULT_SLICE_MACS = 1500;

function runKernel(label: string, what: string, r: KernelRunner, p: ConvProblem, want: ArrayLike<number>): void {
  r.run();
  const guards = r.guardViolations();
  if (guards.length) throw new VerificationError(`${label} wrote past ${guards.join(', ')}; ${what}`);
  compareOutputs(label, what, p, r.output(), want);
}

/** Every split-convolution kernel on the case; weights from each variant's range. */
export function checkSplit(c: FuzzCase, targets: readonly KernelTarget[], counts: FuzzCounts, opts: CheckOptions = {}): void {
  const reference = opts.reference ?? referenceConv;
  const what = describeCase(c);
  const byRange = new Map<string, KernelTarget[]>();
  for (const t of targets) {
    const key = t.variant.weightRange.join(',');
    byRange.set(key, [...(byRange.get(key) ?? []), t]);
  }
  for (const group of byRange.values()) {
    const range = group[0]!.variant.weightRange;
    const p = caseProblem(c, range);
    const want = reference(p);
    for (const t of group) {
      runKernel(targetLabel(t), `${what} weights in [${range.join(', ')}]`, new KernelRunner(t.variant, t.kernel, p), p, want);
      counts.splitRuns++;
    }
  }
}

const packedLabel = (who: string, cfg: PackedConvConfig) => `${who} ${cfg.scheme} chain=${cfg.chain} decode=${cfg.decode}`;

/** Every packed-DSP kernel, scheme and decode point against the engine model; the model against the exact convolution within the bound. */
export function checkPacked(c: FuzzCase, targets: readonly PackedTarget[], counts: FuzzCounts, opts: CheckOptions = {}): void {
  const what = describeCase(c);
  const small = macs(c.shape) <= (opts.sliceMacs ?? DEFAULT_SLICE_MACS);
  for (const scheme of SCHEME_NAMES) {
    const kernels = targets.filter((t) => t.variant.schemes.includes(scheme));
    const p = fitToScheme(caseProblem(c, SCHEMES[scheme].weightRange), scheme);
    const bound = accumulationBound(SCHEMES[scheme]);
    let exactAcc: Int32Array | undefined;
    let exactOut: Int8Array | Int32Array | undefined;
    for (const decode of DECODE_POINTS) {
      const cfg: PackedConvConfig = { scheme, chain: c.chain, decode };
      const acc = identityPackedAccumulators(p, cfg);
      const want = requantizePacked(p, acc);
      const products = groupProducts(p, cfg);
      exactAcc ??= referenceConv({ ...p, requant: { ...p.requant, mode: 'raw' } }) as Int32Array;
      if (products <= bound) {
        exactOut ??= p.requant.mode === 'raw' ? exactAcc : referenceConv(p);
        const who = packedLabel('engine model', cfg);
        const why = `${what} (${products} products per decode, bound ${bound})`;
        compareOutputs(`${who} vs exact convolution (accumulators)`, why, p, acc, exactAcc);
        compareOutputs(`${who} vs exact convolution`, why, p, want, exactOut);
        counts.exactWithinBound++;
      } else if (acc.some((v, i) => v !== exactAcc![i])) {
        counts.corruptedPastBound++;
      }
      if (small) {
        compareOutputs(`${packedLabel('slice model', cfg)} vs identity model`, what, p, slicePackedAccumulators(p, cfg), acc);
        counts.sliceChecks++;
      }
      for (const t of kernels) {
        runKernel(packedLabel(`${t.variant.name} [${t.kernel.name}]`, cfg), what, new KernelRunner(t.variant, t.kernel, p, cfg), p, want);
        counts.packedRuns++;
      }
    }
  }
}

/** Every check on one case; counts are added only when the whole case passes. */
export function checkCase(c: FuzzCase, targets: FuzzTargets, counts: FuzzCounts, opts: CheckOptions = {}): void {
  const mine = emptyCounts();
  checkSplit(c, targets.split, mine, opts);
  checkPacked(c, targets.packed, mine, opts);
  mine.cases = 1;
  addCounts(counts, mine);
}
