/** Compression settings as a terminal table: accuracy, size, MACs, FPGA cycles, Pareto front. */
import Table from 'cli-table3';
import type { CompressionPoint, TrainedSummary } from '../results/index.ts';

export function compressionTable(points: readonly CompressionPoint[]): string {
  const t = new Table({ head: ['setting', 'bits', 'top-1', 'size (bytes)', 'MACs', 'FPGA cycles', 'Pareto'], style: { head: [], border: [] } });
  for (const p of points) {
    t.push([
      p.setting, p.bits ?? '', `${(100 * p.accuracy).toFixed(2)} %`, Math.round(p.sizeBytes).toLocaleString('en-US'), p.macs.toLocaleString('en-US'),
      p.fpgaCycles === undefined ? '-' : p.fpgaCycles.toLocaleString('en-US'), p.pareto ? 'yes' : '',
    ]);
  }
  return t.toString();
}

/** The committed trained models' records and checks. */
export function trainedTable(rows: readonly TrainedSummary[]): string {
  const t = new Table({ head: ['model', 'bits', 'training', 'float', 'PyTorch', 'WASM', 'vs trainer differ/ties/codes', 'vs ORT differ/ties/codes', 'packed-DSP differ', 'FPGA cycles'], style: { head: [], border: [] } });
  const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
  const n = (x: number) => x.toLocaleString('en-US');
  for (const r of rows) {
    t.push([
      r.name, r.bits, `${r.training}, ${Math.round(r.trainSeconds)} s`, pct(r.floatTop1), pct(r.trainerTop1), pct(r.wasmTop1),
      `${n(r.vsTrainer.differing)}/${n(r.vsTrainer.ties)}/${n(r.vsTrainer.codes)}`, `${n(r.vsOrt.differing)}/${n(r.vsOrt.ties)}/${n(r.vsOrt.codes)}`, `${n(r.dspDiffering)}/${n(r.dspOutputs)}`, n(r.fpgaCycles),
    ]);
  }
  return `${rows[0]?.imageSet ?? ''}\n${t.toString()}`;
}
