/**
 * The LiteRT.js page of `fkb serve` (/litert): our kernels and LiteRT.js (XNNPACK, the
 * package's own wasm builds, served from node_modules) on the reference layer, in the same
 * browser and the same run. LiteRT's output is first checked against our scalar kernel in `fp32`
 * mode (float32 scales) on every output; a difference refuses its timing. Then tinybench times
 * every variant and LiteRT.js at 1 thread, and at 2 when the page is cross-origin isolated
 * (SharedArrayBuffer, which the threaded build needs; the server sends COOP/COEP here) unless
 * the page is opened with ?threads=1, which loads the single-threaded build instead. On an
 * isolated page our kernels also run on 1 and 2 threads inside the layer (harness/threads/, Web
 * Workers), their outputs compared byte for byte before they are timed.
 * Results are left on `window.__fkbLitert` for the Playwright driver.
 */
import { Bench } from 'tinybench';
import { CODE_MODES, type ConvShape, macs } from '../conv/layer.ts';
import type { Measurement } from '../results/index.ts';
import { KernelTester } from '../testers/kernel-tester.ts';
import { createLiteRtConv } from '../tflite/litert-conv.ts';
import { type LiteRt, type LiteRtPackage, liteRtLog, setLiteRtLoader } from '../tflite/litert.ts';
import { loadServedModules } from './served-modules.ts';
import { KernelRunner, modulesFor } from '../wasm/kernel-runner.ts';
import { SPLITCONV_VARIANTS } from '../registry/splitconv.ts';
import { DSPCONV_VARIANTS } from '../registry/dspconv.ts';
import { DEFAULT_PACKED_CONFIG } from '../dsp/packed-conv.ts';
import { fitToScheme } from '../problems/scheme-problem.ts';
import { SCHEMES } from '../dsp/schemes.ts';
import { ThreadPools, threadedUnavailable } from '../threads/mt-modules.ts';
import { ThreadedKernelRunner } from '../threads/threaded-runner.ts';
import type { KernelVariant } from '../wasm/kernel-runner.ts';
import { browserHost } from './thread-host.ts';

export type LiteRtPageRow = Pick<Measurement, 'kernel' | 'module' | 'p50Ms' | 'madMs' | 'samples' | 'gmacs'>;

export interface LiteRtPageState {
  done: boolean;
  error?: string;
  userAgent: string;
  crossOriginIsolated: boolean;
  modules: Record<string, string>;
  litertBuild?: string;
  /** LiteRT's outputs that differ from our reference, per requantization mode and thread count. */
  differing: Record<string, Record<string, number>>;
  rows: LiteRtPageRow[];
  log: string[];
  /**
   * Our kernels on 2 threads inside the layer (cross-origin isolated pages only): per variant,
   * whether its output equals the one-thread output byte for byte, or why it did not run.
   */
  threaded: Record<string, { exact: boolean } | { skipped: string }>;
}

declare global {
  interface Window {
    __fkbLitert: LiteRtPageState;
  }
}

/** The reference layer of bench/shapes/default.json, with the operands `fkb bench` uses. */
const REFERENCE: ConvShape = { inH: 56, inW: 56, inC: 64, outC: 64, kH: 3, kW: 3, strideH: 1, strideW: 1, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 };

const state: LiteRtPageState = { done: false, userAgent: navigator.userAgent, crossOriginIsolated: self.crossOriginIsolated, modules: {}, differing: {}, rows: [], log: [], threaded: {} };
window.__fkbLitert = state;
const status = (text: string) => {
  document.getElementById('status')!.textContent = text;
};

/** LiteRT.js from the server's /litert/ routes (node_modules), its log captured. */
function installPageLoader(): void {
  setLiteRtLoader(async (options, log) => {
    const spec = '/litert/index.js'; // served from node_modules; a variable, so the bundler leaves it alone
    const mod = (await import(spec)) as LiteRtPackage;
    (window as unknown as Record<string, unknown>).Module = { print: log, printErr: log };
    const liteRt: LiteRt = await mod.loadLiteRt('/litert/wasm/', { threads: options.threads ?? false });
    const script = performance.getEntriesByType('resource').map((e) => e.name).find((n) => /litert_wasm_\w+\.js$/.test(n)) ?? '';
    return { liteRt, info: { build: script.split('/').pop() ?? '', threads: options.threads ?? false } };
  });
}

async function measure(fn: () => unknown, ms: number): Promise<{ p50: number; mad: number; n: number }> {
  const bench = new Bench({ time: ms, iterations: 5, warmupTime: Math.min(100, ms / 4), warmupIterations: 1, throws: true });
  bench.add('t', fn as () => void);
  await bench.run();
  const r = bench.tasks[0]!.result;
  if (r.state !== 'completed') throw new Error(`benchmark did not complete: ${r.state}`);
  return { p50: r.latency.p50, mad: r.latency.mad, n: r.latency.samplesCount };
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const ms = Number(params.get('time') ?? 400);
  state.modules = await loadServedModules();

  installPageLoader();
  // ?threads=1: only the single-threaded build (the relaxed-SIMD one where the browser has it).
  const threads = state.crossOriginIsolated && params.get('threads') !== '1' ? [1, 2] : [1];
  const p = new KernelTester().shape(REFERENCE).inputZeroPoint(-5).outputZeroPoint(3).mode('fp32').seed(1).scales(2e-4, 2e-3).problem();
  const layerMacs = macs(REFERENCE);
  const scalar = SPLITCONV_VARIANTS.find((v) => v.module === 'scalar')!;

  status('checking LiteRT.js against our reference ...');
  const convs = [];
  for (const n of threads) {
    const conv = await createLiteRtConv(p, { numThreads: n, threads: threads.length > 1 });
    state.litertBuild = conv.build;
    const got = await conv.output();
    state.differing[`${n}`] = {};
    for (const mode of CODE_MODES) {
      const q = { ...conv.problem, requant: { ...conv.problem.requant, mode } };
      const r = new KernelRunner(scalar, modulesFor(scalar)[0]!, q);
      r.run();
      const want = r.output();
      let d = 0;
      for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) d++;
      state.differing[`${n}`]![mode] = d;
    }
    convs.push({ n, conv });
  }

  status('benchmarking ...');
  for (const v of SPLITCONV_VARIANTS) {
    for (const kernel of modulesFor(v).filter((k) => k.name !== 'debug')) {
      const r = new KernelRunner(v, kernel, new KernelTester().shape(REFERENCE).inputZeroPoint(-5).outputZeroPoint(3).mode('fp32').seed(1).scales(2e-4, 2e-3).problem(v.weightRange));
      const s = await measure(() => r.run(), ms);
      state.rows.push({ kernel: v.name, module: kernel.name, p50Ms: s.p50, madMs: s.mad, samples: s.n, gmacs: layerMacs / s.p50 / 1e6 });
    }
  }
  if (threads.includes(2)) await ourThreads(ms, 2, layerMacs);
  for (const { n, conv } of convs) {
    if (state.differing[`${n}`]!['fp32'] !== 0) continue; // not exact: not timed
    const s = await measure(() => conv.run(), ms);
    state.rows.push({ kernel: `LiteRT.js CONV_2D (XNNPACK, ${n} thread${n > 1 ? 's' : ''})`, module: state.litertBuild ?? 'litert.js', p50Ms: s.p50, madMs: s.mad, samples: s.n, gmacs: layerMacs / s.p50 / 1e6 });
    conv.release();
  }
  state.log = [...liteRtLog()];
  const rows = [...state.rows].sort((a, b) => a.p50Ms - b.p50Ms);
  document.getElementById('out')!.textContent = rows.map((r) => `${r.kernel.padEnd(60)} ${r.module.padEnd(30)} ${r.p50Ms.toFixed(3)} ± ${r.madMs.toFixed(3)} ms  ${r.gmacs.toFixed(1)} GMAC/s`).join('\n');
  status(Object.values(state.differing).some((d) => d['fp32'] !== 0) ? 'done: LiteRT.js differs from our fp32 reference (not timed)' : 'done');
  state.done = true;
}

/**
 * Every variant (the packed-DSP ones in the default engine) on one thread and on `n` threads
 * inside the layer (Web Workers on a shared memory): outputs compared first, then both timed.
 */
async function ourThreads(ms: number, n: number, layerMacs: number): Promise<void> {
  status(`our kernels on 1 and ${n} threads ...`);
  const pools = new ThreadPools(n, browserHost);
  const t = new KernelTester().shape(REFERENCE).inputZeroPoint(-5).outputZeroPoint(3).mode('fp32').seed(1).scales(2e-4, 2e-3);
  const dsp = DEFAULT_PACKED_CONFIG;
  const variants: KernelVariant[] = [...SPLITCONV_VARIANTS.filter((v) => v.module !== 'scalar'), ...DSPCONV_VARIANTS.filter((v) => v.schemes.includes(dsp.scheme))];
  try {
    for (const v of variants) {
      const single = modulesFor(v).find((k) => k.name === v.module);
      const why = threadedUnavailable(v) ?? (single ? undefined : `its ${v.module} module is not used here`);
      if (why) {
        state.threaded[v.name] = { skipped: why };
        continue;
      }
      const packed = 'schemes' in v;
      const p = packed ? fitToScheme(t.problem(SCHEMES[dsp.scheme].weightRange), dsp.scheme) : t.problem(v.weightRange);
      const one = new KernelRunner(v, single!, p, packed ? dsp : undefined);
      const many = new ThreadedKernelRunner(v, await pools.forVariant(v), p, packed ? dsp : undefined);
      one.run();
      many.run();
      const a = one.output();
      const b = many.output();
      const exact = a.length === b.length && a.every((x, i) => x === b[i]);
      state.threaded[v.name] = { exact };
      if (!exact) continue; // not the same bytes: not timed
      const name = packed ? `${v.name} (${dsp.scheme})` : v.name;
      for (const [label, r, module] of [[`${name} (1 thread)`, one, v.module], [`${name} (${n} threads)`, many, `${v.module}-mt`]] as const) {
        const s = await measure(() => r.run(), ms);
        state.rows.push({ kernel: label, module, p50Ms: s.p50, madMs: s.mad, samples: s.n, gmacs: layerMacs / s.p50 / 1e6 });
      }
    }
  } finally {
    await pools.close();
  }
}

main().catch((e: unknown) => {
  state.error = String((e as Error)?.stack ?? e);
  state.done = true;
  status(`error: ${state.error}`);
});
