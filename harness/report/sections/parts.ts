/** The pieces every section is built from: tables, figures, notes, badges. Every string is escaped. */
import { type ChartSpec } from '../charts.ts';
import { escapeHtml } from '../escape.ts';

export interface Column<T> {
  head: string;
  cell: (row: T) => string | number;
  num?: boolean;
  /** Cell content is already HTML (built from escaped parts). */
  html?: boolean;
  cls?: string;
}

/** A table with one row per item; cells are escaped unless the column says they are HTML. */
export function table<T>(rows: T[], cols: Column<T>[], caption?: string): string {
  const headClass = (c: Column<T>) => (c.num ? ' class="num"' : c.cls?.split(' ').includes('right') ? ' class="right"' : '');
  const head = cols.map((c) => `<th${headClass(c)}>${escapeHtml(c.head)}</th>`).join('');
  const body = rows
    .map((r) => {
      const cells = cols.map((c) => {
        const v = c.cell(r);
        const cls = [c.num ? 'num' : '', c.cls ?? ''].filter(Boolean).join(' ');
        return `<td${cls ? ` class="${cls}"` : ''}>${c.html ? String(v) : escapeHtml(v)}</td>`;
      });
      return `<tr>${cells.join('')}</tr>`;
    })
    .join('\n');
  const cap = caption ? `<caption>${escapeHtml(caption)}</caption>` : '';
  return `<div class="table-wrap"><table>${cap}<thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

/** The note a section shows in place of data this run did not produce. */
export function note(text: string): string {
  return `<p class="na">${escapeHtml(text)}</p>`;
}

/** A chart's canvas, sized by its spec; the page script draws into it. */
export function figure(spec: ChartSpec, caption: string): string {
  const label = `${spec.id} chart`;
  return (
    `<figure class="chart"><div class="chart-box" style="height:${spec.height}px">` +
    `<canvas data-chart="${escapeHtml(spec.id)}" role="img" aria-label="${escapeHtml(label)}"></canvas></div>` +
    `<figcaption>${escapeHtml(caption)}</figcaption></figure>`
  );
}

export function badge(ok: boolean, text: string): string {
  return `<span class="badge ${ok ? 'ok' : 'bad'}">${escapeHtml(text)}</span>`;
}
