/** The HTML document every report page is: CSS, Chart.js, the page script and its data inlined, so the one file needs no network. */
import type { ChartSpec } from './charts.ts';
import { escapeHtml, jsonForScript } from './escape.ts';
import { chartJsSource, pageScript, reportCss } from './inline.ts';

/** `header`, `body` and `footer` are HTML; `data` (embedded as script#fkb-report-data) and the chart specs (script#fkb-charts) as JSON. */
export function htmlDocument(p: { title: string; header: string; body: string; footer: string; data: unknown; specs: ChartSpec[] }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(p.title)}</title>
<style>${reportCss()}</style>
</head>
<body>
<main>
<header>
<h1>${escapeHtml(p.title)}</h1>
${p.header}
</header>
${p.body}
<footer>${p.footer}</footer>
</main>
<script type="application/json" id="fkb-report-data">${jsonForScript(p.data)}</script>
<script type="application/json" id="fkb-charts">${jsonForScript(p.specs)}</script>
<script>${chartJsSource()}</script>
<script>${pageScript()}</script>
</body>
</html>
`;
}
