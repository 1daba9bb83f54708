/** Verification: one row per kernel build, the requantization modes it matched the reference in. */
import { type ReportData, type VerificationSummary } from '../../results/index.ts';
import { escapeHtml, fmt, wrapName } from '../escape.ts';
import { badge, note, table } from './parts.ts';

export function verificationSection(data: ReportData): string {
  const v = data.verification;
  if (!v) {
    return note(
      'Not available in this run: fkb verify (or fkb run) was not part of it. Every benchmarked kernel was still checked against its oracle before timing (column "verified against" below).',
    );
  }
  const layers = [...new Set(v.rows.map((r) => r.layer))];
  const on = layers.length === 1 ? ` on ${layers[0]}` : ` on ${layers.length} layers`;
  const head = `<p>${badge(v.failed === 0, v.failed === 0 ? 'all passed' : `${v.failed} failed`)} ${v.passed} of ${v.checks} checks bit-exact${escapeHtml(on)} (${v.rows.length} kernel builds; a check is one build in one requantization mode).</p>`;
  const rows = table(v.rows, [
    ...(layers.length > 1 ? [{ head: 'layer', cell: (r: VerificationSummary['rows'][number]) => r.layer }] : []),
    { head: 'kernel', cell: (r) => wrapName(r.kernel), cls: 'mono kernel', html: true },
    { head: 'module', cell: (r) => r.module },
    { head: 'modes passed', cell: (r) => r.passed.join(', ') || '–' },
    { head: 'modes failed', cell: (r) => (r.failed.length ? badge(false, r.failed.join(', ')) : '–'), html: true },
    { head: 'outputs', cell: (r) => fmt(r.outputs), num: true },
  ]);
  const failures = v.failures.length
    ? `<h3>First failures</h3><ul class="failures">${v.failures.map((f) => `<li><b>${escapeHtml(`${f.kernel} [${f.module}] ${f.mode}`)}</b> on ${escapeHtml(f.layer)}: ${escapeHtml(f.error)}</li>`).join('')}</ul>`
    : '';
  return head + failures + rows;
}
