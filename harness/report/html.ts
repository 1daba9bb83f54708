/**
 * The HTML report's entry point. One self-contained file: the CSS, Chart.js and the page script
 * inlined, the report data embedded as JSON, no network access. Tables are rendered in sections/
 * (every string escaped); charts are described in charts.ts as plain specs and drawn in the page
 * by assets/page.js, which sets `window.__fkbChartsRendered` to the number of charts drawn.
 *
 *   const html = renderReportHtml(data);
 *   writeReport('report/2026-11-26', data);   // report.json + report.html, atomically
 */
export {
  type AxisSpec, type ChartSpec, type DatasetSpec, type PointSpec,
  chartSpecs, compressionChart, dspExactnessChart, fpgaVsWasmChart, rooflineChart, speedupChart, throughputChart,
} from './charts.ts';
export { escapeHtml, jsonForScript, shortKernel } from './escape.ts';
export { chartJsSource } from './inline.ts';
export { renderReportHtml } from './page.ts';
export { writeReport } from './write.ts';
