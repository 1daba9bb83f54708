/** The summary cards at the top of the report: checks passed, the fastest kernels, the FPGA model. */
import { type Measurement, type ReportData } from '../../results/index.ts';
import { escapeHtml, fmt, shortKernel } from '../escape.ts';

export function summaryCards(data: ReportData): string {
  const ms = data.benchmark.measurements;
  const ref = ms.filter((m) => m.layer === ms[0]!.layer);
  const best = (f: (m: Measurement) => boolean) => ref.filter(f).sort((a, b) => a.p50Ms - b.p50Ms)[0];
  const simd = best((m) => (m.module === 'simd' || m.module === 'relaxed') && !m.dsp);
  const scalar = best((m) => m.module === 'scalar');
  const ort = best((m) => m.module === 'onnxruntime-web');
  const packed = best((m) => m.dsp !== undefined);
  const cards: [string, string, string][] = [];
  const v = data.verification;
  cards.push(['verification', v ? `${v.passed} / ${v.checks}` : '–', v ? (v.failed ? `${v.failed} checks FAILED` : 'checks bit-exact') : 'fkb verify not run']);
  if (simd) cards.push(['fastest SIMD kernel', `${fmt(simd.gmacs, 1)} GMAC/s`, shortKernel(simd.kernel)]);
  if (simd && scalar) cards.push(['over scalar', `${fmt(scalar.p50Ms / simd.p50Ms, 1)}x`, `scalar: ${fmt(scalar.gmacs, 2)} GMAC/s`]);
  if (simd && ort) cards.push(['over onnxruntime-web', `${fmt(ort.p50Ms / simd.p50Ms, 2)}x`, `${shortKernel(ort.kernel)}: ${fmt(ort.gmacs, 1)} GMAC/s`]);
  if (packed) cards.push(['packed-DSP emulation', `${fmt(packed.gmacs, 1)} GMAC/s`, `${packed.dsp!.outputsDifferingFromExact} outputs differ from exact`]);
  if (data.fpga) cards.push(['FPGA model', `${fmt(data.fpga.totals.gops, 1)} GOPS`, `${data.fpga.network} on ${data.fpga.device}`]);
  return (
    `<div class="cards">` +
    cards.map(([k, val, sub]) => `<div class="card"><div class="k">${escapeHtml(k)}</div><div class="v">${escapeHtml(val)}</div><div class="s">${escapeHtml(sub)}</div></div>`).join('') +
    `</div>` +
    (ref.length ? `<p class="small">On ${escapeHtml(ms[0]!.layer)} (${escapeHtml(ms[0]!.shape)}, ${fmt(ms[0]!.macs / 1e6, 1)} MMAC).</p>` : '')
  );
}
