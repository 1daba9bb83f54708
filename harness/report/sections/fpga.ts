/** The FPGA model next to the WASM throughput per layer, and the roofline of the modelled engine. */
import { type ReportData } from '../../results/index.ts';
import { type ChartSpec } from '../charts.ts';
import { escapeHtml, fmt, sig } from '../escape.ts';
import { figure, note, table } from './parts.ts';

export function fpgaSection(data: ReportData, specs: Map<string, ChartSpec>): string {
  const f = data.fpga;
  if (!f) return note('Not available in this run: no fkb model results were given.');
  const matched = f.layers.filter((l) => l.wasm).length;
  const params = Object.entries(f.params).map(([k, v]) => `${k}=${v}`).join(' ');
  const parts = [
    `<p>Model <b>${escapeHtml(f.model)}</b> on <b>${escapeHtml(f.device)}</b> at ${fmt(f.clockMHz)} MHz, network ${escapeHtml(f.network)}; ` +
      `parameters <code>${escapeHtml(params)}</code>. Total ${fmt(f.totals.gops, 1)} GOPS, ${fmt(f.totals.timeNs / 1e6, 3)} ms per inference, ` +
      `${fmt(f.totals.dsp)} DSPs, ${fmt(f.totals.bram, 1)} BRAM36, ${f.totals.memoryBoundLayers} memory-bound layers.</p>`,
  ];
  const bars = specs.get('fpga-vs-wasm');
  if (bars) {
    const wasmNote = matched
      ? `WASM bars: the fastest of our kernels measured on a benchmark layer of the same shape (${matched} of ${f.layers.length} layers matched), as 2 x GMAC/s.`
      : 'No benchmarked layer has the shape of a model layer, so there are no WASM bars: run fkb bench with a shapes file that includes this network.';
    parts.push(figure(bars, `Throughput per layer: the analytical FPGA model's attainable GOPS. ${wasmNote}`));
  }
  const roof = specs.get('roofline');
  if (roof) {
    parts.push(
      figure(
        roof,
        `Roofline of the configured engine on ${f.device}: min(${fmt(f.roof.peakGops, 1)} GOPS, ${fmt(f.roof.bandwidthGBps, 1)} GB/s x intensity). ` +
          `Bandwidth: ${f.roof.bandwidthSource}. A layer below the roof loses cycles to tiling or pipeline fill.`,
      ),
    );
  } else {
    parts.push(note('Roofline not available: the model results have no off-chip traffic or bandwidth.'));
  }
  parts.push(
    table(f.layers, [
      { head: 'layer', cell: (l) => l.layer },
      { head: 'shape', cell: (l) => l.shape, cls: 'mono small nowrap' },
      { head: 'bound', cell: (l) => l.bound },
      { head: 'cycles', cell: (l) => fmt(l.cycles), num: true },
      { head: 'ops/byte', cell: (l) => sig(l.operationalIntensity), num: true },
      { head: 'FPGA GOPS', cell: (l) => fmt(l.fpgaGops, 1), num: true },
      { head: 'util %', cell: (l) => fmt(100 * l.utilization, 1), num: true },
      { head: 'WASM GOPS', cell: (l) => (l.wasm ? fmt(l.wasm.gops, 1) : '–'), num: true },
      { head: 'FPGA / WASM', cell: (l) => (l.wasm ? `${fmt(l.fpgaGops / l.wasm.gops, 2)}x` : '–'), num: true },
    ]),
  );
  if (f.warnings.length) {
    parts.push(
      `<details class="warnings"><summary>${f.warnings.length} model warnings</summary><ul>${f.warnings
        .slice(0, 50)
        .map((w) => `<li>${escapeHtml(w)}</li>`)
        .join('')}</ul></details>`,
    );
  }
  return parts.join('\n');
}
