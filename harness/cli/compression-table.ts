/** Compression settings as a terminal table: accuracy, size, MACs, FPGA cycles, Pareto front. */
import Table from 'cli-table3';
import type { CompressionPoint } from '../results/index.ts';

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
