/**
 * Threads inside a layer, measured: every variant (split-convolution and packed-DSP) on each
 * layer, on one thread (the single-thread module's `_run`, what every other benchmark runs) and
 * on N threads (harness/threads/), side by side. The N-thread output must equal the one-thread
 * output byte for byte before anything is timed. The two are timed in alternating rounds, so a
 * shared machine that speeds up or slows down during the run moves both alike; p50 ± MAD over
 * every call, GMAC/s at the p50, and the ratio of the p50s.
 * Platform-neutral: the caller passes the thread pools (Node's or the browser's workers).
 */
import { type ConvProblem, type RequantMode, describeShape, macs } from '../conv/layer.ts';
import { DEFAULT_PACKED_CONFIG, type PackedConvConfig } from '../dsp/packed-conv.ts';
import { SCHEMES } from '../dsp/schemes.ts';
import { fitToScheme } from '../problems/scheme-problem.ts';
import { DSPCONV_VARIANTS } from '../registry/dspconv.ts';
import { SPLITCONV_VARIANTS } from '../registry/splitconv.ts';
import { KernelTester, compareOutputs } from '../testers/kernel-tester.ts';
import { type ThreadPools, threadedUnavailable } from '../threads/mt-modules.ts';
import { ThreadedKernelRunner } from '../threads/threaded-runner.ts';
import { p50Mad } from '../util/stats.ts';
import { type KernelVariant, KernelRunner, modulesFor } from '../wasm/kernel-runner.ts';
import type { BenchLayer } from './shapes.ts';

export interface Timing {
  p50Ms: number;
  madMs: number;
  samples: number;
  gmacs: number;
}

export interface ThreadsRow {
  layer: string;
  shape: string;
  variant: string;
  module: string;
  /** Packed-DSP kernels: the engine they emulate. */
  dsp?: PackedConvConfig;
  threads: number;
  one: Timing;
  many: Timing;
  /** one.p50 / many.p50. */
  speedup: number;
}

export interface ThreadsReport {
  threads: number;
  mode: string;
  rows: ThreadsRow[];
  /** Variants this engine cannot run threaded, and why. */
  skipped: { variant: string; reason: string }[];
}

export interface ThreadsBenchOptions {
  threads: number;
  pools: ThreadPools;
  /** Measuring time per variant and layer, both sides together, ms. @default 400 */
  timeMs?: number;
  mode?: Exclude<RequantMode, 'raw'>;
  filter?: string[];
  seed?: number;
  dsp?: PackedConvConfig;
  onTask?: (label: string, index: number, total: number) => void;
}

/** Alternating rounds of `a` and `b` (each call timed), until `timeMs` is spent and each has 5 calls. */
export function timeAlternating(a: () => void, b: () => void, timeMs: number): [number[], number[]] {
  const rounds = 8;
  const sa: number[] = [];
  const sb: number[] = [];
  for (let w = 0; w < 3; w++) {
    a();
    b();
  }
  const t0 = performance.now();
  for (let r = 0; r < rounds || sa.length < 5 || sb.length < 5; r++) {
    for (const [f, s] of [[a, sa], [b, sb]] as const) {
      const until = performance.now() + timeMs / rounds / 2;
      do {
        const t = performance.now();
        f();
        s.push(performance.now() - t);
      } while (performance.now() < until);
    }
    if (r >= rounds && performance.now() - t0 > 4 * timeMs) break;
  }
  return [sa, sb];
}

export function timing(samples: number[], layerMacs: number): Timing {
  const { p50, mad } = p50Mad(samples);
  return { p50Ms: p50, madMs: mad, samples: samples.length, gmacs: layerMacs / p50 / 1e6 };
}

function selected(filter: string[] | undefined, v: KernelVariant): boolean {
  return !filter?.length || filter.some((f) => v.name.includes(f));
}

export async function benchmarkThreadsInLayer(layers: BenchLayer[], o: ThreadsBenchOptions): Promise<ThreadsReport> {
  const timeMs = o.timeMs ?? 400;
  const mode = o.mode ?? 'fp32';
  const dsp = o.dsp ?? DEFAULT_PACKED_CONFIG;
  const variants: KernelVariant[] = [
    ...SPLITCONV_VARIANTS.filter((v) => selected(o.filter, v)),
    ...DSPCONV_VARIANTS.filter((v) => v.schemes.includes(dsp.scheme) && selected(o.filter, v)),
  ];
  const skipped: ThreadsReport['skipped'] = [];
  const runnable = variants.filter((v) => {
    const why = threadedUnavailable(v) ?? (modulesFor(v).some((k) => k.name === v.module) ? undefined : `its ${v.module} module is not usable here`);
    if (why) skipped.push({ variant: v.name, reason: why });
    return !why;
  });
  const rows: ThreadsRow[] = [];
  const total = layers.length * runnable.length;
  let index = 0;
  for (const layer of layers) {
    const tester = new KernelTester().shape(layer.shape).inputZeroPoint(-5).outputZeroPoint(3).mode(mode).seed(o.seed ?? 1).scales(2e-4, 2e-3);
    const layerMacs = macs(layer.shape);
    for (const v of runnable) {
      o.onTask?.(`${layer.name}: ${v.name} on 1 and ${o.threads} threads`, index++, total);
      const packed = 'schemes' in v;
      const p: ConvProblem = packed ? fitToScheme(tester.problem(SCHEMES[dsp.scheme].weightRange), dsp.scheme) : tester.problem(v.weightRange);
      const one = new KernelRunner(v, modulesFor(v).find((k) => k.name === v.module)!, p, packed ? dsp : undefined);
      const pool = await o.pools.forVariant(v);
      const mark = pool.mark();
      try {
        const many = new ThreadedKernelRunner(v, pool, p, packed ? dsp : undefined);
        one.run();
        many.run();
        compareOutputs(`${v.name} on ${o.threads} threads`, `${layer.name} ${describeShape(layer.shape)}`, p, many.output(), one.output());
        const [s1, sn] = timeAlternating(() => one.run(), () => many.run(), timeMs);
        const a = timing(s1, layerMacs);
        const b = timing(sn, layerMacs);
        rows.push({
          layer: layer.name,
          shape: describeShape(layer.shape),
          variant: v.name,
          module: v.module,
          ...(packed ? { dsp } : {}),
          threads: o.threads,
          one: a,
          many: b,
          speedup: a.p50Ms / b.p50Ms,
        });
      } finally {
        pool.release(mark);
      }
    }
  }
  return { threads: o.threads, mode, rows, skipped };
}
