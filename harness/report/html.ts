/**
 * One self-contained HTML report: the CSS, Chart.js and the page script inlined (inline.ts), the
 * report data embedded as JSON, no network access. Tables are rendered here (every string
 * escaped); charts are described in charts.ts as plain specs and drawn in the page by
 * assets/page.js, which sets `window.__fkbChartsRendered` to the number of charts drawn.
 *
 *   const html = renderReportHtml(data);
 *   writeReport('report/2026-11-26', data);   // report.json + report.html, atomically
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Measurement, type ReportData, type VerificationSummary } from '../results/index.ts';
import { InputError } from '../util/errors.ts';
import { type ChartSpec, chartSpecs, layersOf } from './charts.ts';
import { escapeHtml, fmt, jsonForScript, shortKernel, sig, wrapName } from './escape.ts';
import { chartJsSource, pageScript, reportCss } from './inline.ts';

export {
  type AxisSpec, type ChartSpec, type DatasetSpec, type PointSpec,
  chartSpecs, compressionChart, dspExactnessChart, fpgaVsWasmChart, rooflineChart, speedupChart, throughputChart,
} from './charts.ts';
export { escapeHtml, jsonForScript, shortKernel } from './escape.ts';
export { chartJsSource } from './inline.ts';

// ---------------------------------------------------------------------------------------------
// HTML

interface Column<T> {
  head: string;
  cell: (row: T) => string | number;
  num?: boolean;
  /** Cell content is already HTML (built from escaped parts). */
  html?: boolean;
  cls?: string;
}

function table<T>(rows: T[], cols: Column<T>[], caption?: string): string {
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

function note(text: string): string {
  return `<p class="na">${escapeHtml(text)}</p>`;
}

function figure(spec: ChartSpec, caption: string): string {
  const label = `${spec.id} chart`;
  return (
    `<figure class="chart"><div class="chart-box" style="height:${spec.height}px">` +
    `<canvas data-chart="${escapeHtml(spec.id)}" role="img" aria-label="${escapeHtml(label)}"></canvas></div>` +
    `<figcaption>${escapeHtml(caption)}</figcaption></figure>`
  );
}

function badge(ok: boolean, text: string): string {
  return `<span class="badge ${ok ? 'ok' : 'bad'}">${escapeHtml(text)}</span>`;
}

function summaryCards(data: ReportData): string {
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

function verificationSection(data: ReportData): string {
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

function machineSection(data: ReportData): string {
  const b = data.benchmark;
  const m = b.machine;
  const o = b.options as Partial<typeof b.options>;
  const rows: [string, string][] = [
    ['CPU', `${m.cpu}, ${m.cores} cores, AVX-VNNI ${m.avxVnni ? 'yes' : 'no'}`],
    ['Node / V8', `${m.node} / ${m.v8}`],
    ['benchmark date', b.date],
    ['requantization', String(o.mode ?? '–')],
    ['measuring time per task', `${o.timeMs ?? '–'} ms, at least ${o.minIterations ?? '–'} iterations, seed ${o.seed ?? '–'}`],
    ...(typeof (o as { threads?: unknown }).threads === 'number' ? [['worker threads', String((o as { threads: number }).threads)] as [string, string]] : []),
    ['onnxruntime-web', o.ort ? 'measured' : 'not measured in this run'],
    ['packed-DSP engine', o.dsp ? `${o.dsp.scheme}, chain ${o.dsp.chain}, decode per ${o.dsp.decode}` : '–'],
    ...b.modules.map((x): [string, string] => [`module ${x.name}`, x.used ? 'used' : `not used: ${x.reason ?? ''}`]),
  ];
  return table(rows, [
    { head: 'property', cell: (r) => r[0] },
    { head: 'value', cell: (r) => r[1] },
  ]);
}

function kernelSection(data: ReportData): string {
  const ms = data.benchmark.measurements;
  const anyOrt = ms.some((m) => m.speedupVsOrt !== undefined);
  const anyPacked = ms.some((m) => m.dsp !== undefined);
  const cols: Column<Measurement>[] = [
    { head: 'kernel', cell: (r) => wrapName(r.kernel), cls: 'mono kernel', html: true },
    { head: 'module', cell: (r) => r.module },
    { head: 'p50 ± MAD (ms)', cell: (r) => `${fmt(r.p50Ms, 3)} ± ${fmt(r.madMs, 3)}`, num: true },
    { head: 'GMAC/s', cell: (r) => fmt(r.gmacs, 2), num: true },
    { head: 'x scalar', cell: (r) => (r.speedupVsScalar === undefined ? '–' : `${fmt(r.speedupVsScalar, 1)}x`), num: true },
    ...(anyOrt ? [{ head: 'x ORT', cell: (r: Measurement) => (r.speedupVsOrt === undefined ? '–' : `${fmt(r.speedupVsOrt, 2)}x`), num: true }] : []),
    { head: 'n', cell: (r) => r.samples, num: true },
    { head: 'verified against', cell: (r) => shortKernel(r.verifiedAgainst), cls: 'small' },
    ...(anyPacked
      ? [{ head: 'outputs ≠ exact (max error)', cell: (r: Measurement) => (r.dsp ? `${fmt(r.dsp.outputsDifferingFromExact)} (${r.dsp.maxOutputError})` : '–'), num: true }]
      : []),
  ];
  const parts: string[] = [];
  for (const layer of layersOf(ms)) {
    const rows = ms.filter((m) => m.layer === layer).sort((a, b) => a.p50Ms - b.p50Ms);
    const r0 = rows[0]!;
    parts.push(table(rows, cols, `${layer} (${r0.shape}, ${fmt(r0.macs / 1e6, 1)} MMAC)`));
  }
  const ex = data.benchmark.exhaustive;
  if (ex?.length) {
    parts.push(
      '<h3>Every single packed multiply, enumerated in WebAssembly</h3>',
      table(ex, [
        { head: 'scheme', cell: (r) => r.scheme },
        { head: 'operand tuples', cell: (r) => fmt(r.cases), num: true },
        { head: 'mismatches', cell: (r) => (r.mismatches ? badge(false, fmt(r.mismatches)) : '0'), num: true, html: true },
        { head: 'p50 ± MAD (ms)', cell: (r) => `${fmt(r.p50Ms, 1)} ± ${fmt(r.madMs, 1)}`, num: true },
        { head: 'n', cell: (r) => r.samples, num: true },
      ]),
    );
  }
  return parts.join('\n');
}

function dspSection(data: ReportData, specs: Map<string, ChartSpec>): string {
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


function fpgaSection(data: ReportData, specs: Map<string, ChartSpec>): string {
  const f = data.fpga;
  if (!f) return note('Not available in this run: no fkb model results were given.');
  const matched = f.layers.filter((l) => l.wasm).length;
  const params = Object.entries(f.params).map(([k, v]) => `${k}=${v}`).join(' ');
  const parts = [
    `<p>Model <b>${escapeHtml(f.model)}</b> on <b>${escapeHtml(f.device)}</b> at ${fmt(f.clockMHz)} MHz, network ${escapeHtml(f.network)}; ` +
      `parameters <code>${escapeHtml(params)}</code>. Total ${fmt(f.totals.gops, 1)} GOPS, ${fmt(f.totals.timeNs / 1e6, 3)} ms per inference, ` +
      `${fmt(f.totals.dsp)} DSPs, ${fmt(f.totals.bram, 1)} BRAM36, ${f.totals.memoryBoundLayers} memory-bound layers.</p>`,
  ];
  const bars = specs.get('fpga-vs-wasm');
  if (bars) {
    const wasmNote = matched
      ? `WASM bars: the fastest of our kernels measured on a benchmark layer of the same shape (${matched} of ${f.layers.length} layers matched), as 2 x GMAC/s.`
      : 'No benchmarked layer has the shape of a model layer, so there are no WASM bars: run fkb bench with a shapes file that includes this network.';
    parts.push(figure(bars, `Throughput per layer: the analytical FPGA model's attainable GOPS. ${wasmNote}`));
  }
  const roof = specs.get('roofline');
  if (roof) {
    parts.push(
      figure(
        roof,
        `Roofline of the configured engine on ${f.device}: min(${fmt(f.roof.peakGops, 1)} GOPS, ${fmt(f.roof.bandwidthGBps, 1)} GB/s x intensity). ` +
          `Bandwidth: ${f.roof.bandwidthSource}. A layer below the roof loses cycles to tiling or pipeline fill.`,
      ),
    );
  } else {
    parts.push(note('Roofline not available: the model results have no off-chip traffic or bandwidth.'));
  }
  parts.push(
    table(f.layers, [
      { head: 'layer', cell: (l) => l.layer },
      { head: 'shape', cell: (l) => l.shape, cls: 'mono small nowrap' },
      { head: 'bound', cell: (l) => l.bound },
      { head: 'cycles', cell: (l) => fmt(l.cycles), num: true },
      { head: 'ops/byte', cell: (l) => sig(l.operationalIntensity), num: true },
      { head: 'FPGA GOPS', cell: (l) => fmt(l.fpgaGops, 1), num: true },
      { head: 'util %', cell: (l) => fmt(100 * l.utilization, 1), num: true },
      { head: 'WASM GOPS', cell: (l) => (l.wasm ? fmt(l.wasm.gops, 1) : '–'), num: true },
      { head: 'FPGA / WASM', cell: (l) => (l.wasm ? `${fmt(l.fpgaGops / l.wasm.gops, 2)}x` : '–'), num: true },
    ]),
  );
  if (f.warnings.length) {
    parts.push(
      `<details class="warnings"><summary>${f.warnings.length} model warnings</summary><ul>${f.warnings
        .slice(0, 50)
        .map((w) => `<li>${escapeHtml(w)}</li>`)
        .join('')}</ul></details>`,
    );
  }
  return parts.join('\n');
}

function compressionSection(data: ReportData, specs: Map<string, ChartSpec>): string {
  const c = data.compression;
  const size = specs.get('compression-size');
  const macs = specs.get('compression-macs');
  if (!c || !size || !macs) return note('Not available in this run: no compression results (accuracy vs size) were given.');
  return (
    `<p>${escapeHtml(c.network)} on ${escapeHtml(c.dataset)}, ${escapeHtml(c.metric)}; ${c.points.length} settings.</p>` +
    `<div class="two">${figure(size, `${c.metric} against model size.`)}${figure(macs, `${c.metric} against MACs per inference.`)}</div>` +
    table(c.points, [
      { head: 'setting', cell: (p) => p.setting },
      { head: 'method', cell: (p) => p.method ?? 'other' },
      { head: c.metric, cell: (p) => `${fmt(100 * p.accuracy, 2)} %`, num: true },
      { head: 'size (MB)', cell: (p) => fmt(p.sizeBytes / 1e6, 2), num: true },
      { head: 'GMAC', cell: (p) => fmt(p.macs / 1e9, 3), num: true },
    ])
  );
}

function quantizedSection(data: ReportData): string {
  const q = data.quantized;
  if (!q) return note('Not available in this run: no quantized model without labels (fkb quantize) was measured.');
  const backends = Object.keys(q.outputs[0]?.byBackend ?? {}) as (keyof (typeof q.outputs)[number]['byBackend'])[];
  // JSON has no Infinity: an SQNR of null means float and integer outputs are equal.
  const db = (x: number | null | undefined): string => (x === null ? 'exact' : `${fmt(x, 2)} dB`);
  const parts = [
    `<p>${escapeHtml(q.model)}: int8 weights and activations (${escapeHtml(q.observer)} calibration on ${q.calibrationInputs} inputs), ` +
      `${fmt(q.macs / 1e6, 1)} M MACs, run on the integer WASM kernels and compared with float on ${q.measuredInputs} other inputs.</p>`,
    table(q.outputs, [
      { head: 'output', cell: (o) => o.name },
      { head: 'values', cell: (o) => fmt(o.values), num: true },
      ...backends.map((b) => ({ head: `SQNR ${b}`, cell: (o: (typeof q.outputs)[number]) => db(o.byBackend[b]?.sqnrDb), num: true })),
      { head: 'same argmax', cell: (o) => `${o.byBackend[backends[0]!]?.argmaxAgree} of ${q.measuredInputs}`, num: true },
    ], 'SQNR = 10 log10(sum f^2 / sum (f - q)^2) over every value of the measured inputs, f float, q the dequantized integer output.'),
  ];
  if (q.scores) {
    const s = q.scores;
    const p = 1 / (1 + Math.exp(-s.threshold));
    parts.push(
      `<p>Detection (${s.outputs.map(escapeHtml).join(' + ')}, score above ${fmt(p, 2)}): float finds ${s.floatPositives} of ${q.measuredInputs} inputs positive; ` +
        backends.map((b) => { const x = s.byBackend[b]!; return `${escapeHtml(b)}: the same decision on ${x.decisionAgree}, the same best anchor on ${x.bestAgree}`; }).join('; ') + '.</p>',
    );
  }
  const others = backends.filter((b) => b !== q.comparedWith);
  if (others.length) {
    parts.push(
      `<p>Output codes differing from the ${escapeHtml(q.comparedWith)} kernels${q.comparedWith === 'wasm' ? ' (bit-exact to the reference, as the tests prove)' : ''}: ` +
        `${others.map((b) => `${escapeHtml(b)} ${q.differingFromReference[b]} of ${fmt(q.outputCodes)}`).join(', ')}.</p>`,
    );
  }
  return parts.join('\n');
}

/** The whole report as one HTML document that needs no network. */
export function renderReportHtml(data: ReportData): string {
  const specs = chartSpecs(data);
  const byId = new Map(specs.map((s) => [s.id, s]));
  const m = data.meta;
  const ms = data.benchmark.measurements;
  const layers = layersOf(ms);
  const over = layers.length === 1 ? `on ${layers[0]}` : `on ${layers.length} layers`;
  const sections: [string, string, string][] = [
    ['summary', 'Summary', summaryCards(data)],
    ['verification', 'Verification', verificationSection(data)],
    [
      'throughput',
      'Throughput per kernel',
      figure(byId.get('gmacs')!, `GMAC/s at the p50 latency of each kernel variant ${over}, measured with tinybench on this machine.`) +
        figure(
          byId.get('speedup')!,
          `Speedup over the scalar WASM kernel${data.benchmark.options.ort ? ' and over onnxruntime-web QLinearConv (the faster of its int8 and uint8 encodings)' : ''}` +
            `${layers.length > 1 ? ', geometric mean over the layers' : ''}.` +
            (ms.some((x) => x.speedupVsOrt !== undefined) ? '' : ' onnxruntime-web was not measured in this run.'),
        ),
    ],
    ['kernels', 'Kernel table', kernelSection(data)],
    ['dsp', 'Packed-DSP exactness per layer', dspSection(data, byId)],
    ['fpga', 'FPGA model vs WASM', fpgaSection(data, byId)],
    ['compression', 'Compression: accuracy vs size and MACs', compressionSection(data, byId)],
    ['quantized', 'Quantized detector vs float', quantizedSection(data)],
    ['machine', 'Machine and options', machineSection(data)],
  ];
  const nav = sections.map(([id, title]) => `<a href="#${id}">${escapeHtml(title)}</a>`).join('');
  const body = sections.map(([id, title, html]) => `<section id="${id}"><h2>${escapeHtml(title)}</h2>\n${html}\n</section>`).join('\n');
  const sources = m.sources.length ? `<p>Sources:</p><ul>${m.sources.map((s) => `<li><code>${escapeHtml(s)}</code></li>`).join('')}</ul>` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(m.title)}</title>
<style>${reportCss()}</style>
</head>
<body>
<main>
<header>
<h1>${escapeHtml(m.title)}</h1>
<p class="meta">Benchmark of ${escapeHtml(data.benchmark.date)} on ${escapeHtml(data.benchmark.machine.cpu)}, Node ${escapeHtml(data.benchmark.machine.node)}; report generated ${escapeHtml(m.generatedAt)} by ${escapeHtml(m.generator)}.</p>
</header>
<nav>${nav}</nav>
${body}
<footer>${sources}<p>The data of this report is embedded below as JSON (script#fkb-report-data) and written next to it as report.json.</p></footer>
</main>
<script type="application/json" id="fkb-report-data">${jsonForScript(data)}</script>
<script type="application/json" id="fkb-charts">${jsonForScript(specs)}</script>
<script>${chartJsSource()}</script>
<script>${pageScript()}</script>
</body>
</html>
`;
}

/**
 * Writes `report.json` and `report.html` into `dir` (created if missing). Both are rendered
 * first and written under temporary names in `dir`, then renamed: a failed render or write leaves
 * no new file (and no temporary one), and each existing file is replaced whole or not at all. An
 * unwritable `dir` is an InputError naming it.
 */
export function writeReport(dir: string, data: ReportData): { json: string; html: string } {
  const html = renderReportHtml(data);
  const json = `${JSON.stringify(data, null, 2)}\n`;
  const files = { json: join(dir, 'report.json'), html: join(dir, 'report.html') };
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const temps = { json: join(dir, `.report.json.${tag}.tmp`), html: join(dir, `.report.html.${tag}.tmp`) };
  const fail = (e: unknown): never => {
    const err = e as NodeJS.ErrnoException;
    throw new InputError(`cannot write the report to ${dir}: ${err.message}`);
  };
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    fail(e);
  }
  try {
    writeFileSync(temps.json, json);
    writeFileSync(temps.html, html);
    renameSync(temps.json, files.json);
    renameSync(temps.html, files.html);
  } catch (e) {
    for (const t of Object.values(temps)) rmSync(t, { force: true });
    fail(e);
  }
  return files;
}