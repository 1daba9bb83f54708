/**
 * Verification of every kernel variant on real layers: each split-convolution variant, in every
 * module this engine accepts (the debug build included), must equal the reference exactly in
 * every requantization mode; each packed-DSP kernel must equal the engine model (the identity
 * model, itself proven equal to the slice model by the tests) for every scheme it computes, at
 * the default chain of 16 with a decode per cascade; onnxruntime-web must equal the reference in
 * fp32 mode. Used by `fkb verify` and `fkb run`.
 */
import { type ConvProblem, REQUANT_MODES, describeShape } from '../conv/layer.ts';
import { referenceAccumulators } from '../reference/conv.ts';
import { requantize } from '../reference/requant.ts';
import { SPLITCONV_VARIANTS } from '../registry/splitconv.ts';
import { DSPCONV_VARIANTS } from '../registry/dspconv.ts';
import { DEFAULT_PACKED_CONFIG, type PackedConvConfig, identityPackedAccumulators, requantizePacked, schemeProblem } from '../dsp/packed-conv.ts';
import { SCHEME_NAMES } from '../dsp/schemes.ts';
import { SplitConvTester, compareOutputs, targetLabel } from '../testers/splitconv-tester.ts';
import { VerificationError } from '../util/errors.ts';
import { SplitConvRunner, modulesFor } from '../wasm/splitconv-runner.ts';
import type { BenchLayer } from '../bench/shapes.ts';

export interface VerifyResult {
  layer: string;
  shape: string;
  kernel: string;
  module: string;
  mode: string;
  outputs: number;
  ok: boolean;
  /** The first difference, when not ok. */
  error?: string;
}

/** The reference output of `p` in `mode`, from accumulators computed once. */
function requantizeAll(p: ConvProblem, acc: Int32Array): Int8Array | Int32Array {
  const r = p.requant;
  if (r.mode === 'raw') return acc;
  const out = new Int8Array(acc.length);
  for (let i = 0; i < acc.length; i++) {
    out[i] = requantize(acc[i]!, { mode: r.mode, scale: r.scale[i % p.shape.outC]!, outputZeroPoint: r.outputZeroPoint, outputMin: r.outputMin, outputMax: r.outputMax });
  }
  return out;
}

export interface VerifyOptions {
  /** Also check onnxruntime-web (fp32 mode). @default true */
  ort?: boolean;
  seed?: number;
  onStep?: (label: string, index: number, total: number) => void;
}

export async function verifyLayers(layers: BenchLayer[], options: VerifyOptions = {}): Promise<VerifyResult[]> {
  const targets = SPLITCONV_VARIANTS.flatMap((variant) => modulesFor(variant).map((kernel) => ({ variant, kernel })));
  const ort = (options.ort ?? true) ? await import('../ort/qlinearconv.ts') : undefined;
  const ranges = [...new Set(targets.map((t) => t.variant.weightRange.join(',')))];
  const packed = SCHEME_NAMES.map((scheme) => ({
    scheme,
    targets: DSPCONV_VARIANTS.filter((v) => v.schemes.includes(scheme)).flatMap((variant) => modulesFor(variant).map((kernel) => ({ variant, kernel }))),
  }));
  const packedRuns = packed.reduce((n, s) => n + 1 + 2 * s.targets.length, 0);
  const total = layers.length * (ranges.length + targets.length * REQUANT_MODES.length + packedRuns + (ort ? 1 : 0));
  let step = 0;
  const results: VerifyResult[] = [];
  for (const layer of layers) {
    const shape = describeShape(layer.shape);
    const tester = new SplitConvTester().shape(layer.shape).inputZeroPoint(-7).outputZeroPoint(5).clamp(-120, 120).seed(options.seed ?? 1).scales(1e-4, 5e-3);
    const accs = new Map<string, Int32Array>();
    for (const range of ranges) {
      options.onStep?.(`${layer.name}: reference (weights in [${range}])`, step++, total);
      accs.set(range, referenceAccumulators(tester.problem(range.split(',').map(Number) as [number, number])));
    }
    for (const t of targets) {
      for (const mode of REQUANT_MODES) {
        options.onStep?.(`${layer.name}: ${targetLabel(t)} ${mode}`, step++, total);
        const p = tester.mode(mode).problem(t.variant.weightRange);
        const want = requantizeAll(p, accs.get(t.variant.weightRange.join(','))!);
        const r = new SplitConvRunner(t.variant, t.kernel, p);
        r.run();
        const base = { layer: layer.name, shape, kernel: t.variant.name, module: t.kernel.name, mode, outputs: want.length };
        try {
          const guards = r.guardViolations();
          if (guards.length) throw new VerificationError(`${targetLabel(t)} wrote past ${guards.join(', ')}`);
          compareOutputs(targetLabel(t), `${layer.name} ${tester.describe()}`, p, r.output(), want);
          results.push({ ...base, ok: true });
        } catch (e) {
          if (!(e instanceof VerificationError)) throw e;
          results.push({ ...base, ok: false, error: e.message });
        }
      }
    }
    for (const { scheme, targets: dspTargets } of packed) {
      options.onStep?.(`${layer.name}: packed-DSP engine model (${scheme})`, step++, total);
      const cfg: PackedConvConfig = { ...DEFAULT_PACKED_CONFIG, scheme };
      const base = schemeProblem(layer.shape, scheme, 'random', 'raw', options.seed ?? 1);
      const modelAcc = identityPackedAccumulators(base, cfg);
      for (const t of dspTargets) {
        for (const mode of ['raw', 'gemmlowp'] as const) {
          options.onStep?.(`${layer.name}: ${targetLabel(t)} ${scheme} ${mode}`, step++, total);
          const p = { ...base, requant: { ...base.requant, mode } };
          const want = requantizePacked(p, modelAcc);
          const r = new SplitConvRunner(t.variant, t.kernel, p, cfg);
          r.run();
          const row = { layer: layer.name, shape, kernel: `${t.variant.name} (${scheme}, L=${cfg.chain}, ${cfg.decode})`, module: t.kernel.name, mode, outputs: want.length };
          try {
            const guards = r.guardViolations();
            if (guards.length) throw new VerificationError(`${targetLabel(t)} wrote past ${guards.join(', ')}`);
            compareOutputs(`${targetLabel(t)} ${scheme}`, `${layer.name} chain=${cfg.chain} decode=${cfg.decode}`, p, r.output(), want);
            results.push({ ...row, ok: true });
          } catch (e) {
            if (!(e instanceof VerificationError)) throw e;
            results.push({ ...row, ok: false, error: e.message });
          }
        }
      }
    }
    if (ort) {
      options.onStep?.(`${layer.name}: onnxruntime-web QLinearConv`, step++, total);
      const p = tester.mode('fp32').clamp(-128, 127).problem();
      const want = requantizeAll(p, accs.get('-128,127')!);
      const conv = await ort.createOrtQLinearConv(p, { activations: 'uint8' });
      const base = { layer: layer.name, shape, kernel: 'onnxruntime-web QLinearConv (uint8)', module: 'onnxruntime-web', mode: 'fp32', outputs: want.length };
      try {
        compareOutputs('onnxruntime-web', `${layer.name} ${tester.describe()}`, p, await conv.run(p.input), want);
        results.push({ ...base, ok: true });
      } catch (e) {
        if (!(e instanceof VerificationError)) throw e;
        results.push({ ...base, ok: false, error: e.message });
      } finally {
        await conv.release();
      }
    }
  }
  return results;
}
