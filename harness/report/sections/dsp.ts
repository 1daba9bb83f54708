/** Packed-DSP exactness per layer: the share of outputs a packed-DSP engine computes differently. */
import { type ReportData } from '../../results/index.ts';
import { type ChartSpec } from '../charts.ts';
import { escapeHtml, fmt, wrapName } from '../escape.ts';
import { type Column, figure, note, table } from './parts.ts';

export function dspSection(data: ReportData, specs: Map<string, ChartSpec>): string {
  const sets = data.dspExactness?.filter((s) => s.rows.length) ?? [];
  const spec = specs.get('dsp-exactness');
  if (!sets.length || !spec) return note('Not available in this run: no fkb dsp conv results were given.');
  const all = sets.flatMap((s) => s.rows);
  const differing = all.filter((r) => r.outputsDiffering > 0).length;
  const caption =
    `Share of a layer's outputs (after requantization) that the packed-DSP engine computes differently from the exact convolution; ` +
    `${differing} of ${all.length} layer/configuration pairs differ. Zero is drawn as a thin bar; hover for counts.`;
  // One row per layer, one column per configuration.
  const layers = [...new Set(all.map((r) => r.layer))];
  const rows = layers.map((layer) => ({ layer, cells: sets.map((s) => s.rows.find((r) => r.layer === layer)) }));
  const cell = (r: (typeof all)[number] | undefined, showProducts: boolean) => {
    if (!r) return '–';
    const text = `${fmt(r.outputsDiffering)} (${fmt((100 * r.outputsDiffering) / r.outputs, 2)} %)` + (r.outputsDiffering ? `, max ${r.maxOutputError}` : '');
    return escapeHtml(text) + (showProducts ? `<br><span class="small">${r.productsPerDecode} products/P</span>` : '');
  };
  const columns: Column<(typeof rows)[number]>[] = [
    { head: 'layer', cell: (r) => r.layer },
    { head: 'shape', cell: (r) => r.cells.find(Boolean)!.shape, cls: 'mono small nowrap' },
    { head: 'outputs', cell: (r) => fmt(r.cells.find(Boolean)!.outputs), num: true },
    { head: 'products/P', cell: (r) => (sameProducts(r.cells) ? r.cells.find(Boolean)!.productsPerDecode : 'varies'), num: true },
    ...sets.map((s, i): Column<(typeof rows)[number]> => ({
      head: `${s.label}`,
      cell: (r) => cell(r.cells[i], !sameProducts(r.cells)),
      cls: 'right',
      html: true,
    })),
  ];
  const legend = sets
    .map((s) => {
      const r = s.rows[0]!;
      return `<li>${escapeHtml(s.label)}: kernel <code>${wrapName(r.kernel)}</code>, bound ${r.bound} products per P (exact for any operands up to it)</li>`;
    })
    .join('');
  return figure(spec, caption) + table(rows, columns, 'Outputs differing from the exact convolution') + `<ul class="small">${legend}</ul>`;
}

function sameProducts(cells: ({ productsPerDecode: number } | undefined)[]): boolean {
  return new Set(cells.filter(Boolean).map((c) => c!.productsPerDecode)).size <= 1;
}
