/**
 * The whole report page: the sections in order, the report data and chart specs embedded as
 * JSON, and the CSS, Chart.js and the page script inlined, so the one file needs no network.
 */
import { type ReportData } from '../results/index.ts';
import { chartSpecs } from './charts.ts';
import { escapeHtml } from './escape.ts';
import { htmlDocument } from './document.ts';
import { compressionSection } from './sections/compression.ts';
import { dspSection } from './sections/dsp.ts';
import { fpgaSection } from './sections/fpga.ts';
import { kernelSection, throughputSection } from './sections/kernels.ts';
import { machineSection } from './sections/machine.ts';
import { quantizedSection } from './sections/quantized.ts';
import { summaryCards } from './sections/summary.ts';
import { synthSection } from './sections/synth.ts';
import { verificationSection } from './sections/verification.ts';

/** The whole report as one HTML document that needs no network. */
export function renderReportHtml(data: ReportData): string {
  const specs = chartSpecs(data);
  // Sections look their charts up by id; one whose chart was not derived shows a note instead.
  const byId = new Map(specs.map((s) => [s.id, s]));
  const m = data.meta;
  const sections: [string, string, string][] = [
    ['summary', 'Summary', summaryCards(data)],
    ['verification', 'Verification', verificationSection(data)],
    ['throughput', 'Throughput per kernel', throughputSection(data, byId)],
    ['kernels', 'Kernel table', kernelSection(data)],
    ['dsp', 'Packed-DSP exactness per layer', dspSection(data, byId)],
    ['fpga', 'FPGA model vs WASM', fpgaSection(data, byId)],
    ['synth', 'FPGA model vs Yosys synthesis', synthSection(data)],
    ['compression', 'Compression: accuracy vs size and MACs', compressionSection(data, byId)],
    ['quantized', 'Quantized detector vs float', quantizedSection(data)],
    ['machine', 'Machine and options', machineSection(data)],
  ];
  const nav = sections.map(([id, title]) => `<a href="#${id}">${escapeHtml(title)}</a>`).join('');
  const body = sections.map(([id, title, html]) => `<section id="${id}"><h2>${escapeHtml(title)}</h2>\n${html}\n</section>`).join('\n');
  const sources = m.sources.length ? `<p>Sources:</p><ul>${m.sources.map((s) => `<li><code>${escapeHtml(s)}</code></li>`).join('')}</ul>` : '';
  return htmlDocument({
    title: m.title,
    header: `<p class="meta">Benchmark of ${escapeHtml(data.benchmark.date)} on ${escapeHtml(data.benchmark.machine.cpu)}, Node ${escapeHtml(data.benchmark.machine.node)}; report generated ${escapeHtml(m.generatedAt)} by ${escapeHtml(m.generator)}.</p>`,
    body: `<nav>${nav}</nav>\n${body}`,
    footer: `${sources}<p>The data of this report is embedded below as JSON (script#fkb-report-data) and written next to it as report.json.</p>`,
    data,
    specs,
  });
}
