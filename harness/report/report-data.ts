/**
 * What an HTML report holds, and how it is assembled from the JSON the commands write:
 *
 *   fkb run  (bench/results/run-*.json)     -> verification + benchmark
 *   fkb bench --json                         -> benchmark
 *   fkb verify --json                        -> verification
 *   fkb dsp conv --json [--scheme ...]       -> packed-DSP exactness per layer (one set per call)
 *   fkb model --json                         -> FPGA model per layer, compared with the WASM kernels
 *   (compression results)                    -> accuracy vs size and MACs (fkb run computes them)
 *   fkb quantize --json                      -> a quantized model without labels against float
 *
 * Everything but the benchmark is optional: the report says "not available in this run" for a
 * missing section. The data is plain JSON (no class instances, no BigInt), so `report.json` and
 * the block embedded in `report.html` are the same object.
 */
import { readFileSync } from 'node:fs';
import type { BenchReport, Measurement } from '../bench/bench-kernels.ts';
import type { ModelReport } from '../cli/commands/model.ts';
import type { LayerExactness } from '../exactness/layer-exactness.ts';
import { getDevice } from '../fpga/devices.ts';
import { InputError } from '../util/errors.ts';
import type { VerifyResult } from '../verify/verify-kernels.ts';
import type { FidelityReport } from '../quant/fidelity.ts';

/** `fkb quantize --json`: SQNR per output and detection agreement of an integer model. */
export type QuantizeSummary = Omit<FidelityReport, 'intGraph'>;

/** Bumped when a field changes meaning; readers of report.json check it. */
export const REPORT_SCHEMA = 1;

export interface ReportMeta {
  title: string;
  /** ISO date the report was assembled. */
  generatedAt: string;
  /** 'fpga-kernel-bench <version>'. */
  generator: string;
  /** ISO date of the benchmark run. */
  benchDate: string;
  /** Where each part came from: commands or files, one line each. */
  sources: string[];
}

/** One kernel in one module on one layer: the requantization modes that passed and failed. */
export interface VerificationRow {
  layer: string;
  kernel: string;
  module: string;
  outputs: number;
  passed: string[];
  failed: string[];
}

export interface VerificationSummary {
  checks: number;
  passed: number;
  failed: number;
  rows: VerificationRow[];
  /** The failing checks with their first difference (at most 20). */
  failures: { layer: string; kernel: string; module: string; mode: string; error: string }[];
}

/** One set of `fkb dsp conv` rows: one engine configuration (scheme, chain, decode, operands). */
export interface DspExactnessSet {
  /** e.g. 'int8x8, L=16, cascade decode' (plus the caller's label, e.g. the operands). */
  label: string;
  scheme: string;
  rows: LayerExactness[];
}

/** One network layer: the FPGA model's estimate and the fastest WASM kernel on the same shape. */
export interface FpgaLayerComparison {
  layer: string;
  shape: string;
  macs: number;
  cycles: number;
  timeNs: number;
  bound: 'compute' | 'memory';
  peakGops: number;
  /** The model's attainable throughput, GOPS (1 MAC = 2 ops). */
  fpgaGops: number;
  offChipBytes: number;
  /** Ops per off-chip byte: the model's field when it has one, else 2 * MACs / offChipBytes. */
  operationalIntensity: number | null;
  utilization: number;
  /** Fastest of our WASM kernels measured on this shape (onnxruntime excluded), GOPS = 2 * GMAC/s. */
  wasm?: { kernel: string; module: string; gops: number; p50Ms: number; measuredAs: string };
}

export interface FpgaSection {
  model: string;
  device: string;
  clockMHz: number;
  network: string;
  params: Record<string, number | string>;
  /** The roof: the configured engine's peak and the board memory bandwidth. */
  roof: { peakGops: number; bandwidthGBps: number; bandwidthSource: string };
  layers: FpgaLayerComparison[];
  totals: { gops: number; timeNs: number; macs: number; dsp: number; bram: number; memoryBoundLayers: number };
  warnings: string[];
}

/** One compression setting of a network, measured on a dataset. */
export interface CompressionPoint {
  /** e.g. 'int8 per-channel', 'int4 weights, 50 % pruned'. */
  setting: string;
  /** Colour group, e.g. 'baseline', 'quantization', 'pruning'. @default 'other' */
  method?: string;
  /** Accuracy as a fraction in [0, 1] (shown as %). */
  accuracy: number;
  /** Model size in bytes (weights as stored). */
  sizeBytes: number;
  /** MACs of one inference (pruned MACs not counted). */
  macs: number;
}

export interface CompressionResults {
  network: string;
  dataset: string;
  /** e.g. 'top-1 accuracy'. */
  metric: string;
  points: CompressionPoint[];
}

export interface ReportData {
  schema: typeof REPORT_SCHEMA;
  meta: ReportMeta;
  /** Absent when only `fkb bench` ran (each benchmarked kernel is still checked against its oracle). */
  verification?: VerificationSummary;
  benchmark: BenchReport;
  /** Packed-DSP exactness per layer, one set per engine configuration. Empty or absent: not measured. */
  dspExactness?: DspExactnessSet[];
  fpga?: FpgaSection;
  compression?: CompressionResults;
  quantized?: QuantizeSummary;
}

/** `fkb run`'s result file. */
export interface RunOutput {
  verification: VerifyResult[];
  benchmark: BenchReport;
}

/** A command's parsed JSON, or the path of a file holding it. */
export type JsonInput<T> = T | string;

export interface ReportInputs {
  /** `fkb run` output: supplies verification and benchmark. */
  run?: JsonInput<RunOutput>;
  /** `fkb bench --json` output; overrides run.benchmark when both are given. */
  bench?: JsonInput<BenchReport>;
  /** `fkb verify --json` output; overrides run.verification. */
  verification?: JsonInput<VerifyResult[]>;
  /** `fkb dsp conv --json` outputs, one per configuration, optionally labelled (e.g. 'extremes'). */
  dspConv?: (JsonInput<LayerExactness[]> | { label?: string; rows: JsonInput<LayerExactness[]> })[];
  /** `fkb model --json` output. */
  model?: JsonInput<ModelReport>;
  /** Compression results (no command produces them yet). */
  compression?: JsonInput<CompressionResults>;
  /** `fkb quantize --json` output. */
  quantized?: JsonInput<QuantizeSummary>;
  /** @default 'fpga-kernel-bench report' */
  title?: string;
  /** Extra lines for meta.sources (e.g. the command lines that produced the inputs). */
  sources?: string[];
  /** @default new Date() */
  now?: Date;
}

/** Parses a JSON file; an unreadable or malformed file is an InputError naming it. */
export function readJsonFile<T>(path: string, what = 'JSON'): T {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read ${what} file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new InputError(`${what} file ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

function resolve<T>(input: JsonInput<T>, what: string, sources: string[]): T {
  if (typeof input === 'string') {
    sources.push(`${what}: ${input}`);
    return readJsonFile<T>(input, what);
  }
  return input;
}

function requireArray(value: unknown, what: string): void {
  if (!Array.isArray(value)) throw new InputError(`${what} must be an array, got ${value === null ? 'null' : typeof value}`);
}

function checkBench(b: BenchReport, what: string): BenchReport {
  if (typeof b !== 'object' || b === null) throw new InputError(`${what} must be a BenchReport object`);
  requireArray(b.measurements, `${what}.measurements`);
  if (typeof b.machine !== 'object' || b.machine === null) throw new InputError(`${what}.machine is missing`);
  if (b.measurements.length === 0) throw new InputError(`${what} has no measurements`);
  return b;
}

/** Groups verification checks by layer, kernel and module. */
export function summarizeVerification(results: VerifyResult[]): VerificationSummary {
  requireArray(results, 'verification');
  const groups = new Map<string, VerificationRow>();
  for (const r of results) {
    const key = `${r.layer}\u0000${r.kernel}\u0000${r.module}`;
    let row = groups.get(key);
    if (!row) groups.set(key, (row = { layer: r.layer, kernel: r.kernel, module: r.module, outputs: r.outputs, passed: [], failed: [] }));
    (r.ok ? row.passed : row.failed).push(r.mode);
  }
  const failed = results.filter((r) => !r.ok);
  return {
    checks: results.length,
    passed: results.length - failed.length,
    failed: failed.length,
    rows: [...groups.values()],
    failures: failed.slice(0, 20).map((r) => ({ layer: r.layer, kernel: r.kernel, module: r.module, mode: r.mode, error: r.error ?? '' })),
  };
}

/** The default label of a `dsp conv` set: its engine configuration. */
export function dspSetLabel(rows: LayerExactness[], extra?: string): string {
  const r = rows[0];
  const base = r ? `${r.scheme}, L=${r.chain}, ${r.decode} decode` : 'empty';
  return extra ? `${base}, ${extra}` : base;
}

/** Our fastest WASM kernel per layer shape (onnxruntime excluded). */
function bestWasmByShape(bench: BenchReport): Map<string, Measurement> {
  const best = new Map<string, Measurement>();
  for (const m of bench.measurements) {
    if (m.module === 'onnxruntime-web') continue;
    const b = best.get(m.shape);
    if (!b || m.gmacs > b.gmacs) best.set(m.shape, m);
  }
  return best;
}

/** Board memory bandwidth: from the device catalogue, else the largest rate the layers imply. */
function bandwidthOf(model: ModelReport): { gbps: number; source: string } {
  const name = model.device.replace(/\s*\(.*$/, '');
  try {
    const d = getDevice(name);
    return { gbps: d.offChipGBps, source: `${d.name} (${d.board}): ${d.memory}` };
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
  }
  // memoryCycles = ceil(bytes / bytesPerCycle): bytes / memoryCycles is at most bytesPerCycle.
  const perCycle = Math.max(0, ...model.layers.filter((l) => l.memoryCycles > 0).map((l) => l.offChipBytes / l.memoryCycles));
  return { gbps: (perCycle * model.clockMHz) / 1e3, source: `implied by the layers' memory cycles (device '${model.device}' not in the catalogue)` };
}

/** The FPGA model per layer next to the fastest WASM kernel measured on the same shape. */
export function compareFpgaWithWasm(model: ModelReport, bench: BenchReport): FpgaSection {
  if (typeof model !== 'object' || model === null) throw new InputError('model report must be an object (fkb model --json)');
  requireArray(model.layers, 'model report .layers');
  const wasm = bestWasmByShape(bench);
  const layers = model.layers.map((l): FpgaLayerComparison => {
    const w = wasm.get(l.shape);
    const given = (l as { operationalIntensity?: unknown }).operationalIntensity;
    const oi = typeof given === 'number' ? given : l.offChipBytes > 0 ? l.ops / l.offChipBytes : null;
    return {
      layer: l.name,
      shape: l.shape,
      macs: l.macs,
      cycles: l.cycles,
      timeNs: l.timeNs,
      bound: l.bound,
      peakGops: l.peakGops,
      fpgaGops: l.attainableGops,
      offChipBytes: l.offChipBytes,
      operationalIntensity: oi,
      utilization: l.utilization,
      ...(w ? { wasm: { kernel: w.kernel, module: w.module, gops: 2 * w.gmacs, p50Ms: w.p50Ms, measuredAs: w.layer } } : {}),
    };
  });
  const bw = bandwidthOf(model);
  return {
    model: model.model,
    device: model.device,
    clockMHz: model.clockMHz,
    network: model.network,
    params: model.params,
    roof: { peakGops: Math.max(0, ...model.layers.map((l) => l.peakGops)), bandwidthGBps: bw.gbps, bandwidthSource: bw.source },
    layers,
    totals: {
      gops: model.totals.gops,
      timeNs: model.totals.timeNs,
      macs: model.totals.macs,
      dsp: model.totals.dsp,
      bram: model.totals.bram,
      memoryBoundLayers: model.totals.memoryBoundLayers,
    },
    warnings: model.warnings ?? [],
  };
}

/** Checks an `fkb quantize --json` result: outputs with names and per-backend SQNR. */
function checkQuantized(q: QuantizeSummary): QuantizeSummary {
  if (typeof q !== 'object' || q === null) throw new InputError('the fkb quantize result must be an object');
  requireArray(q.outputs, 'quantize result .outputs');
  q.outputs.forEach((o, i) => {
    if (typeof o.name !== 'string' || typeof o.byBackend !== 'object' || o.byBackend === null) {
      throw new InputError(`quantize result .outputs[${i}] needs a name and byBackend (the output of fkb quantize --json)`);
    }
  });
  return q;
}

/** Checks compression results: accuracy a fraction, size and MACs positive. */
export function checkCompression(c: CompressionResults): CompressionResults {
  if (typeof c !== 'object' || c === null) throw new InputError('compression results must be an object');
  requireArray(c.points, 'compression.points');
  for (const [i, p] of c.points.entries()) {
    if (typeof p.setting !== 'string') throw new InputError(`compression.points[${i}].setting must be a string`);
    if (!(p.accuracy >= 0 && p.accuracy <= 1)) throw new InputError(`compression.points[${i}].accuracy must be a fraction in [0, 1], got ${p.accuracy}`);
    if (!(p.sizeBytes > 0)) throw new InputError(`compression.points[${i}].sizeBytes must be positive, got ${p.sizeBytes}`);
    if (!(p.macs > 0)) throw new InputError(`compression.points[${i}].macs must be positive, got ${p.macs}`);
  }
  return c;
}

function toolVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
    return `${pkg.name} ${pkg.version}`;
  } catch {
    return 'fpga-kernel-bench';
  }
}

/**
 * Assembles a report from command outputs (parsed JSON or file paths). A benchmark is required
 * (from `run` or `bench`); everything else fills its section when given.
 */
export function collectReportData(inputs: ReportInputs): ReportData {
  const sources: string[] = [];
  const run = inputs.run === undefined ? undefined : resolve(inputs.run, 'fkb run result', sources);
  const bench = inputs.bench === undefined ? run?.benchmark : resolve(inputs.bench, 'fkb bench result', sources);
  if (!bench) throw new InputError('a report needs a benchmark: pass the output of fkb run or fkb bench --json');
  checkBench(bench, inputs.bench === undefined ? 'fkb run result .benchmark' : 'fkb bench result');
  const verifyResults = inputs.verification === undefined ? run?.verification : resolve(inputs.verification, 'fkb verify result', sources);

  const dspExactness = (inputs.dspConv ?? []).map((entry, i): DspExactnessSet => {
    const labelled = typeof entry === 'object' && !Array.isArray(entry) ? entry : { rows: entry };
    const rows = resolve(labelled.rows, 'fkb dsp conv result', sources);
    requireArray(rows, `dsp conv result #${i + 1}`);
    const label = dspSetLabel(rows, labelled.label);
    return { label, scheme: rows[0]?.scheme ?? 'unknown', rows };
  });
  const model = inputs.model === undefined ? undefined : resolve(inputs.model, 'fkb model result', sources);
  const compression = inputs.compression === undefined ? undefined : checkCompression(resolve(inputs.compression, 'compression results', sources));
  const quantized = inputs.quantized === undefined ? undefined : checkQuantized(resolve(inputs.quantized, 'fkb quantize result', sources));

  return {
    schema: REPORT_SCHEMA,
    meta: {
      title: inputs.title ?? 'fpga-kernel-bench report',
      generatedAt: (inputs.now ?? new Date()).toISOString(),
      generator: toolVersion(),
      benchDate: bench.date,
      sources: [...sources, ...(inputs.sources ?? [])],
    },
    ...(verifyResults ? { verification: summarizeVerification(verifyResults) } : {}),
    benchmark: bench,
    ...(dspExactness.length ? { dspExactness } : {}),
    ...(model ? { fpga: compareFpgaWithWasm(model, bench) } : {}),
    ...(compression ? { compression } : {}),
    ...(quantized ? { quantized } : {}),
  };
}
