/** What a benchmark run measured (`fkb bench`, `fkb run`): plain data, the same as its JSON. */
import type { RequantMode } from '../conv/layer.ts';
import type { PackedEngineConfig } from './exactness.ts';

export interface Measurement {
  layer: string;
  shape: string;
  macs: number;
  /** Variant name, 'onnxruntime-web QLinearConv (int8|uint8)' or 'LiteRT.js CONV_2D (XNNPACK, n thread(s))'. */
  kernel: string;
  /** The WASM module ('scalar', 'simd', 'relaxed', 'debug'), 'onnxruntime-web' or 'litert.js'. */
  module: string;
  p50Ms: number;
  madMs: number;
  samples: number;
  gmacs: number;
  /** p50 of the scalar variant on this layer / this p50. */
  speedupVsScalar?: number;
  /** p50 of the fastest onnxruntime configuration on this layer / this p50. */
  speedupVsOrt?: number;
  /** p50 of LiteRT.js (XNNPACK) on one thread on this layer / this p50: our single-threaded kernels at equal threads. */
  speedupVsLiteRt?: number;
  /**
   * LiteRT.js rows: the package's wasm build, XNNPACK's threads, and how many of its outputs
   * differ from our reference in each requantization mode (on the problem with float32 scales).
   */
  litert?: { build: string; threads: number; outputsDifferingByMode: Record<string, number> };
  /** What the output was checked against before timing. */
  verifiedAgainst: string;
  /** Packed-DSP kernels: the engine configuration and how its outputs compare with the exact convolution. */
  dsp?: { config: PackedEngineConfig; outputsDifferingFromExact: number; maxOutputError: number };
  /** The kernel's instruction path (harness/registry/paths.ts), when the run measured its peak. */
  path?: string;
  /** GMAC/s as a percentage of the resident peak of that path measured in the same run. */
  pctOfPeak?: number;
}

/** The peak MAC rate of one instruction path (assembly/peak/), over `samples` calls of the loop. */
export interface PeakMeasurement {
  path: string;
  /** One instruction group, e.g. 'i32x4.dot_i16x8_s + i32x4.add'. */
  group: string;
  macsPerGroup: number;
  module: string;
  /**
   * resident: the 4 weight vectors and the accumulators in registers, the 2 activation vectors
   * loaded from L1 per 8 groups; loads: all 6 loaded every iteration (the 2x4 tiles' loads).
   */
  operands: 'resident' | 'loads';
  /** Median and median absolute deviation of the samples' GMAC/s. */
  gmacs: number;
  madGmacs: number;
  samples: number;
  /** Loop iterations (8 groups each) per sample, and the p50 of a sample's time. */
  iterations: number;
  sampleMs: number;
}

/** The peaks of every path this engine runs, and why the others were not measured. */
export interface PeakReport {
  peaks: PeakMeasurement[];
  skipped: { path: string; reason: string }[];
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  avxVnni: boolean;
  node: string;
  v8: string;
}

/** One exhaustive check of every single packed multiply of a scheme, timed. */
export interface ExhaustiveTiming {
  scheme: string;
  cases: number;
  mismatches: number;
  p50Ms: number;
  madMs: number;
  samples: number;
}

/** The settings a benchmark ran with (every option resolved). */
export interface BenchSettings {
  timeMs: number;
  minIterations: number;
  mode: Exclude<RequantMode, 'raw'>;
  ort: boolean;
  /** LiteRT.js thread counts measured (absent or []: not measured). */
  litertThreads?: number[];
  filter: string[];
  seed: number;
  dsp: PackedEngineConfig;
  packed: boolean;
  threads: number;
}

export interface BenchReport {
  date: string;
  machine: MachineInfo;
  /** The exhaustive packed-multiply checks (fkb dsp exhaustive), when measured. */
  exhaustive?: ExhaustiveTiming[];
  options: BenchSettings;
  modules: { name: string; used: boolean; reason?: string }[];
  measurements: Measurement[];
  /** The instruction paths' peaks measured in the same run (`fkb bench`). */
  peaks?: PeakReport;
}
