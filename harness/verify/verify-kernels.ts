/**
 * Verification of every kernel variant on real layers: each split-convolution variant, in every
 * module this engine accepts (the debug build included), must equal the reference exactly in
 * every requantization mode; each packed-DSP kernel must equal the engine model (the identity
 * model, itself proven equal to the slice model by the tests) for every scheme it computes, at
 * the default chain of 16 with a decode per cascade; onnxruntime-web must equal the reference in
 * fp32 mode. Used by `fkb verify` and `fkb run`.
 *
 * The work is a list of independent tasks (one reference computation and every kernel checked
 * against it), so `--threads N` can hand them to worker threads; the results do not depend on
 * how the tasks are shared (they are returned in task order).
 */
import { type ConvProblem, REQUANT_MODES, describeShape } from '../conv/layer.ts';
import { referenceAccumulators } from '../reference/conv.ts';
import { requantize } from '../reference/requant.ts';
import { SPLITCONV_VARIANTS } from '../registry/splitconv.ts';
import { DSPCONV_VARIANTS } from '../registry/dspconv.ts';
import { DEFAULT_PACKED_CONFIG, type PackedConvConfig, identityPackedAccumulators, requantizePacked } from '../dsp/packed-conv.ts';
import { schemeProblem } from '../problems/scheme-problem.ts';
import { SCHEME_NAMES, type SchemeName } from '../dsp/schemes.ts';
import { type KernelTarget, KernelTester, compareOutputs, targetLabel } from '../testers/kernel-tester.ts';
import { VerificationError } from '../util/errors.ts';
import { KernelRunner, modulesFor } from '../wasm/kernel-runner.ts';
import type { BenchLayer } from '../bench/shapes.ts';
import type { VerifyResult } from '../results/index.ts';


/** One unit of verification work: a reference and every kernel checked against it. */
export type VerifyTask =
  | { layer: number; kind: 'split'; range: readonly [number, number] }
  | { layer: number; kind: 'packed'; scheme: SchemeName }
  | { layer: number; kind: 'ort' };

export interface VerifyOptions {
  /** Also check onnxruntime-web (fp32 mode). @default true */
  ort?: boolean;
  seed?: number;
  /** Worker threads sharing the tasks. @default 1 (this thread) */
  threads?: number;
  onStep?: (label: string, index: number, total: number) => void;
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

export function verifyTasks(layers: BenchLayer[], ort = true): VerifyTask[] {
  const ranges = new Map(SPLITCONV_VARIANTS.map((v) => [v.weightRange.join(','), v.weightRange]));
  const tasks: VerifyTask[] = [];
  layers.forEach((_, layer) => {
    for (const range of ranges.values()) tasks.push({ layer, kind: 'split', range });
    for (const scheme of SCHEME_NAMES) tasks.push({ layer, kind: 'packed', scheme });
    if (ort) tasks.push({ layer, kind: 'ort' });
  });
  return tasks;
}

export function describeTask(layers: BenchLayer[], t: VerifyTask): string {
  const name = layers[t.layer]!.name;
  if (t.kind === 'split') return `${name}: split-convolution variants, weights in [${t.range.join(', ')}]`;
  if (t.kind === 'packed') return `${name}: packed-DSP kernels, ${t.scheme}`;
  return `${name}: onnxruntime-web QLinearConv`;
}

function check(results: VerifyResult[], row: Omit<VerifyResult, 'ok' | 'error'>, fn: () => void): void {
  try {
    fn();
    results.push({ ...row, ok: true });
  } catch (e) {
    if (!(e instanceof VerificationError)) throw e;
    results.push({ ...row, ok: false, error: e.message });
  }
}

function runKernel(t: KernelTarget, p: ConvProblem, dsp?: PackedConvConfig): { out: Int8Array | Int32Array; guards: string[] } {
  const r = new KernelRunner(t.variant, t.kernel, p, dsp);
  r.run();
  return { out: r.output(), guards: r.guardViolations() };
}

export async function runVerifyTask(layers: BenchLayer[], task: VerifyTask, seed = 1): Promise<VerifyResult[]> {
  const layer = layers[task.layer]!;
  const shape = describeShape(layer.shape);
  const tester = new KernelTester().shape(layer.shape).inputZeroPoint(-7).outputZeroPoint(5).clamp(-120, 120).seed(seed).scales(1e-4, 5e-3);
  const results: VerifyResult[] = [];
  if (task.kind === 'split') {
    const key = task.range.join(',');
    const acc = referenceAccumulators(tester.problem(task.range));
    const targets = SPLITCONV_VARIANTS.filter((v) => v.weightRange.join(',') === key).flatMap((variant) => modulesFor(variant).map((kernel) => ({ variant, kernel })));
    for (const t of targets) {
      for (const mode of REQUANT_MODES) {
        const p = tester.mode(mode).problem(task.range);
        const want = requantizeAll(p, acc);
        const { out, guards } = runKernel(t, p);
        check(results, { layer: layer.name, shape, kernel: t.variant.name, module: t.kernel.name, mode, outputs: want.length }, () => {
          if (guards.length) throw new VerificationError(`${targetLabel(t)} wrote past ${guards.join(', ')}`);
          compareOutputs(targetLabel(t), `${layer.name} ${tester.describe()}`, p, out, want);
        });
      }
    }
  } else if (task.kind === 'packed') {
    const cfg: PackedConvConfig = { ...DEFAULT_PACKED_CONFIG, scheme: task.scheme };
    const base = schemeProblem(layer.shape, task.scheme, 'random', 'raw', seed);
    const modelAcc = identityPackedAccumulators(base, cfg);
    const targets = DSPCONV_VARIANTS.filter((v) => v.schemes.includes(task.scheme)).flatMap((variant) => modulesFor(variant).map((kernel) => ({ variant, kernel })));
    for (const t of targets) {
      for (const mode of ['raw', 'gemmlowp'] as const) {
        const p = { ...base, requant: { ...base.requant, mode } };
        const want = requantizePacked(p, modelAcc);
        const { out, guards } = runKernel(t, p, cfg);
        const kernel = `${t.variant.name} (${task.scheme}, L=${cfg.chain}, ${cfg.decode})`;
        check(results, { layer: layer.name, shape, kernel, module: t.kernel.name, mode, outputs: want.length }, () => {
          if (guards.length) throw new VerificationError(`${targetLabel(t)} wrote past ${guards.join(', ')}`);
          compareOutputs(`${targetLabel(t)} ${task.scheme}`, `${layer.name} chain=${cfg.chain} decode=${cfg.decode}`, p, out, want);
        });
      }
    }
  } else {
    const ort = await import('../ort/qlinearconv.ts');
    const p = tester.mode('fp32').clamp(-128, 127).problem();
    const want = requantizeAll(p, referenceAccumulators(p));
    const conv = await ort.createOrtQLinearConv(p, { activations: 'uint8' });
    try {
      const got = await conv.run(p.input);
      check(results, { layer: layer.name, shape, kernel: 'onnxruntime-web QLinearConv (uint8)', module: 'onnxruntime-web', mode: 'fp32', outputs: want.length }, () =>
        compareOutputs('onnxruntime-web', `${layer.name} ${tester.describe()}`, p, got, want),
      );
    } finally {
      await conv.release();
    }
  }
  return results;
}

export async function verifyLayers(layers: BenchLayer[], options: VerifyOptions = {}): Promise<VerifyResult[]> {
  const tasks = verifyTasks(layers, options.ort ?? true);
  const threads = Math.max(1, Math.min(options.threads ?? 1, tasks.length));
  const perTask: VerifyResult[][] = new Array(tasks.length);
  if (threads === 1) {
    for (const [i, t] of tasks.entries()) {
      options.onStep?.(describeTask(layers, t), i, tasks.length);
      perTask[i] = await runVerifyTask(layers, t, options.seed);
    }
  } else {
    const { runInWorkers } = await import('../parallel/pool.ts');
    let done = 0;
    await runInWorkers(
      new URL('./verify-job.ts', import.meta.url),
      threads,
      tasks.map((task, i) => ({ id: i, job: { layers, task, seed: options.seed ?? 1 } })),
      (id, result) => {
        perTask[id] = result as VerifyResult[];
        options.onStep?.(describeTask(layers, tasks[id]!), ++done, tasks.length);
      },
    );
  }
  return perTask.flat();
}
