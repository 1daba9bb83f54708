/** Terminal tables of verification and benchmark results (cli-table3), and the summary lines under them. */
import Table from 'cli-table3';
import { summarizeVerification } from '../report/report-data.ts';
import type { BenchReport, Measurement, PeakReport, VerifyResult } from '../results/index.ts';
import { SPLITCONV_VARIANTS } from '../registry/splitconv.ts';

const GENERAL = new Set(SPLITCONV_VARIANTS.filter((v) => v.weightRange[0] === -128 && v.weightRange[1] === 127).map((v) => v.name));

const fmt = (x: number | undefined, digits = 2) => (x === undefined ? '-' : x.toFixed(digits));

/** One table per layer: kernel, p50 ± MAD, GMAC/s, speedups. */
export function measurementTable(rows: Measurement[]): string {
  const litert = rows.some((r) => r.speedupVsLiteRt !== undefined);
  const peak = rows.some((r) => r.pctOfPeak !== undefined);
  const t = new Table({
    head: ['kernel', 'module', 'p50 ± MAD (ms)', 'GMAC/s', ...(peak ? ['% peak'] : []), 'x scalar', 'x ORT', ...(litert ? ['x LiteRT'] : []), 'n'],
    colAligns: ['left', 'left', 'right', 'right', ...(peak ? ['right' as const] : []), 'right', 'right', ...(litert ? ['right' as const] : []), 'right'],
    style: { head: [], border: [] },
  });
  for (const r of [...rows].sort((a, b) => a.p50Ms - b.p50Ms)) {
    t.push([
      r.kernel, r.module, `${fmt(r.p50Ms, 3)} ± ${fmt(r.madMs, 3)}`, fmt(r.gmacs), ...(peak ? [fmt(r.pctOfPeak, 1)] : []), fmt(r.speedupVsScalar, 1), fmt(r.speedupVsOrt),
      ...(litert ? [fmt(r.speedupVsLiteRt)] : []), r.samples,
    ]);
  }
  return t.toString();
}

/** One line per LiteRT.js row: its build and how its outputs compare with each requantization mode. */
export function litertExactness(rows: Measurement[]): string[] {
  return rows
    .filter((r) => r.litert)
    .map((r) => {
      const d = Object.entries(r.litert!.outputsDifferingByMode).map(([mode, n]) => `${mode} ${n}`).join(', ');
      return `${r.layer}: ${r.kernel} [${r.litert!.build}] outputs differing from our reference, by mode: ${d}`;
    });
}

export function reportTables(report: BenchReport): string {
  const m = report.machine;
  const lines = [`${m.cpu}, ${m.cores} cores, AVX-VNNI ${m.avxVnni ? 'yes' : 'no'}, Node ${m.node} (V8 ${m.v8}); requantization ${report.options.mode}`];
  for (const mod of report.modules.filter((x) => !x.used)) lines.push(`module ${mod.name} not used: ${mod.reason}`);
  const layers = [...new Set(report.measurements.map((r) => r.layer))];
  for (const layer of layers) {
    const rows = report.measurements.filter((r) => r.layer === layer);
    lines.push('', `${layer}  (${rows[0]!.shape}, ${(rows[0]!.macs / 1e6).toFixed(1)} MMAC)`, measurementTable(rows));
    lines.push(...litertExactness(rows));
  }
  if (report.peaks) lines.push('', peakTable(report.peaks));
  if (report.exhaustive?.length) {
    const t = new Table({ head: ['exhaustive check', 'operand tuples', 'mismatches', 'p50 ± MAD (ms)', 'n'], style: { head: [], border: [] } });
    for (const e of report.exhaustive) t.push([e.scheme, e.cases, e.mismatches, `${fmt(e.p50Ms, 1)} ± ${fmt(e.madMs, 1)}`, e.samples]);
    lines.push('', 'Every single packed multiply, enumerated in WebAssembly:', t.toString());
  }
  return lines.join('\n');
}

/**
 * The peak of each instruction path (assembly/peak/): GMAC/s p50 ± MAD with the weights resident
 * in registers (what "% peak" divides by) and with every operand loaded; paths not measured, and why.
 */
export function peakTable(peaks: PeakReport): string {
  const t = new Table({
    head: ['instruction path', 'one group', 'MACs/group', 'resident GMAC/s', 'all loaded GMAC/s', 'n'],
    colAligns: ['left', 'left', 'right', 'right', 'right', 'right'],
    style: { head: [], border: [] },
  });
  const cell = (path: string, operands: string) => {
    const p = peaks.peaks.find((x) => x.path === path && x.operands === operands);
    return p ? `${fmt(p.gmacs)} ± ${fmt(p.madGmacs)}` : '-';
  };
  for (const path of [...new Set(peaks.peaks.map((p) => p.path))]) {
    const p = peaks.peaks.find((x) => x.path === path)!;
    t.push([path, p.group, p.macsPerGroup, cell(path, 'resident'), cell(path, 'loads'), p.samples]);
  }
  const lines = ['Peak MAC rate per instruction path (8 groups per iteration; resident: weights in registers, 2 activation loads; % peak = GMAC/s over resident):', t.toString()];
  for (const s of peaks.skipped) lines.push(`${s.path}: not measured, ${s.reason}`);
  return lines.join('\n');
}

/** One row per layer, kernel and module: the modes that passed, or FAIL and the modes that failed. */
export function verifyTable(results: VerifyResult[]): string {
  const t = new Table({ head: ['layer', 'kernel', 'module', 'modes ok', 'outputs'], style: { head: [], border: [] } });
  for (const row of summarizeVerification(results).rows) {
    t.push([row.layer, row.kernel, row.module, row.failed.length ? `FAIL ${row.failed.join(',')}` : row.passed.join(','), row.outputs]);
  }
  return t.toString();
}

/** Lines comparing the best kernels on the first benchmarked layer, from one run. */
export function targetSummary(report: BenchReport): string[] {
  const ref = report.measurements.filter((m) => m.layer === report.measurements[0]?.layer);
  const best = (pred: (m: (typeof ref)[number]) => boolean) =>
    ref.filter(pred).sort((a, b) => a.p50Ms - b.p50Ms)[0];
  const simd = best((m) => m.module === 'simd' && m.dsp === undefined);
  const relaxed = best((m) => m.module === 'relaxed');
  const packed = best((m) => m.dsp !== undefined);
  const scalar = best((m) => m.module === 'scalar');
  const ort = best((m) => m.module === 'onnxruntime-web');
  const litert = best((m) => m.litert?.threads === 1);
  // Exact on every int8 problem: not the packed-DSP kernels, not the restricted weight domains (rdot8x16w7).
  const exact = best((m) => (m.module === 'simd' || m.module === 'relaxed') && m.dsp === undefined && GENERAL.has(m.kernel));
  const lines: string[] = [];
  if (simd && scalar) lines.push(`best plain SIMD ${simd.kernel}: ${simd.gmacs.toFixed(1)} GMAC/s = ${(scalar.p50Ms / simd.p50Ms).toFixed(1)}x scalar`);
  if (simd && ort) lines.push(`best plain SIMD vs ${ort.kernel} (${ort.gmacs.toFixed(1)} GMAC/s): ${(ort.p50Ms / simd.p50Ms).toFixed(2)}x`);
  if (packed && simd) {
    const d = packed.dsp!;
    lines.push(
      `best packed-DSP ${packed.kernel}: ${packed.gmacs.toFixed(1)} GMAC/s = ${(simd.p50Ms / packed.p50Ms).toFixed(2)}x best plain SIMD; ` +
        `${d.outputsDifferingFromExact} outputs differ from the exact convolution (max ${d.maxOutputError})`,
    );
  }
  if (relaxed && simd) {
    lines.push(`best relaxed SIMD ${relaxed.kernel}: ${relaxed.gmacs.toFixed(1)} GMAC/s = ${(simd.p50Ms / relaxed.p50Ms).toFixed(2)}x best plain SIMD`);
  }
  if (exact && litert) {
    lines.push(`best exact int8 kernel ${exact.kernel} vs ${litert.kernel} [${litert.litert!.build}] (${litert.gmacs.toFixed(1)} GMAC/s): ${(litert.p50Ms / exact.p50Ms).toFixed(2)}x (target >= 1.0x)`);
  }
  return lines;
}
