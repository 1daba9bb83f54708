/**
 * Measured against modeled: the WASM kernels' measured throughput per layer (a BenchReport of
 * `fkb bench`) next to an analytical FPGA model's throughput on the same layer shape.
 *
 * Per bench layer (matched by shape: the measurement's `shape` string is parsed back into a
 * ConvShape; int8 weights and activations, groups 1, as the kernels compute):
 *   FPGA   cycles from the model (roofline: max(compute, memory) cycles), time = cycles / f,
 *          GMAC/s = MACs / time, GOPS = 2 * GMAC/s
 *   WASM   the best measured variant (highest GMAC/s at its p50) of our kernels; onnxruntime
 *          is listed apart, not as a WASM variant of ours
 *   ratio  FPGA GMAC/s / best WASM GMAC/s (> 1: the modeled FPGA is faster)
 * Roofline position of the FPGA layer (Williams, Waterman, Patterson, CACM 52(4), 2009):
 *   operational intensity I = ops / off-chip bytes                     [ops/byte]
 *   ridge point            = peak GOPS / bandwidth (GB/s)                [ops/byte]
 *   bound                  = the model's: compute when compute cycles >= memory cycles, which is
 *                            I >= effective ridge = (ops / compute time) / bandwidth; with a
 *                            fully used engine the effective ridge equals the ridge point.
 * A dataflow engine that moves no weights or activations off chip (FINN) has no finite I.
 * Bandwidth is the one the layer gets: the device's, or the engine's own ports where lower
 * (model d: two 128-bit AXI masters per core).
 *
 * Measured against a published table (`validateMeasured`, `fkb compare --measured`): a data file
 * of per-layer latencies measured on a real accelerator (harness/fpga/validation/*.json: its
 * citation, the accelerator's device, clock and configuration, each layer's shape and measured
 * time) evaluated with the model and parameters the file names, nothing fitted:
 *   error = model time / measured time - 1, reported per layer with the model's bound, and the
 *   median and worst |error| over all layers and over the compute- and memory-bound ones.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  BenchReport,
  FpgaLayerComparison,
  FpgaSection,
  MeasuredLayerComparison,
  MeasuredValidation,
  Measurement,
  ModelReport,
} from '../results/index.ts';
import { describeShape, type ConvShape } from '../conv/layer.ts';
import { InputError } from '../util/errors.ts';
import { MiB } from '../util/input-files.ts';
import { readJsonInput } from '../util/json.ts';
import { type Device, getDevice } from './devices.ts';
import { InfeasibleError, type LayerEstimate, type LayerSpec } from './models/common.ts';
import { modelEvaluator, requireModel } from './models/index.ts';
import { median } from '../util/stats.ts';

export interface CompareOptions {
  report: BenchReport;
  /** Where the report was read from (shown in the output). */
  file?: string;
  /** Model id ('a'..'e') or name. */
  model: string;
  device: Device;
  clockMHz: number;
  params?: Record<string, unknown>;
  /** Bit widths of the layers the FPGA model evaluates. @default 8 and 8 (the kernels are int8) */
  wBits?: number;
  aBits?: number;
}

export interface CompareRow {
  /** The bench layer name(s) with this shape. */
  layer: string;
  shape: string;
  macs: number;
  wasm: { kernel: string; module: string; p50Ms: number; gmacs: number; variants: number };
  /** The fastest onnxruntime-web measurement of this shape, when the bench measured one. */
  ort?: { kernel: string; p50Ms: number; gmacs: number };
  fpga: {
    cycles: number;
    computeCycles: number;
    memoryCycles: number;
    /** cycles - computeCycles: transfers not hidden behind compute. */
    loadCycles: number;
    /** Off-chip bandwidth the layer gets (device, or the engine's ports where lower), GB/s. */
    bandwidthGBps: number;
    doubleBuffered: boolean;
    timeMs: number;
    gmacs: number;
    gops: number;
    peakGops: number;
    utilization: number;
    offChipBytes: number;
    /** ops / off-chip byte; null when the layer moves nothing off chip. */
    opsPerByte: number | null;
    /** Peak GOPS / the bandwidth the layer gets. */
    ridgeOpsPerByte: number;
    /** (ops / compute time) / bandwidth: the intensity at which this layer turns compute-bound. */
    effectiveRidgeOpsPerByte: number;
    bound: 'compute' | 'memory';
    dsp: number;
    bram: number;
  };
  /** FPGA GMAC/s over the best WASM GMAC/s. */
  ratio: number;
}

export interface CompareReport {
  bench: { file?: string; date: string; machine: string };
  model: string;
  device: string;
  clockMHz: number;
  offChipGBps: number;
  params: Record<string, number | string>;
  rows: CompareRow[];
  totals: {
    macs: number;
    fpgaTimeMs: number;
    wasmTimeMs: number;
    fpgaGmacs: number;
    wasmGmacs: number;
    ratio: number;
    memoryBoundLayers: number;
  };
}

const SHAPE = /^\s*(\d+)x(\d+)x(\d+)->(\d+) k(\d+)x(\d+) s(\d+),(\d+) p(\d+),(\d+),(\d+),(\d+)\s*$/;

/** The ConvShape a bench `shape` string (conv/layer.ts `describeShape`) stands for. */
export function parseShape(s: string): ConvShape {
  const m = SHAPE.exec(s);
  if (!m) throw new InputError(`bench shape '${s}' is not of the form HxWxC->K kHxW sH,W pT,B,L,R (conv/layer.ts describeShape)`);
  const n = m.slice(1).map(Number) as [number, number, number, number, number, number, number, number, number, number, number, number];
  return {
    inH: n[0], inW: n[1], inC: n[2], outC: n[3], kH: n[4], kW: n[5], strideH: n[6], strideW: n[7],
    padTop: n[8], padBottom: n[9], padLeft: n[10], padRight: n[11],
  };
}

/** A BenchReport from parsed JSON: a report itself, or a `run` file's `benchmark` field. */
export function asBenchReport(json: unknown, file = 'bench report'): BenchReport {
  const obj = json as { measurements?: unknown; benchmark?: unknown } | null;
  const r = (obj && !Array.isArray(obj.measurements) && obj.benchmark ? obj.benchmark : obj) as Partial<BenchReport> | null;
  if (!r || typeof r !== 'object' || !Array.isArray(r.measurements)) {
    throw new InputError(`${file}: not a benchmark report (no measurements[]; write one with 'fkb bench')`);
  }
  r.measurements.forEach((m, i) => {
    for (const k of ['layer', 'shape', 'kernel', 'module'] as const) {
      if (typeof m?.[k] !== 'string') throw new InputError(`${file}: measurements[${i}].${k} must be a string`);
    }
    for (const k of ['macs', 'p50Ms', 'gmacs'] as const) {
      if (typeof m[k] !== 'number' || !(m[k] > 0)) throw new InputError(`${file}: measurements[${i}].${k} must be a positive number`);
    }
  });
  return r as BenchReport;
}

/** A bench report is tens of KiB; 64 MiB is far beyond any `fkb bench` writes. */
const MAX_BENCH_REPORT_BYTES = 64 * MiB;

/** Reads a bench report (a regular file, util/json: a repeated key is an error, a BOM is skipped). */
export function readBenchReport(file: string): BenchReport {
  return asBenchReport(readJsonInput(file, { what: 'bench report', maxBytes: MAX_BENCH_REPORT_BYTES }).value, file);
}

/** The newest report (by its `date`) among the .json files of `dir` (bench/results). */
export function latestBenchReport(dir: string): { file: string; report: BenchReport } {
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    names = [];
  }
  let best: { file: string; report: BenchReport } | undefined;
  for (const name of names) {
    const file = join(dir, name);
    let report: BenchReport;
    try {
      report = readBenchReport(file);
    } catch {
      continue; // other JSON in the folder
    }
    if (!best || String(report.date) > String(best.report.date)) best = { file, report };
  }
  if (!best) throw new InputError(`no benchmark report in ${dir}: run 'fkb bench --reference' first`);
  return best;
}

/** Our kernels' measurements of one shape, and onnxruntime's. */
function groupByShape(ms: readonly Measurement[]): Map<string, { ours: Measurement[]; ort: Measurement[]; names: Set<string> }> {
  const out = new Map<string, { ours: Measurement[]; ort: Measurement[]; names: Set<string> }>();
  for (const m of ms) {
    const key = describeShape(parseShape(m.shape));
    let g = out.get(key);
    if (!g) out.set(key, (g = { ours: [], ort: [], names: new Set() }));
    g.names.add(m.layer);
    (m.module === 'onnxruntime-web' ? g.ort : g.ours).push(m);
  }
  return out;
}

const best = (ms: readonly Measurement[]) => ms.reduce((a, m) => (m.gmacs > a.gmacs ? m : a));

export function compareBench(opts: CompareOptions): CompareReport {
  const model = requireModel(opts.model);
  const { device, clockMHz } = opts;
  const { params, evaluate } = modelEvaluator(model, opts.params ?? {}, device, clockMHz);
  const rows: CompareRow[] = [];
  for (const [shape, g] of groupByShape(opts.report.measurements)) {
    if (g.ours.length === 0) continue; // onnxruntime only: nothing of ours to compare
    const layer: LayerSpec = { ...parseShape(shape), groups: 1, wBits: opts.wBits ?? 8, aBits: opts.aBits ?? 8 };
    const name = [...g.names].join('; ');
    let e: LayerEstimate;
    try {
      e = evaluate(layer);
    } catch (err) {
      const where = `layer ${name} (${shape})`;
      if (err instanceof InfeasibleError) throw new InfeasibleError(err.reason, `${where}: ${err.message}`);
      if (err instanceof InputError) throw new InputError(`${where}: ${err.message}`);
      throw err;
    }
    const w = best(g.ours);
    const timeMs = e.timeNs / 1e6;
    const gmacs = e.macs / e.timeNs;
    const computeGops = (e.ops * clockMHz) / (e.computeCycles * 1e3);
    const gbps = e.bandwidthGBps ?? device.offChipGBps;
    rows.push({
      layer: name,
      shape,
      macs: e.macs,
      wasm: { kernel: w.kernel, module: w.module, p50Ms: w.p50Ms, gmacs: w.gmacs, variants: g.ours.length },
      ...(g.ort.length ? { ort: (({ kernel, p50Ms, gmacs: ortG }) => ({ kernel, p50Ms, gmacs: ortG }))(best(g.ort)) } : {}),
      fpga: {
        cycles: e.cycles,
        computeCycles: e.computeCycles,
        memoryCycles: e.memoryCycles,
        loadCycles: e.cycles - e.computeCycles,
        bandwidthGBps: gbps,
        doubleBuffered: e.doubleBuffered ?? true,
        timeMs,
        gmacs,
        gops: 2 * gmacs,
        peakGops: e.peakGops,
        utilization: e.utilization,
        offChipBytes: e.offChipBytes,
        opsPerByte: e.offChipBytes > 0 ? e.ops / e.offChipBytes : null,
        ridgeOpsPerByte: e.peakGops / gbps,
        effectiveRidgeOpsPerByte: computeGops / gbps,
        bound: e.bound,
        dsp: e.dsp,
        bram: e.bram,
      },
      ratio: gmacs / w.gmacs,
    });
  }
  if (rows.length === 0) throw new InputError(`${opts.file ?? 'bench report'}: no measurement of our kernels to compare`);
  const macs = rows.reduce((a, r) => a + r.macs, 0);
  const fpgaTimeMs = rows.reduce((a, r) => a + r.fpga.timeMs, 0);
  const wasmTimeMs = rows.reduce((a, r) => a + r.wasm.p50Ms, 0);
  const fpgaGmacs = macs / (fpgaTimeMs * 1e6);
  const wasmGmacs = macs / (wasmTimeMs * 1e6);
  const r = opts.report;
  return {
    bench: { ...(opts.file ? { file: opts.file } : {}), date: String(r.date), machine: r.machine ? `${r.machine.cpu}, ${r.machine.cores} cores, Node ${r.machine.node}` : 'unknown' },
    model: `${model.id} (${model.name})`,
    device: `${device.name} (${device.board})`,
    clockMHz,
    offChipGBps: device.offChipGBps,
    params,
    rows,
    totals: { macs, fpgaTimeMs, wasmTimeMs, fpgaGmacs, wasmGmacs, ratio: fpgaGmacs / wasmGmacs, memoryBoundLayers: rows.filter((x) => x.fpga.bound === 'memory').length },
  };
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
export function fpgaSection(model: ModelReport, bench: BenchReport): FpgaSection {
  if (typeof model !== 'object' || model === null) throw new InputError('model report must be an object (fkb model --json)');
  if (!Array.isArray(model.layers)) throw new InputError('model report .layers must be an array');
  const byShape = groupByShape(bench.measurements);
  const layers = model.layers.map((l): FpgaLayerComparison => {
    const ours = byShape.get(l.shape)?.ours ?? [];
    const w = ours.length ? best(ours) : undefined;
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

// --- validation against a published per-layer table ------------------------------------------

/** One measured layer of a validation file (harness/fpga/validation/*.json). */
export interface MeasuredRow {
  id: number;
  name: string;
  inH: number;
  inW: number;
  inC: number;
  outC: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  /** top, bottom, left, right */
  pads: [number, number, number, number];
  /** The source's workload column, MOP (1 MAC = 2 ops): checks the transcribed shape. */
  workloadMOP: number;
  runtimeMs: number;
  /** The source's Perf(GOPS) and Utilization columns, as printed. */
  perfGOPS?: number;
  utilizationPct?: number;
}

export interface MeasuredTable {
  about: string;
  source: { title: string; authors: string; publisher: string; path: string; commit: string; tables: string; networkSources: string };
  accelerator: { name: string; device: string; board: string; clockMHz: number; clockSource: string; precision: string; bandwidth: string };
  model: { arch: string; params: Record<string, number | string> };
  tables: { network: string; layers: MeasuredRow[]; excluded: { id: number; name: string; why: string }[] }[];
}

/** The validation files shipped with the harness, by name. */
export const MEASURED_TABLES: Record<string, string> = {
  'dpu-zcu102': join(dirname(fileURLToPath(import.meta.url)), 'validation', 'dpu-zcu102-vitis-ai-1.2.json'),
};

/** A validation file by built-in name or path (util/json: a repeated key is an error). */
export function readMeasuredTable(nameOrFile: string): MeasuredTable {
  const file = MEASURED_TABLES[nameOrFile] ?? nameOrFile;
  const t = readJsonInput(file, { what: 'measured per-layer table', maxBytes: MAX_BENCH_REPORT_BYTES }).value as Partial<MeasuredTable> | null;
  if (!t || typeof t !== 'object' || !Array.isArray(t.tables) || !t.accelerator || !t.model || !t.source) {
    throw new InputError(`${file}: not a measured per-layer table (needs source, accelerator, model, tables[]; see harness/fpga/validation/)`);
  }
  t.tables.forEach((tb, i) =>
    tb.layers.forEach((l, j) => {
      for (const k of ['inH', 'inW', 'inC', 'outC', 'kH', 'kW', 'strideH', 'strideW', 'runtimeMs', 'workloadMOP'] as const) {
        if (typeof l[k] !== 'number' || !(l[k] > 0)) throw new InputError(`${file}: tables[${i}].layers[${j}].${k} must be a positive number`);
      }
      if (!Array.isArray(l.pads) || l.pads.length !== 4) throw new InputError(`${file}: tables[${i}].layers[${j}].pads must be [top, bottom, left, right]`);
    }),
  );
  return t as MeasuredTable;
}

/** The LayerSpec of a measured row (int8, groups 1: the DPU tables are). */
export function measuredLayer(r: MeasuredRow): LayerSpec {
  const [padTop, padBottom, padLeft, padRight] = r.pads;
  return {
    inH: r.inH, inW: r.inW, inC: r.inC, outC: r.outC, kH: r.kH, kW: r.kW, strideH: r.strideH, strideW: r.strideW,
    padTop, padBottom, padLeft, padRight, groups: 1, wBits: 8, aBits: 8,
  };
}

/**
 * Every layer of a measured table on the model, device, clock and parameters the table names
 * (`params` overrides them: for what-if runs, never to fit). See the header.
 */
export function validateMeasured(table: MeasuredTable, params: Record<string, unknown> = {}): MeasuredValidation {
  const model = requireModel(table.model.arch);
  const device = getDevice(table.accelerator.device);
  const clockMHz = table.accelerator.clockMHz;
  const ev = modelEvaluator(model, { ...table.model.params, ...params }, device, clockMHz);
  const layers: MeasuredLayerComparison[] = [];
  for (const t of table.tables) {
    for (const r of t.layers) {
      const spec = measuredLayer(r);
      const e = ev.evaluate(spec);
      const modelMs = e.timeNs / 1e6;
      layers.push({
        network: t.network,
        layer: r.name,
        shape: describeShape(spec),
        macs: e.macs,
        measuredMs: r.runtimeMs,
        modelMs,
        error: modelMs / r.runtimeMs - 1,
        computeCycles: e.computeCycles,
        loadCycles: e.cycles - e.computeCycles,
        cycles: e.cycles,
        bound: e.bound,
        ...(r.utilizationPct !== undefined ? { measuredUtilizationPct: r.utilizationPct } : {}),
      });
    }
  }
  const abs = (ls: readonly MeasuredLayerComparison[]) => ls.map((l) => Math.abs(l.error));
  const worst = layers.reduce((a, l) => (Math.abs(l.error) > Math.abs(a.error) ? l : a));
  const cb = layers.filter((l) => l.bound === 'compute');
  const mb = layers.filter((l) => l.bound === 'memory');
  const src = table.source;
  return {
    source: `${src.title}; ${src.authors}; ${src.publisher}, ${src.path} at ${src.commit}; ${src.tables}`,
    accelerator: `${table.accelerator.name}, ${table.accelerator.precision}; clock: ${table.accelerator.clockSource}`,
    model: `${model.id} (${model.name})`,
    device: `${device.name} (${device.board})`,
    clockMHz,
    params: ev.params,
    layers,
    medianAbsError: median(abs(layers)),
    worstAbsError: Math.abs(worst.error),
    worstLayer: `${worst.network} ${worst.layer}`,
    computeBound: { layers: cb.length, medianAbsError: median(abs(cb)) },
    memoryBound: { layers: mb.length, medianAbsError: median(abs(mb)), names: mb.map((l) => l.layer) },
    excluded: table.tables.flatMap((t) => t.excluded.map((x) => `${t.network} #${x.id} ${x.name}: ${x.why}`)),
  };
}
