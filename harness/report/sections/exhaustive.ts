/** The exhaustive DSP checks: every single packed multiply of a scheme, timed in WebAssembly. */
import { type ReportData } from '../../results/index.ts';
import { fmt } from '../escape.ts';
import { badge, table } from './parts.ts';

/** The heading and table of the exhaustive checks; none when the benchmark ran none. */
export function exhaustiveChecks(data: ReportData): string[] {
  const ex = data.benchmark.exhaustive;
  if (!ex?.length) return [];
  return [
    '<h3>Every single packed multiply, enumerated in WebAssembly</h3>',
    table(ex, [
      { head: 'scheme', cell: (r) => r.scheme },
      { head: 'operand tuples', cell: (r) => fmt(r.cases), num: true },
      { head: 'mismatches', cell: (r) => (r.mismatches ? badge(false, fmt(r.mismatches)) : '0'), num: true, html: true },
      { head: 'p50 ± MAD (ms)', cell: (r) => `${fmt(r.p50Ms, 1)} ± ${fmt(r.madMs, 1)}`, num: true },
      { head: 'n', cell: (r) => r.samples, num: true },
    ]),
  ];
}
