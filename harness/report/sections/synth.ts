/** Model (a) vs Yosys synthesis of the engine RTL, per configuration (`fkb synth --json`). */
import { type ReportData, type SynthComparison, type SynthErrorSummary } from '../../results/index.ts';
import { escapeHtml, fmt } from '../escape.ts';
import { badge, note, table } from './parts.ts';
import { median } from '../../util/stats.ts';


/** Median and max of the held-out rows' LUT and FF error (undefined without held-out rows). */
export function heldoutErrors(rows: readonly SynthComparison[]): { n: number; lut: SynthErrorSummary; ff: SynthErrorSummary } | undefined {
  const held = rows.filter((r) => r.role === 'heldout');
  if (held.length === 0) return undefined;
  const sum = (e: number[]): SynthErrorSummary => ({ medianPct: Math.round(median(e) * 100) / 100, maxPct: Math.max(...e) });
  return { n: held.length, lut: sum(held.map((r) => r.lut.errorPct)), ff: sum(held.map((r) => r.ff.errorPct)) };
}

const role = (r: SynthComparison): string => (r.role === 'train' ? 'training' : r.role === 'heldout' ? 'held-out' : '–');
const pct = (x: number): string => (x === null || !Number.isFinite(x) ? '∞' : fmt(x, 1));

export function synthSection(data: ReportData): string {
  const s = data.synth;
  if (!s) return note('Not available in this run: no synthesis comparison (fkb synth --grid --json) was given.');
  const dspEqual = s.rows.filter((r) => r.dsp.equal).length;
  const over = s.rows.filter((r) => r.lut.errorPct > s.tolerancePct || r.ff.errorPct > s.tolerancePct).length;
  const parts = [
    `<p>Engine (a)'s RTL (rtl/splitconv_pe.v) synthesized by ${escapeHtml(s.yosysVersion)} (<code>${escapeHtml(s.flow)}</code>), ` +
      `next to model (a): DSP = Pp x Po x L, LUT and FF from the fabric fit. ` +
      `${badge(dspEqual === s.rows.length, `DSP ${dspEqual}/${s.rows.length} equal`)} ` +
      `${badge(over === 0, over === 0 ? `LUT/FF within ${fmt(s.tolerancePct)} %` : `${over} of ${s.rows.length} beyond ${fmt(s.tolerancePct)} % LUT/FF error`)}</p>`,
  ];
  const held = heldoutErrors(s.rows);
  if (held) {
    parts.push(
      `<p>Held-out configurations (${held.n}, not fitted on): LUT error median ${fmt(held.lut.medianPct, 2)} %, max ${fmt(held.lut.maxPct, 2)} %; ` +
        `FF error median ${fmt(held.ff.medianPct, 2)} %, max ${fmt(held.ff.maxPct, 2)} %.</p>`,
    );
  }
  parts.push(
    table(s.rows, [
      { head: 'scheme', cell: (r) => r.scheme },
      { head: 'L', cell: (r) => r.L, num: true },
      { head: 'Po', cell: (r) => r.Po, num: true },
      { head: 'Pp', cell: (r) => r.Pp, num: true },
      { head: 'set', cell: role },
      { head: 'DSP model', cell: (r) => fmt(r.dsp.model), num: true },
      { head: 'DSP Yosys', cell: (r) => fmt(r.dsp.yosys), num: true },
      { head: 'DSP equal', cell: (r) => badge(r.dsp.equal, r.dsp.equal ? 'yes' : 'no'), html: true },
      { head: 'LUT model', cell: (r) => fmt(r.lut.model), num: true },
      { head: 'LUT Yosys', cell: (r) => fmt(r.lut.yosys), num: true },
      { head: 'LUT err %', cell: (r) => pct(r.lut.errorPct), num: true },
      { head: 'FF model', cell: (r) => fmt(r.ff.model), num: true },
      { head: 'FF Yosys', cell: (r) => fmt(r.ff.yosys), num: true },
      { head: 'FF err %', cell: (r) => pct(r.ff.errorPct), num: true },
      { head: 'CARRY', cell: (r) => fmt(r.carry), num: true },
      { head: 'LUTRAM', cell: (r) => fmt(r.lutram), num: true },
    ], 'error = |model - Yosys| / Yosys. DSP48E2 slices are vendor primitives (blackboxes to Yosys): their internal registers are not fabric FFs.'),
  );
  return parts.join('\n');
}
