/**
 * The ceiling of each instruction path: times the peak loops of assembly/peak/ (eight
 * independent multiply-accumulate groups per iteration, nothing else in the loop) and reports
 * GMAC/s as p50 ± MAD over samples of about 50 ms each, once with the weights resident in
 * registers (only the two activation vectors loaded, from L1) and once with all six operand
 * vectors loaded every iteration. `fkb bench` puts every kernel beside the resident peak of its
 * path (harness/registry/paths.ts) measured in the same run.
 */
import { DSPCONV_VARIANTS } from '../registry/dspconv.ts';
import { INSTRUCTION_PATHS, type InstructionPath, type InstructionPathInfo, pathOf } from '../registry/paths.ts';
import { findVariant } from '../registry/splitconv.ts';
import { Rng } from '../util/rng.ts';
import { median, p50Mad } from '../util/stats.ts';
import { type KernelModule, loadModules } from '../wasm/modules.ts';
import type { BenchReport, PeakMeasurement, PeakReport } from '../results/index.ts';

export type PeakOperands = PeakMeasurement['operands'];
export const PEAK_OPERANDS: readonly PeakOperands[] = ['resident', 'loads'];
/** Steps of the loops' operand ring (RING in assembly/peak/loops.ts). */
export const PEAK_RING = 16;
/** Groups per loop iteration: the 2x4 register tile. */
export const PEAK_GROUPS = 8;
/** Bytes of one ring step: x0, x1, w0..w3. */
const STEP_BYTES = 96;

export interface PeakOptions {
  /** Measuring time per loop, ms (at least `minSamples` samples). @default 500 */
  timeMs?: number;
  /** Time of one sample (one call of the loop), ms. @default 50 */
  sampleMs?: number;
  /** @default 5 */
  minSamples?: number;
  /** Seed of the operands. @default 1 */
  seed?: number;
}

/** The exported loop of a path. */
export function peakExport(info: InstructionPathInfo, operands: PeakOperands): string {
  return `peak${info.loop}${operands === 'resident' ? 'Resident' : 'Loads'}`;
}

/**
 * Operand bytes of the loops, in the layout assembly/peak/loops.ts reads: PEAK_RING steps of
 * [x0 | x1], then PEAK_RING steps of [w0..w3]. Values lie in what the path's kernels feed it:
 * int16 activations minus the zero point and int16 weights (dot16x8), int8 (extmul), int8
 * activations and weights in [0, 127] (relaxed dot).
 */
export function peakOperands(info: InstructionPathInfo, seed = 1): Uint8Array {
  const rng = new Rng(seed);
  const bytes = new Uint8Array(PEAK_RING * STEP_BYTES);
  const view = new DataView(bytes.buffer);
  for (let at = 0; at < bytes.length; at += 16) {
    const weight = at >= 32 * PEAK_RING;
    if (info.loop === 'Dot16x8') {
      for (let j = 0; j < 8; j++) view.setInt16(at + 2 * j, weight ? rng.int(-128, 127) : rng.int(-255, 255), true);
    } else {
      for (let j = 0; j < 16; j++) view.setInt8(at + j, weight && info.loop === 'Rdot' ? rng.int(0, 127) : rng.int(-128, 127));
    }
  }
  return bytes;
}

interface LoopTiming {
  /** Instruction groups per second, one value per sample. */
  groupsPerSecond: number[];
  iterations: number;
  sampleMs: number;
}

/** Runs one loop: warms it up until the optimizing tier runs it, sizes a sample, times the samples. */
function timeLoop(kernel: KernelModule, info: InstructionPathInfo, operands: PeakOperands, o: Required<PeakOptions>): LoopTiming {
  const ex = kernel.instantiate();
  const fn = ex[peakExport(info, operands)];
  if (typeof fn !== 'function') throw new Error(`the ${kernel.name} module does not export ${peakExport(info, operands)}: run npm run gen and npm run build`);
  const run = fn as (ops: number, iters: number, out: number) => void;
  const ops = (ex.heapBase() + 15) & ~15;
  const bytes = peakOperands(info, o.seed);
  new Uint8Array(ex.memory.buffer, ops, bytes.length).set(bytes);
  const out = ops + PEAK_RING * STEP_BYTES;
  const time = (iters: number) => {
    const t0 = performance.now();
    run(ops, iters, out);
    return performance.now() - t0;
  };
  // Tier-up: V8 compiles a hot function in the background and uses it from the next call on.
  const warm = performance.now();
  while (performance.now() - warm < 200) time(20_000);
  let iters = 100_000;
  for (let t = time(iters); t < o.sampleMs / 2; t = time(iters)) iters *= 4;
  iters = Math.max(1, Math.round((iters * o.sampleMs) / time(iters)));
  const n = Math.max(o.minSamples, Math.ceil(o.timeMs / o.sampleMs));
  const ms: number[] = [];
  for (let i = 0; i < n; i++) ms.push(time(iters));
  return { groupsPerSecond: ms.map((t) => (iters * PEAK_GROUPS) / (t / 1e3)), iterations: iters, sampleMs: median(ms) };
}

/** The peak of every instruction path whose module this engine runs (paths sharing a loop share its timing). */
export function measurePeaks(options: PeakOptions = {}): PeakReport {
  const o: Required<PeakOptions> = { timeMs: 500, sampleMs: 50, minSamples: 5, seed: 1, ...options };
  const status = loadModules();
  const timings = new Map<string, LoopTiming>();
  const report: PeakReport = { peaks: [], skipped: [] };
  for (const [path, info] of Object.entries(INSTRUCTION_PATHS) as [InstructionPath, InstructionPathInfo][]) {
    const kernel = status.get(info.module)?.kernel;
    if (!kernel) {
      report.skipped.push({ path, reason: `the ${info.module} module is not used here: ${status.get(info.module)?.reason ?? 'not loaded'}` });
      continue;
    }
    for (const operands of PEAK_OPERANDS) {
      const key = peakExport(info, operands);
      const t = timings.get(key) ?? timeLoop(kernel, info, operands, o);
      timings.set(key, t);
      const gmacs = t.groupsPerSecond.map((g) => (g * info.macsPerGroup) / 1e9);
      const { p50, mad } = p50Mad(gmacs);
      report.peaks.push({
        path,
        group: info.group,
        macsPerGroup: info.macsPerGroup,
        module: info.module,
        operands,
        gmacs: p50,
        madGmacs: mad,
        samples: gmacs.length,
        iterations: t.iterations,
        sampleMs: t.sampleMs,
      });
    }
  }
  return report;
}

/** The registered kernel a measurement row timed (packed-DSP rows carry their engine after the name). */
function variantOf(kernel: string) {
  return findVariant(kernel) ?? DSPCONV_VARIANTS.find((v) => kernel.startsWith(`${v.name} (`));
}

/** Adds the peaks to the report and each kernel's path and percentage of its path's resident peak. */
export function withPeaks(report: BenchReport, peaks: PeakReport): BenchReport {
  for (const m of report.measurements) {
    const v = variantOf(m.kernel);
    const path = v && pathOf(v);
    if (!path) continue;
    m.path = path;
    const peak = peaks.peaks.find((p) => p.path === path && p.operands === 'resident');
    if (peak) m.pctOfPeak = (100 * m.gmacs) / peak.gmacs;
  }
  report.peaks = peaks;
  return report;
}
