/** Terminal tables of benchmark results (cli-table3). */
import Table from 'cli-table3';
import type { BenchReport, Measurement } from '../bench/bench-kernels.ts';

const fmt = (x: number | undefined, digits = 2) => (x === undefined ? '-' : x.toFixed(digits));

/** One table per layer: kernel, p50 ± MAD, GMAC/s, speedups. */
export function measurementTable(rows: Measurement[]): string {
  const t = new Table({
    head: ['kernel', 'module', 'p50 ± MAD (ms)', 'GMAC/s', 'x scalar', 'x ORT', 'n'],
    colAligns: ['left', 'left', 'right', 'right', 'right', 'right', 'right'],
    style: { head: [], border: [] },
  });
  for (const r of [...rows].sort((a, b) => a.p50Ms - b.p50Ms)) {
    t.push([r.kernel, r.module, `${fmt(r.p50Ms, 3)} ± ${fmt(r.madMs, 3)}`, fmt(r.gmacs), fmt(r.speedupVsScalar, 1), fmt(r.speedupVsOrt), r.samples]);
  }
  return t.toString();
}

export function reportTables(report: BenchReport): string {
  const m = report.machine;
  const lines = [`${m.cpu}, ${m.cores} cores, AVX-VNNI ${m.avxVnni ? 'yes' : 'no'}, Node ${m.node} (V8 ${m.v8}); requantization ${report.options.mode}`];
  for (const mod of report.modules.filter((x) => !x.used)) lines.push(`module ${mod.name} not used: ${mod.reason}`);
  const layers = [...new Set(report.measurements.map((r) => r.layer))];
  for (const layer of layers) {
    const rows = report.measurements.filter((r) => r.layer === layer);
    lines.push('', `${layer}  (${rows[0]!.shape}, ${(rows[0]!.macs / 1e6).toFixed(1)} MMAC)`, measurementTable(rows));
  }
  if (report.exhaustive?.length) {
    const t = new Table({ head: ['exhaustive check', 'operand tuples', 'mismatches', 'p50 ± MAD (ms)', 'n'], style: { head: [], border: [] } });
    for (const e of report.exhaustive) t.push([e.scheme, e.cases, e.mismatches, `${fmt(e.p50Ms, 1)} ± ${fmt(e.madMs, 1)}`, e.samples]);
    lines.push('', 'Every single packed multiply, enumerated in WebAssembly:', t.toString());
  }
  return lines.join('\n');
}
