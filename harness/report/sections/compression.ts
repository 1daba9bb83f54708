/** Accuracy against size and MACs of the compressed model, one point per setting. */
import { type ReportData } from '../../results/index.ts';
import { type ChartSpec } from '../charts.ts';
import { escapeHtml, fmt } from '../escape.ts';
import { figure, note, table } from './parts.ts';

export function compressionSection(data: ReportData, specs: Map<string, ChartSpec>): string {
  const c = data.compression;
  const size = specs.get('compression-size');
  const macs = specs.get('compression-macs');
  const cycles = specs.get('compression-cycles');
  if (!c || !size || !macs) return note('Not available in this run: no compression results (accuracy vs size) were given.');
  const paretoNote = c.points.some((p) => p.pareto !== undefined)
    ? '<p>Pareto: no other setting is at least as accurate, as fast on the FPGA, as small and as cheap in MACs, and better in one of them. ' +
      'FPGA cycles: engine (a) on the default device, each layer on its packing plan (the densest exact DSP packing for its widths).</p>'
    : '';
  return (
    `<p>${escapeHtml(c.network)} on ${escapeHtml(c.dataset)}, ${escapeHtml(c.metric)}; ${c.points.length} settings.</p>` +
    `<div class="two">${figure(size, `${c.metric} against model size.`)}${figure(macs, `${c.metric} against MACs per inference.`)}</div>` +
    (cycles ? figure(cycles, `${c.metric} against FPGA cycles per inference.`) : '') +
    paretoNote +
    table(c.points, [
      { head: 'setting', cell: (p) => p.setting },
      { head: 'method', cell: (p) => p.method ?? 'other' },
      { head: 'bits', cell: (p) => p.bits ?? '' },
      { head: c.metric, cell: (p) => `${fmt(100 * p.accuracy, 2)} %`, num: true },
      { head: 'size (MB)', cell: (p) => fmt(p.sizeBytes / 1e6, 3), num: true },
      { head: 'GMAC', cell: (p) => fmt(p.macs / 1e9, 4), num: true },
      { head: 'FPGA cycles', cell: (p) => (p.fpgaCycles === undefined ? '' : p.fpgaCycles.toLocaleString('en-US')), num: true },
      { head: 'Pareto', cell: (p) => (p.pareto ? 'yes' : '') },
    ]) +
    trainedTable(c)
  );
}

/** The committed trained models: accuracy in PyTorch and on our kernels, and every exactness count. */
function trainedTable(c: NonNullable<ReportData['compression']>): string {
  const t = c.trained;
  if (!t?.length) return '';
  const n = (x: number) => x.toLocaleString('en-US');
  return (
    `<h3>Trained low-precision models</h3><p>Committed QDQ models (models/fashion-mnist/lowbit, made by <code>fkb train</code>), as their training ` +
    `record and check measured them on ${escapeHtml(t[0]!.imageSet)} (no test image is used for calibration or any choice): ` +
    `top-1 of PyTorch's fake-quant model and of our integer graph on the WASM kernels; our codes against the trainer's node by node ` +
    `(a difference within 1e-3 codes of a rounding boundary is a tie) and against onnxruntime-web; packed-DSP outputs against the exact kernels.</p>` +
    table(t, [
      { head: 'model', cell: (x) => x.name },
      { head: 'bits', cell: (x) => x.bits },
      { head: 'training', cell: (x) => `${x.training}, ${fmt(x.trainSeconds, 0)} s` },
      { head: 'float', cell: (x) => `${fmt(100 * x.floatTop1, 2)} %`, num: true },
      { head: 'PyTorch', cell: (x) => `${fmt(100 * x.trainerTop1, 2)} %`, num: true },
      { head: 'WASM', cell: (x) => `${fmt(100 * x.wasmTop1, 2)} %`, num: true },
      { head: 'vs trainer (differ / ties / codes)', cell: (x) => `${n(x.vsTrainer.differing)} / ${n(x.vsTrainer.ties)} / ${n(x.vsTrainer.codes)} (${x.vsTrainer.images} images)` },
      { head: 'vs ORT (differ / ties / codes)', cell: (x) => `${n(x.vsOrt.differing)} / ${n(x.vsOrt.ties)} / ${n(x.vsOrt.codes)}` },
      { head: 'packed-DSP differ', cell: (x) => `${n(x.dspDiffering)} / ${n(x.dspOutputs)}` },
      { head: 'FPGA cycles', cell: (x) => n(x.fpgaCycles), num: true },
    ])
  );
}
