/** The benchmark: throughput charts per kernel, and the kernel table per layer. */
import { type Measurement, type ReportData } from '../../results/index.ts';
import { type ChartSpec, layersOf } from '../charts.ts';
import { fmt, shortKernel, wrapName } from '../escape.ts';
import { exhaustiveChecks } from './exhaustive.ts';
import { type Column, figure, table } from './parts.ts';

/** The GMAC/s and speedup charts of the benchmarked kernels. */
export function throughputSection(data: ReportData, specs: Map<string, ChartSpec>): string {
  const ms = data.benchmark.measurements;
  const layers = layersOf(ms);
  const over = layers.length === 1 ? `on ${layers[0]}` : `on ${layers.length} layers`;
  return (
    figure(specs.get('gmacs')!, `GMAC/s at the p50 latency of each kernel variant ${over}, measured with tinybench on this machine.`) +
    figure(
      specs.get('speedup')!,
      `Speedup over the scalar WASM kernel${data.benchmark.options.ort ? ' and over onnxruntime-web QLinearConv (the faster of its int8 and uint8 encodings)' : ''}` +
        `${layers.length > 1 ? ', geometric mean over the layers' : ''}.` +
        (ms.some((x) => x.speedupVsOrt !== undefined) ? '' : ' onnxruntime-web was not measured in this run.'),
    )
  );
}

/** Per layer, a table of every kernel: p50 ± MAD, GMAC/s, speedups, what its output was checked against. */
export function kernelSection(data: ReportData): string {
  const ms = data.benchmark.measurements;
  const anyOrt = ms.some((m) => m.speedupVsOrt !== undefined);
  const anyPacked = ms.some((m) => m.dsp !== undefined);
  const cols: Column<Measurement>[] = [
    { head: 'kernel', cell: (r) => wrapName(r.kernel), cls: 'mono kernel', html: true },
    { head: 'module', cell: (r) => r.module },
    { head: 'p50 ± MAD (ms)', cell: (r) => `${fmt(r.p50Ms, 3)} ± ${fmt(r.madMs, 3)}`, num: true },
    { head: 'GMAC/s', cell: (r) => fmt(r.gmacs, 2), num: true },
    { head: 'x scalar', cell: (r) => (r.speedupVsScalar === undefined ? '–' : `${fmt(r.speedupVsScalar, 1)}x`), num: true },
    ...(anyOrt ? [{ head: 'x ORT', cell: (r: Measurement) => (r.speedupVsOrt === undefined ? '–' : `${fmt(r.speedupVsOrt, 2)}x`), num: true }] : []),
    { head: 'n', cell: (r) => r.samples, num: true },
    { head: 'verified against', cell: (r) => shortKernel(r.verifiedAgainst), cls: 'small' },
    ...(anyPacked
      ? [{ head: 'outputs ≠ exact (max error)', cell: (r: Measurement) => (r.dsp ? `${fmt(r.dsp.outputsDifferingFromExact)} (${r.dsp.maxOutputError})` : '–'), num: true }]
      : []),
  ];
  const parts: string[] = [];
  for (const layer of layersOf(ms)) {
    const rows = ms.filter((m) => m.layer === layer).sort((a, b) => a.p50Ms - b.p50Ms);
    const r0 = rows[0]!;
    parts.push(table(rows, cols, `${layer} (${r0.shape}, ${fmt(r0.macs / 1e6, 1)} MMAC)`));
  }
  return [...parts, ...exhaustiveChecks(data)].join('\n');
}
