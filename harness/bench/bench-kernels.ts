/**
 * Benchmarks every registered split-convolution variant (and onnxruntime-web's QLinearConv) on
 * a list of layers, with tinybench. Reports p50 ± MAD of the latency, GMAC/s at the p50, and
 * ratios against the scalar variant and onnxruntime measured in the same run. Every timed
 * kernel's output is first checked against the scalar variant (or, for restricted-domain
 * variants, against a general variant run on the same restricted problem), and onnxruntime's
 * against ours in `fp32` mode: a measurement of a wrong kernel is not reported as a result.
 * With `litertThreads`, LiteRT.js (XNNPACK) runs the same layer as a one-CONV_2D `.tflite` model;
 * its output must equal our scalar kernel's in `fp32` mode (scales rounded to float32, as the
 * file stores them) on every output, and the rows count its differences from the other modes.
 */
import { cpus } from 'node:os';
import { readFileSync } from 'node:fs';
import { Bench } from 'tinybench';
import { CODE_MODES, type ConvProblem, type RequantMode, describeShape, macs } from '../conv/layer.ts';
import { SPLITCONV_VARIANTS, type SplitConvVariant } from '../registry/splitconv.ts';
import { DSPCONV_VARIANTS } from '../registry/dspconv.ts';
import { DEFAULT_PACKED_CONFIG, type PackedConvConfig } from '../dsp/packed-conv.ts';
import { fitToScheme } from '../problems/scheme-problem.ts';
import { SCHEMES, SCHEME_NAMES } from '../dsp/schemes.ts';
import { verifyExhaustive } from '../exactness/datapath.ts';
import { KernelTester, compareOutputs } from '../testers/kernel-tester.ts';
import { InputError, VerificationError } from '../util/errors.ts';
import { type LoadedModuleName, loadModules } from '../wasm/modules.ts';
import { KernelRunner, modulesFor } from '../wasm/kernel-runner.ts';
import type { BenchLayer } from './shapes.ts';
import type { BenchReport, ExhaustiveTiming, MachineInfo, Measurement } from '../results/index.ts';

export interface BenchOptions {
  /** Minimum measuring time per task, ms. @default 400 */
  timeMs?: number;
  /** Minimum measured iterations per task. @default 5 */
  minIterations?: number;
  /** Requantization mode of the kernels; onnxruntime always runs the equivalent of fp32. @default 'fp32' */
  mode?: Exclude<RequantMode, 'raw'>;
  /** Also measure onnxruntime-web. @default true */
  ort?: boolean;
  /**
   * Also measure LiteRT.js (XNNPACK) with these thread counts; [] skips it. A count above 1 loads
   * its threaded build, which needs relaxed SIMD (Node 22+, e.g. `--engine node24`). @default []
   */
  litertThreads?: number[];
  /** Only variants whose name contains one of these substrings (the scalar baseline always runs). */
  filter?: string[];
  /** Seed of the random operands. @default 1 */
  seed?: number;
  /** The packed-DSP engine the packed kernels emulate. @default int8x8, chain 16, cascade decode */
  dsp?: PackedConvConfig;
  /** Also measure the packed-DSP kernels. @default true */
  packed?: boolean;
  /**
   * Worker threads measuring layers at the same time. @default 1. With more, every kernel is
   * still verified the same way, but timings share the machine's cores and memory system.
   */
  threads?: number;
  /** Called before each task with a short label. */
  onTask?: (label: string, index: number, total: number) => void;
}




export function machineInfo(): MachineInfo {
  let flags = '';
  try {
    flags = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // not Linux: leave the flag unknown (false)
  }
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    avxVnni: /\bavx_vnni\b/.test(flags),
    node: process.version,
    v8: process.versions.v8,
  };
}

function stats(bench: Bench): { p50: number; mad: number; samples: number } {
  const r = bench.tasks[0]!.result;
  if (r.state !== 'completed') {
    const why = r.state === 'errored' ? r.error.message : r.state;
    throw new Error(`benchmark task ${bench.tasks[0]!.name} did not complete: ${why}`);
  }
  return { p50: r.latency.p50, mad: r.latency.mad, samples: r.latency.samplesCount };
}

/** One tinybench run of `fn`, sized so a slow task still gets its minimum iterations. */
async function measure(name: string, fn: () => unknown, timeMs: number, minIterations: number) {
  const bench = new Bench({
    time: timeMs,
    iterations: minIterations,
    warmupTime: Math.min(100, timeMs / 4),
    warmupIterations: 1,
    timestampProvider: 'hrtimeNow',
    throws: true,
  });
  bench.add(name, fn as () => void);
  await bench.run();
  return stats(bench);
}

/** Problems of one layer: the general one, and one per restricted weight domain. */
function problemsFor(layer: BenchLayer, mode: Exclude<RequantMode, 'raw'>, seed: number) {
  const tester = new KernelTester().shape(layer.shape).inputZeroPoint(-5).outputZeroPoint(3).mode(mode).seed(seed).scales(2e-4, 2e-3);
  const cache = new Map<string, ConvProblem>();
  return (range: readonly [number, number]): ConvProblem => {
    const key = range.join(',');
    if (!cache.has(key)) cache.set(key, tester.problem(range));
    return cache.get(key)!;
  };
}

/**
 * Initializes onnxruntime and runs a small convolution until V8 has compiled its hot functions.
 * Otherwise the background compilation of ORT's large module competes for the cores with the
 * kernels measured before it and slows them down.
 */
async function warmUpOrt(ort: typeof import('../ort/qlinearconv.ts')): Promise<void> {
  const p = new KernelTester().image(28).channels(32, 32).kernel(3).pad(1).mode('fp32').problem();
  for (const activations of ['uint8', 'int8'] as const) {
    const conv = await ort.createOrtQLinearConv(p, { activations });
    const x = conv.toNCHW(p.input);
    for (let i = 0; i < 30; i++) await conv.runNCHW(x);
    await conv.release();
  }
  await new Promise((resolve) => setTimeout(resolve, 1000));
}

/** Loads LiteRT.js and runs a small convolution until V8 has compiled its module (see warmUpOrt). */
async function warmUpLiteRt(litert: typeof import('../tflite/litert-conv.ts'), threads: boolean): Promise<void> {
  const p = new KernelTester().image(28).channels(32, 32).kernel(3).pad(1).mode('fp32').problem();
  const conv = await litert.createLiteRtConv(p, { threads });
  for (let i = 0; i < 30; i++) await conv.run();
  conv.release();
  await new Promise((resolve) => setTimeout(resolve, 1000));
}

/** Layers shared by worker threads (each benchmarks whole layers); reports merged in layer order. */
async function benchmarkInWorkers(layers: BenchLayer[], options: BenchOptions, threads: number): Promise<BenchReport> {
  const { runInWorkers } = await import('../parallel/pool.ts');
  const { onTask, threads: _t, ...rest } = options;
  const parts: BenchReport[] = new Array(layers.length);
  let done = 0;
  await runInWorkers(new URL('./bench-job.ts', import.meta.url), threads, layers.map((layer, id) => ({ id, job: { layer, options: rest } })), (id, r) => {
    parts[id] = r as BenchReport;
    onTask?.(`${layers[id]!.name} done`, ++done, layers.length);
  });
  return { ...parts[0]!, options: { ...parts[0]!.options, threads }, measurements: parts.flatMap((p) => p.measurements) };
}

/**
 * Times the exhaustive verification of each packing scheme (2^24 operand triples for the INT8
 * schemes, 2^16 for INT4) with tinybench; the enumeration runs in WebAssembly.
 */
export async function benchmarkExhaustive(timeMs = 400): Promise<ExhaustiveTiming[]> {
  const out: ExhaustiveTiming[] = [];
  for (const scheme of SCHEME_NAMES) {
    let last = verifyExhaustive(scheme);
    const s = await measure(`exhaustive ${scheme}`, () => (last = verifyExhaustive(scheme)), timeMs, 3);
    out.push({ scheme, cases: last.cases, mismatches: last.mismatches, p50Ms: s.p50, madMs: s.mad, samples: s.samples });
  }
  return out;
}

export async function benchmarkLayers(layers: BenchLayer[], options: BenchOptions = {}): Promise<BenchReport> {
  const threads = Math.max(1, Math.min(options.threads ?? 1, layers.length));
  if (threads > 1) return benchmarkInWorkers(layers, options, threads);
  const opts = {
    timeMs: options.timeMs ?? 400,
    minIterations: options.minIterations ?? 5,
    mode: options.mode ?? 'fp32',
    ort: options.ort ?? true,
    litertThreads: options.litertThreads ?? [],
    seed: options.seed ?? 1,
    filter: options.filter ?? [],
    dsp: options.dsp ?? DEFAULT_PACKED_CONFIG,
    packed: options.packed ?? true,
  };
  const packedTargets = opts.packed
    ? DSPCONV_VARIANTS.filter((v) => v.schemes.includes(opts.dsp.scheme))
        .filter((v) => opts.filter.length === 0 || opts.filter.some((f) => v.name.includes(f)))
        .flatMap((v) => modulesFor(v).filter((k) => k.name !== 'debug').map((kernel) => ({ v, kernel })))
    : [];
  const variants = SPLITCONV_VARIANTS.filter(
    (v) => v.module === 'scalar' || opts.filter.length === 0 || opts.filter.some((f) => v.name.includes(f)),
  );
  const targets = variants.flatMap((v) => modulesFor(v).filter((k) => k.name !== 'debug').map((kernel) => ({ v, kernel })));
  if (opts.filter.length > 0 && variants.every((v) => v.module === 'scalar') && packedTargets.length === 0) {
    const names = [...SPLITCONV_VARIANTS, ...DSPCONV_VARIANTS].filter((v) => v.module !== 'scalar').map((v) => v.name);
    throw new InputError(`--filter ${opts.filter.join(' ')} matches no SIMD variant, so only the scalar baseline would run; the SIMD variants are ${names.join(', ')}`);
  }
  const ortModule = opts.ort ? await import('../ort/qlinearconv.ts') : undefined;
  if (ortModule) await warmUpOrt(ortModule);
  const ortEncodings = ['uint8', 'int8'] as const;
  const litertModule = opts.litertThreads.length ? await import('../tflite/litert-conv.ts') : undefined;
  const litertThreaded = opts.litertThreads.some((n) => n > 1);
  if (litertModule) await warmUpLiteRt(litertModule, litertThreaded);
  const total = layers.length * (targets.length + packedTargets.length + (ortModule ? ortEncodings.length : 0) + opts.litertThreads.length);
  let index = 0;
  const measurements: Measurement[] = [];

  for (const layer of layers) {
    const problem = problemsFor(layer, opts.mode, opts.seed);
    const layerMacs = macs(layer.shape);
    const base = { layer: layer.name, shape: describeShape(layer.shape), macs: layerMacs };
    const rows: Measurement[] = [];
    // Outputs that later kernels are checked against, by weight domain.
    const oracles = new Map<string, { who: string; out: Int8Array | Int32Array }>();
    const general = (v: SplitConvVariant) => v.weightRange[0] === -128 && v.weightRange[1] === 127;

    // The scalar variant first: it is both the baseline and the oracle of the general domain.
    const ordered = [...targets].sort((a, b) => Number(b.v.module === 'scalar') - Number(a.v.module === 'scalar'));
    for (const t of ordered) {
      options.onTask?.(`${layer.name}: ${t.v.name}`, index++, total);
      const p = problem(t.v.weightRange);
      const key = t.v.weightRange.join(',');
      if (!oracles.has(key) && !general(t.v)) {
        // A restricted domain: its oracle is the first general SIMD variant, run on the same problem.
        const ref = ordered.find((x) => general(x.v) && x.v.module !== 'scalar') ?? ordered[0]!;
        const r = new KernelRunner(ref.v, ref.kernel, p);
        r.run();
        oracles.set(key, { who: ref.v.name, out: r.output() });
      }
      const runner = new KernelRunner(t.v, t.kernel, p);
      runner.run();
      const out = runner.output();
      const oracle = oracles.get(key);
      if (oracle) compareOutputs(`${t.v.name} [${t.kernel.name}]`, `${layer.name} ${base.shape}`, p, out, oracle.out);
      else oracles.set(key, { who: t.v.name, out });
      const s = await measure(t.v.name, () => runner.run(), opts.timeMs, opts.minIterations);
      rows.push({
        ...base,
        kernel: t.v.name,
        module: t.kernel.name,
        p50Ms: s.p50,
        madMs: s.mad,
        samples: s.samples,
        gmacs: layerMacs / s.p50 / 1e6,
        verifiedAgainst: oracle ? oracle.who : 'itself (the oracle of this layer)',
      });
    }

    // Packed-DSP kernels: the general one first (the others must equal it); its output is also
    // compared with the exact convolution, which it equals unless a lane overflowed.
    let packedOracle: { who: string; out: Int8Array | Int32Array } | undefined;
    for (const t of packedTargets) {
      options.onTask?.(`${layer.name}: ${t.v.name}`, index++, total);
      const p = fitToScheme(problem(SCHEMES[opts.dsp.scheme].weightRange), opts.dsp.scheme);
      let runner: KernelRunner;
      try {
        runner = new KernelRunner(t.v, t.kernel, p, opts.dsp);
      } catch (e) {
        if (e instanceof InputError) continue; // e.g. a decode group longer than this kernel computes exactly
        throw e;
      }
      runner.run();
      const out = runner.output();
      if (packedOracle) compareOutputs(`${t.v.name} [${t.kernel.name}]`, `${layer.name} ${base.shape}`, p, out, packedOracle.out);
      const exact = oracles.get('-128,127')?.out;
      let differing = 0;
      let maxErr = 0;
      if (exact && opts.dsp.scheme !== 'int4') {
        for (let i = 0; i < out.length; i++) {
          const d = Math.abs(out[i]! - exact[i]!);
          if (d) differing++;
          maxErr = Math.max(maxErr, d);
        }
      }
      const s = await measure(t.v.name, () => runner.run(), opts.timeMs, opts.minIterations);
      rows.push({
        ...base,
        kernel: `${t.v.name} (${opts.dsp.scheme}, L=${opts.dsp.chain}, ${opts.dsp.decode})`,
        module: t.kernel.name,
        p50Ms: s.p50,
        madMs: s.mad,
        samples: s.samples,
        gmacs: layerMacs / s.p50 / 1e6,
        verifiedAgainst: packedOracle ? packedOracle.who : 'the engine model in the tests (fkb verify checks this layer)',
        dsp: { config: opts.dsp, outputsDifferingFromExact: differing, maxOutputError: maxErr },
      });
      packedOracle ??= { who: t.v.name, out };
    }

    if (ortModule) {
      const p = problem([-128, 127]);
      for (const activations of ortEncodings) {
        options.onTask?.(`${layer.name}: onnxruntime-web QLinearConv (${activations})`, index++, total);
        // onnxruntime computes the fp32 mode with the int8 range as its clamp.
        const fp32 = { ...p, requant: { ...p.requant, mode: 'fp32' as const, outputMin: -128, outputMax: 127 } };
        const conv = await ortModule.createOrtQLinearConv(fp32, { activations });
        try {
          const x = conv.toNCHW(p.input);
          const got = conv.fromNCHW(await conv.runNCHW(x));
          const scalar = targets.find((t) => t.v.module === 'scalar')!;
          const r = new KernelRunner(scalar.v, scalar.kernel, fp32);
          r.run();
          compareOutputs(`onnxruntime-web (${activations})`, `${layer.name} ${base.shape}`, fp32, got, r.output());
          const s = await measure(`ort ${activations}`, () => conv.runNCHW(x), opts.timeMs, opts.minIterations);
          rows.push({
            ...base,
            kernel: `onnxruntime-web QLinearConv (${activations})`,
            module: 'onnxruntime-web',
            p50Ms: s.p50,
            madMs: s.mad,
            samples: s.samples,
            gmacs: layerMacs / s.p50 / 1e6,
            verifiedAgainst: `${scalar.v.name} in fp32 mode`,
          });
        } finally {
          await conv.release();
        }
      }
    }

    if (litertModule) {
      const p = problem([-128, 127]);
      const scalar = targets.find((t) => t.v.module === 'scalar')!;
      // The other modes are counted with the fastest general SIMD variant (already checked against scalar above).
      const fast = targets.find((t) => general(t.v) && t.v.module !== 'scalar') ?? scalar;
      for (const n of opts.litertThreads) {
        const name = `LiteRT.js CONV_2D (XNNPACK, ${n} thread${n > 1 ? 's' : ''})`;
        options.onTask?.(`${layer.name}: ${name}`, index++, total);
        const conv = await litertModule.createLiteRtConv(p, { numThreads: n, threads: litertThreaded });
        try {
          const got = await conv.output();
          const oracle = (mode: (typeof CODE_MODES)[number], who: typeof scalar) => {
            const q = { ...conv.problem, requant: { ...conv.problem.requant, mode } };
            const r = new KernelRunner(who.v, who.kernel, q);
            r.run();
            return { q, want: r.output() };
          };
          const outputsDifferingByMode: Record<string, number> = {};
          for (const mode of CODE_MODES) {
            const { want } = oracle(mode, mode === 'fp32' ? scalar : fast);
            let d = 0;
            for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) d++;
            outputsDifferingByMode[mode] = d;
          }
          // XNNPACK requantizes like our fp32 mode: any difference there refuses the timing.
          const { q, want } = oracle('fp32', scalar);
          compareOutputs(name, `${layer.name} ${base.shape}`, q, got, want);
          const s = await measure(name, () => conv.run(), opts.timeMs, opts.minIterations);
          rows.push({
            ...base,
            kernel: name,
            module: 'litert.js',
            p50Ms: s.p50,
            madMs: s.mad,
            samples: s.samples,
            gmacs: layerMacs / s.p50 / 1e6,
            verifiedAgainst: `${scalar.v.name} in fp32 mode (float32 scales)`,
            litert: { build: conv.build, threads: n, outputsDifferingByMode },
          });
        } finally {
          conv.release();
        }
      }
    }

    const scalarRow = rows.find((r) => r.module === 'scalar');
    const ortRows = rows.filter((r) => r.module === 'onnxruntime-web');
    const bestOrt = ortRows.length ? Math.min(...ortRows.map((r) => r.p50Ms)) : undefined;
    const litertOne = rows.find((r) => r.litert?.threads === 1);
    for (const r of rows) {
      if (scalarRow) r.speedupVsScalar = scalarRow.p50Ms / r.p50Ms;
      if (bestOrt !== undefined) r.speedupVsOrt = bestOrt / r.p50Ms;
      if (litertOne) r.speedupVsLiteRt = litertOne.p50Ms / r.p50Ms;
    }
    measurements.push(...rows);
  }

  if (!measurements.some((m) => m.module === 'simd' || m.module === 'relaxed')) {
    const status = loadModules();
    const needed = [...new Set(variants.map((v) => v.module))].filter((m) => m !== 'scalar' && !status.get(m)?.kernel);
    const why = needed.map((m) => `${m}: ${status.get(m)?.reason ?? 'not loaded'}`).join('; ');
    // Asked for by --filter: a usage error; otherwise the engine cannot run what the benchmark is for.
    if (opts.filter.length) throw new InputError(`no SIMD variant ran: the variants matching --filter ${opts.filter.join(' ')} need modules this engine did not load (${why})`);
    throw new VerificationError(`no SIMD variant ran: the SIMD variants need modules this engine did not load (${why})`);
  }
  return {
    date: new Date().toISOString(),
    machine: machineInfo(),
    options: { ...opts, threads: 1 },
    modules: [...loadModules()].map(([name, s]) => ({ name, used: Boolean(s.kernel), reason: s.reason })),
    measurements,
  };
}
