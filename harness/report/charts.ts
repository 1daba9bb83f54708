/**
 * Chart data derived from the ReportData: plain specs (`ChartSpec`) embedded in the page as JSON,
 * which the page script (assets/page.js) turns into Chart.js charts. Nothing here touches HTML.
 */
import { type CompressionResults, type DspExactnessSet, type FpgaSection, type Measurement, type ReportData } from '../results/index.ts';
import { fmt, shortKernel, truncate } from './escape.ts';

export interface AxisSpec {
  title: string;
  log?: boolean;
  /** Appended to tick labels: 'x' for ratios, '%' for percentages. */
  unit?: string;
  /** Lower bound of the axis (a log axis: where its bars start). */
  min?: number;
  max?: number;
  suggestedMax?: number;
}

export interface PointSpec {
  x: number;
  y: number;
  /** Shown in the tooltip. */
  label: string;
}

export interface DatasetSpec {
  label: string;
  color: string;
  /** Bar values (null: no bar) or scatter points. */
  data: (number | null)[] | PointSpec[];
  /** Scatter only: draw as a line through the points without markers (roof lines). */
  line?: boolean;
  dashed?: boolean;
  /** Bars: per-value tooltip lines. */
  notes?: (string | null)[];
}

export interface ChartSpec {
  /** The canvas' data-chart attribute. */
  id: string;
  type: 'bar' | 'scatter';
  /** Bar charts: category labels (short) and, for tooltips, the full names. */
  labels?: string[];
  fullLabels?: string[];
  horizontal?: boolean;
  datasets: DatasetSpec[];
  x: AxisSpec;
  y: AxisSpec;
  /** Bars: draw zero values as a sliver, so "measured, zero" differs from "not measured". */
  minBarLength?: number;
  /** Canvas box height, px. */
  height: number;
}

type Family = 'scalar' | 'simd' | 'relaxed' | 'packed' | 'ort';

/** Colours by kernel family; shades for several series of one family. */
const FAMILY_COLORS: Record<Family, string[]> = {
  scalar: ['#7f7f7f'],
  simd: ['#1f77b4', '#4a9ad4', '#0d4f80', '#79b8e8', '#2f5f8a', '#9fcdf0'],
  relaxed: ['#7b3fa0', '#a070c4', '#54296f'],
  packed: ['#e6730f', '#f5a04c', '#b35400', '#f7c08a'],
  ort: ['#2ca02c', '#74c476'],
};
const SERIES_COLORS = ['#1f77b4', '#e6730f', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];
const SCHEME_COLORS: Record<string, string> = { int8x8: '#d62728', int8xu8: '#e6730f', wp487u8: '#9467bd', int4: '#17becf' };

const FAMILY_LABELS: Record<Family, string> = {
  scalar: 'scalar WASM',
  simd: 'WASM SIMD',
  relaxed: 'WASM relaxed SIMD',
  packed: 'packed-DSP emulation (WASM SIMD)',
  ort: 'onnxruntime-web',
};

function familyOf(m: Measurement): Family {
  if (m.module === 'onnxruntime-web') return 'ort';
  if (m.dsp) return 'packed';
  if (m.module === 'scalar') return 'scalar';
  if (m.module === 'relaxed') return 'relaxed';
  return 'simd';
}

function familyColor(f: Family, index: number): string {
  const shades = FAMILY_COLORS[f];
  return shades[index % shades.length]!;
}

interface KernelKey {
  key: string;
  kernel: string;
  module: string;
  family: Family;
  label: string;
}

/** Distinct (kernel, module) pairs in order of first appearance, with short unique labels. */
function kernelKeys(ms: Measurement[]): KernelKey[] {
  const seen = new Map<string, KernelKey>();
  for (const m of ms) {
    const key = `${m.kernel}\u0000${m.module}`;
    if (!seen.has(key)) seen.set(key, { key, kernel: m.kernel, module: m.module, family: familyOf(m), label: shortKernel(m.kernel) });
  }
  const keys = [...seen.values()];
  const counts = new Map<string, number>();
  for (const k of keys) counts.set(k.label, (counts.get(k.label) ?? 0) + 1);
  for (const k of keys) if (counts.get(k.label)! > 1) k.label = `${k.label} [${k.module}]`;
  return keys;
}

const keyOf = (m: Measurement) => `${m.kernel}\u0000${m.module}`;
const geomean = (xs: number[]) => Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);

/** The layers of the measurements, in order of first appearance. */
export function layersOf(ms: Measurement[]): string[] {
  return [...new Set(ms.map((m) => m.layer))];
}

/** GMAC/s per kernel per layer. One layer: horizontal bars by kernel; several: groups by layer. */
export function throughputChart(ms: Measurement[]): ChartSpec {
  const layers = layersOf(ms);
  const keys = kernelKeys(ms);
  if (layers.length === 1) {
    const byKey = new Map(ms.map((m) => [keyOf(m), m]));
    const sorted = [...keys].sort((a, b) => byKey.get(b.key)!.gmacs - byKey.get(a.key)!.gmacs);
    const families = [...new Set(sorted.map((k) => k.family))];
    return {
      id: 'gmacs',
      type: 'bar',
      horizontal: true,
      labels: sorted.map((k) => k.label),
      fullLabels: sorted.map((k) => `${k.kernel} [${k.module}]`),
      datasets: families.map((f) => ({
        label: FAMILY_LABELS[f],
        color: familyColor(f, 0),
        data: sorted.map((k) => (k.family === f ? byKey.get(k.key)!.gmacs : null)),
        notes: sorted.map((k) => {
          const m = byKey.get(k.key)!;
          return `p50 ${fmt(m.p50Ms, 3)} ± ${fmt(m.madMs, 3)} ms, n=${m.samples}`;
        }),
      })),
      x: { title: `GMAC/s on ${layers[0]} (higher is better)`, min: 0 },
      y: { title: '' },
      height: Math.max(220, 34 * sorted.length + 90),
    };
  }
  const perFamily = new Map<Family, number>();
  return {
    id: 'gmacs',
    type: 'bar',
    labels: layers.map((l) => truncate(l, 30)),
    fullLabels: layers,
    datasets: keys.map((k) => {
      const i = perFamily.get(k.family) ?? 0;
      perFamily.set(k.family, i + 1);
      return {
        label: k.label,
        color: familyColor(k.family, i),
        data: layers.map((l) => ms.find((m) => m.layer === l && keyOf(m) === k.key)?.gmacs ?? null),
      };
    }),
    x: { title: 'layer' },
    y: { title: 'GMAC/s (higher is better)', min: 0 },
    height: 420,
  };
}

/** The largest power of 10 not above x (x > 0): where a log-scale bar axis starts. */
function logFloor(x: number): number {
  return 10 ** Math.floor(Math.log10(x) + 1e-9);
}

/** Speedups over scalar and over onnxruntime-web; the geometric mean over layers when several. */
export function speedupChart(ms: Measurement[]): ChartSpec {
  const layers = layersOf(ms);
  const keys = kernelKeys(ms).filter((k) => k.family !== 'scalar');
  const mean = (k: KernelKey, f: (m: Measurement) => number | undefined) => {
    const xs = ms.filter((m) => keyOf(m) === k.key).map(f).filter((x): x is number => x !== undefined && x > 0);
    return xs.length ? geomean(xs) : null;
  };
  const vsScalar = keys.map((k) => mean(k, (m) => m.speedupVsScalar));
  const vsOrt = keys.map((k) => mean(k, (m) => m.speedupVsOrt));
  const order = keys.map((_, i) => i).sort((a, b) => (vsScalar[b] ?? 0) - (vsScalar[a] ?? 0));
  const datasets: DatasetSpec[] = [];
  if (vsScalar.some((v) => v !== null)) datasets.push({ label: 'speedup over the scalar kernel', color: '#1f77b4', data: order.map((i) => vsScalar[i]!) });
  if (vsOrt.some((v) => v !== null)) datasets.push({ label: 'speedup over onnxruntime-web (fastest encoding)', color: '#2ca02c', data: order.map((i) => vsOrt[i]!) });
  const over = layers.length === 1 ? `on ${layers[0]}` : `geometric mean over ${layers.length} layers`;
  const values = [...vsScalar, ...vsOrt].filter((v): v is number => v !== null);
  return {
    id: 'speedup',
    type: 'bar',
    horizontal: true,
    labels: order.map((i) => keys[i]!.label),
    fullLabels: order.map((i) => `${keys[i]!.kernel} [${keys[i]!.module}]`),
    datasets,
    x: { title: `speedup, ${over} (log scale; 1x = as fast)`, log: true, unit: 'x', min: logFloor(Math.min(1, ...values)) },
    y: { title: '' },
    height: Math.max(220, (datasets.length > 1 ? 40 : 28) * keys.length + 90),
  };
}

/** % of outputs differing from the exact convolution per layer, one series per configuration. */
export function dspExactnessChart(sets: DspExactnessSet[]): ChartSpec {
  const layers = [...new Set(sets.flatMap((s) => s.rows.map((r) => r.layer)))];
  const perScheme = new Map<string, number>();
  const max = Math.max(0, ...sets.flatMap((s) => s.rows.map((r) => (100 * r.outputsDiffering) / r.outputs)));
  return {
    id: 'dsp-exactness',
    type: 'bar',
    labels: layers.map((l) => truncate(l.replace(/^[^/]+\//, ''), 24)),
    fullLabels: layers,
    datasets: sets.map((s) => {
      const i = perScheme.get(s.scheme) ?? 0;
      perScheme.set(s.scheme, i + 1);
      const base = SCHEME_COLORS[s.scheme] ?? SERIES_COLORS[perScheme.size % SERIES_COLORS.length]!;
      const rows = layers.map((l) => s.rows.find((r) => r.layer === l));
      return {
        label: s.label,
        color: i === 0 ? base : shade(base, i),
        data: rows.map((r) => (r ? (100 * r.outputsDiffering) / r.outputs : null)),
        notes: rows.map((r) =>
          r
            ? `${r.outputsDiffering} of ${r.outputs} outputs differ (max error ${r.maxOutputError}); ${r.productsPerDecode} products per P, bound ${r.bound}` +
              (r.safeInWorstCase ? ' (exact for any operands)' : ' (can corrupt)')
            : null,
        ),
      };
    }),
    x: { title: 'layer' },
    y: { title: 'outputs differing from the exact convolution', unit: '%', min: 0, ...(max === 0 ? { suggestedMax: 1 } : {}) },
    minBarLength: 2,
    height: layers.length <= 2 ? 260 : 380,
  };
}

/** A lighter or darker variant of a #rrggbb colour. */
function shade(hex: string, step: number): string {
  const f = step % 2 === 1 ? 0.45 : -0.3;
  const c = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  const out = c.map((v) => Math.round(f > 0 ? v + (255 - v) * f : v * (1 + f)));
  return `#${out.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

/** FPGA model throughput per layer next to the fastest WASM kernel on the same shape. */
export function fpgaVsWasmChart(f: FpgaSection): ChartSpec {
  const datasets: DatasetSpec[] = [
    {
      label: `FPGA model ${f.model} on ${f.device} at ${f.clockMHz} MHz`,
      color: '#d62728',
      data: f.layers.map((l) => l.fpgaGops),
      notes: f.layers.map((l) => `${l.bound}-bound, ${fmt(l.cycles)} cycles, utilization ${fmt(100 * l.utilization, 1)} %`),
    },
  ];
  if (f.layers.some((l) => l.wasm)) {
    datasets.push({
      label: 'fastest WASM kernel on this machine (same shape)',
      color: '#1f77b4',
      data: f.layers.map((l) => l.wasm?.gops ?? null),
      notes: f.layers.map((l) => (l.wasm ? `${l.wasm.kernel} [${l.wasm.module}], measured as ${l.wasm.measuredAs}` : null)),
    });
  }
  return {
    id: 'fpga-vs-wasm',
    type: 'bar',
    labels: f.layers.map((l) => truncate(l.layer, 24)),
    fullLabels: f.layers.map((l) => `${l.layer} (${l.shape})`),
    datasets,
    x: { title: `layer of ${f.network}` },
    y: { title: 'GOPS (1 MAC = 2 ops)', min: 0 },
    height: 380,
  };
}

/** Roofline of the device: operational intensity vs attainable GOPS, one point per layer. */
export function rooflineChart(f: FpgaSection): ChartSpec {
  const pts = f.layers.filter((l) => l.operationalIntensity !== null && l.operationalIntensity > 0 && l.fpgaGops > 0);
  const { peakGops: peak, bandwidthGBps: bw } = f.roof;
  const ridge = peak / bw;
  const ois = pts.map((l) => l.operationalIntensity!);
  const lo = Math.min(ridge, ...ois) / 4;
  const hi = Math.max(ridge, ...ois) * 4;
  const point = (l: (typeof pts)[number]): PointSpec => ({
    x: l.operationalIntensity!,
    y: l.fpgaGops,
    label: `${l.layer} (${l.shape}): ${fmt(l.operationalIntensity!, 1)} ops/B, ${fmt(l.fpgaGops, 1)} GOPS`,
  });
  const datasets: DatasetSpec[] = [
    {
      label: `roof: ${fmt(peak, 1)} GOPS peak, ${fmt(bw, 1)} GB/s`,
      color: '#444444',
      line: true,
      data: [
        { x: lo, y: bw * lo, label: `memory roof: ${fmt(bw, 1)} GB/s x intensity` },
        { x: ridge, y: peak, label: `ridge point: ${fmt(ridge, 1)} ops/B` },
        { x: hi, y: peak, label: `compute roof: ${fmt(peak, 1)} GOPS` },
      ],
    },
  ];
  const compute = pts.filter((l) => l.bound === 'compute');
  const memory = pts.filter((l) => l.bound === 'memory');
  if (compute.length) datasets.push({ label: 'compute-bound layers', color: '#1f77b4', data: compute.map(point) });
  if (memory.length) datasets.push({ label: 'memory-bound layers', color: '#d62728', data: memory.map(point) });
  return {
    id: 'roofline',
    type: 'scatter',
    datasets,
    x: { title: 'operational intensity (ops per off-chip byte, log)', log: true },
    y: { title: 'attainable GOPS (log)', log: true },
    height: 400,
  };
}

/** Accuracy against model size, MACs or FPGA cycles, one series per compression method. */
export function compressionChart(c: CompressionResults, axis: 'size' | 'macs' | 'cycles'): ChartSpec {
  const shown = axis === 'cycles' ? c.points.filter((p) => p.fpgaCycles !== undefined) : c.points;
  const methods = [...new Set(shown.map((p) => p.method ?? 'other'))];
  const xOf = (p: CompressionResults['points'][number]): number => (axis === 'size' ? p.sizeBytes / 1e6 : axis === 'macs' ? p.macs / 1e9 : p.fpgaCycles!);
  const xs = shown.map(xOf);
  const ys = shown.map((p) => 100 * p.accuracy);
  // Room around the points, so none sits on the frame.
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const pad = Math.max(0.5, (y1 - y0) * 0.08);
  return {
    id: `compression-${axis}`,
    type: 'scatter',
    datasets: methods.map((method, i) => ({
      label: method,
      color: SERIES_COLORS[i % SERIES_COLORS.length]!,
      data: shown
        .filter((p) => (p.method ?? 'other') === method)
        .map((p) => ({
          x: xOf(p),
          y: 100 * p.accuracy,
          label:
            `${p.setting}${p.bits ? ` (${p.bits})` : ''}: ${fmt(100 * p.accuracy, 2)} %, ${fmt(p.sizeBytes / 1e6, 2)} MB, ${fmt(p.macs / 1e9, 3)} GMAC` +
            (p.fpgaCycles !== undefined ? `, ${p.fpgaCycles.toLocaleString('en-US')} cycles` : '') + (p.pareto ? ', Pareto' : ''),
        })),
    })),
    x: {
      title: axis === 'size' ? 'model size, MB (log)' : axis === 'macs' ? 'MACs per inference, G (log)' : 'FPGA cycles per inference, engine (a) (log)',
      log: true, min: x0 / 1.4, max: x1 * 1.4,
    },
    y: { title: `${c.metric} on ${c.dataset}`, unit: '%', min: Math.max(0, Math.floor(y0 - pad)), max: Math.min(100, Math.ceil(y1 + pad)) },
    height: 340,
  };
}

/** Every chart this report draws, in page order. */
export function chartSpecs(data: ReportData): ChartSpec[] {
  const ms = data.benchmark.measurements;
  const specs = [throughputChart(ms), speedupChart(ms)];
  if (data.dspExactness?.some((s) => s.rows.length)) specs.push(dspExactnessChart(data.dspExactness));
  if (data.fpga?.layers.length) {
    specs.push(fpgaVsWasmChart(data.fpga));
    if (data.fpga.layers.some((l) => l.operationalIntensity !== null) && data.fpga.roof.bandwidthGBps > 0) specs.push(rooflineChart(data.fpga));
  }
  if (data.compression?.points.length) {
    specs.push(compressionChart(data.compression, 'size'), compressionChart(data.compression, 'macs'));
    if (data.compression.points.some((p) => p.fpgaCycles !== undefined)) specs.push(compressionChart(data.compression, 'cycles'));
  }
  return specs;
}
