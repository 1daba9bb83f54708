/**
 * The `fkb search` report: one self-contained page (the report's CSS, Chart.js and page script
 * inlined, as page.ts does) with the search section: the front's held-out top-1 against FPGA
 * latency and against DSPs (every strategy's front point, the hand-picked settings beside them),
 * the strategies' hypervolumes, the front table with each point's `fkb compress` command, and the
 * hand-picked settings against the front.
 */
import type { SearchResult } from '../results/index.ts';
import type { ChartSpec } from './charts.ts';
import { escapeHtml, fmt } from './escape.ts';
import { htmlDocument } from './document.ts';
import { figure, table } from './sections/parts.ts';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];

/** Held-out top-1 (%) against latency (us) or DSPs: one series per strategy's front points, one for the hand-picked settings. */
export function searchChart(r: SearchResult, axis: 'latency' | 'dsp'): ChartSpec {
  const xOf = (p: { latencyUs: number; dsp: number }) => (axis === 'latency' ? p.latencyUs : p.dsp);
  const strategies = [...new Set(r.front.map((p) => p.strategy))];
  const datasets = strategies.map((s, i) => ({
    label: `front (${s})`,
    color: COLORS[i % COLORS.length]!,
    data: r.front.filter((p) => p.strategy === s).map((p) => ({
      x: xOf({ latencyUs: p.search.latencyUs!, dsp: p.search.dsp! }),
      y: 100 * p.heldOut!.top1,
      label: `${fmt(100 * p.heldOut!.top1, 2)} %, ${fmt(p.search.latencyUs!, 1)} us, ${p.search.dsp} DSP, ${fmt(p.search.sizeBits / 8192, 1)} KB; L/Po/Pp ${p.candidate.engine.L}/${p.candidate.engine.Po}/${p.candidate.engine.Pp}`,
    })),
  }));
  if (r.handPicked.length) {
    datasets.push({
      label: 'fkb run hand-picked',
      color: '#7f7f7f',
      data: r.handPicked.map((h) => ({ x: xOf(h), y: 100 * h.top1, label: `${h.setting}: ${fmt(100 * h.top1, 2)} %, ${fmt(h.latencyUs, 1)} us, ${h.dsp} DSP` })),
    });
  }
  const xs = datasets.flatMap((d) => d.data.map((p) => p.x));
  const ys = datasets.flatMap((d) => d.data.map((p) => p.y));
  return {
    id: `search-${axis}`,
    type: 'scatter',
    datasets,
    x: { title: axis === 'latency' ? 'FPGA latency per image, us, engine (a) (log)' : 'DSP slices of the engine (log)', log: true, min: Math.min(...xs) / 1.4, max: Math.max(...xs) * 1.4 },
    y: { title: `top-1 on held-out images ${r.images.heldOut}`, unit: '%', min: Math.max(0, Math.floor(Math.min(...ys) - 1)), max: Math.min(100, Math.ceil(Math.max(...ys) + 1)) },
    height: 360,
  };
}

/** The search section's HTML (charts by id from `specs`). */
export function searchSection(r: SearchResult, specs: Map<string, ChartSpec>): string {
  const pct = (x: number) => `${fmt(100 * x, 2)} %`;
  return (
    `<p>${escapeHtml(r.model)} on ${escapeHtml(r.device)}; seed ${r.seed}; ${r.budget} candidates per strategy; images (test-set indices): calibration ${escapeHtml(r.images.calibration)}, ` +
    `search ${escapeHtml(r.images.search)}, held-out ${escapeHtml(r.images.heldOut)}. ${r.evaluatedHere} candidates evaluated in ${fmt(r.seconds, 1)} s with ${r.threads} thread(s), ${r.reusedHere} read from the store.</p>` +
    `<div class="two">${figure(specs.get('search-latency')!, 'Front points (selected on the search images) measured on the held-out images, against FPGA latency.')}` +
    `${figure(specs.get('search-dsp')!, 'The same points against the engine\'s DSP slices.')}</div>` +
    table(r.strategies, [
      { head: 'strategy', cell: (s) => s.name },
      { head: 'candidates', cell: (s) => s.scored, num: true },
      { head: 'evaluated', cell: (s) => s.evaluated, num: true },
      { head: 'feasible', cell: (s) => s.feasible, num: true },
      { head: 'front', cell: (s) => s.front, num: true },
      { head: 'hypervolume (4 objectives)', cell: (s) => fmt(s.hypervolume, 4), num: true },
      { head: 'hypervolume (error x latency)', cell: (s) => fmt(s.hypervolume2d, 4), num: true },
    ], 'Strategies on the same budget: hypervolume of each one\'s front on the search images, all in one normalised box.') +
    table(r.front.map((p, i) => ({ ...p, i: i + 1 })), [
      { head: '#', cell: (p) => p.i, num: true },
      { head: 'by', cell: (p) => p.strategy },
      { head: 'top-1 search', cell: (p) => pct(p.search.top1), num: true },
      { head: 'top-1 held-out', cell: (p) => pct(p.heldOut!.top1), num: true },
      { head: 'latency (us)', cell: (p) => fmt(p.search.latencyUs!, 1), num: true },
      { head: 'DSP', cell: (p) => p.search.dsp!, num: true },
      { head: 'size (KB)', cell: (p) => fmt(p.search.sizeBits / 8192, 1), num: true },
      { head: 'fkb compress command', cell: (p) => `<code>${escapeHtml(p.command)}</code>`, html: true },
    ], 'The Pareto front of all strategies (top-1 error, latency, DSPs, size on the search images).') +
    (r.handPicked.length
      ? table(r.handPicked, [
          { head: 'fkb run setting', cell: (h) => h.setting },
          { head: 'top-1 held-out', cell: (h) => pct(h.top1), num: true },
          { head: 'latency (us)', cell: (h) => fmt(h.latencyUs, 1), num: true },
          { head: 'DSP', cell: (h) => h.dsp, num: true },
          { head: 'front point at <= latency: held-out top-1', cell: (h) => (h.best ? pct(h.best.top1) : 'none'), num: true },
          { head: 'its latency (us)', cell: (h) => (h.best ? fmt(h.best.latencyUs, 1) : ''), num: true },
          { head: 'its DSP', cell: (h) => h.best?.dsp ?? '', num: true },
          { head: 'beats it', cell: (h) => (h.best?.beats ? 'yes' : 'no') },
        ], "fkb run's hand-picked settings (engine L=16 Po=8 Pp=1) against the front, on the same held-out images.")
      : '')
  );
}

export function searchReportHtml(r: SearchResult): string {
  const specs = [searchChart(r, 'latency'), searchChart(r, 'dsp')];
  const byId = new Map(specs.map((s) => [s.id, s]));
  const title = 'fkb search: compression and engine configuration';
  return htmlDocument({
    title,
    header: `<p class="meta">${escapeHtml(r.model)}, ${r.budget} candidates per strategy, seed ${r.seed}; written by fkb search.</p>`,
    body: `<section id="search"><h2>Pareto front</h2>\n${searchSection(r, byId)}\n</section>`,
    footer: '<p>The search result is embedded below as JSON (script#fkb-report-data); fkb search --out writes the same JSON.</p>',
    data: r,
    specs,
  });
}
