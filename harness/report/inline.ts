/**
 * The files inlined into report.html, so it needs no network: the page's CSS and script
 * (assets/report.css, assets/page.js) and Chart.js from node_modules. Each is read once.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const cache = new Map<string, string>();

function once(key: string, read: () => string): string {
  let text = cache.get(key);
  if (text === undefined) {
    text = read();
    cache.set(key, text);
  }
  return text;
}

/** An asset without its leading comment: that comment is for readers of the source, not the page. */
function asset(name: string): string {
  return once(name, () => readFileSync(new URL(`./assets/${name}`, import.meta.url), 'utf8').replace(/^\/\*[\s\S]*?\*\//, ''));
}

/** The page's styles, for a <style> element. */
export function reportCss(): string {
  return asset('report.css');
}

/** The page script that draws the charts, for a <script> element. */
export function pageScript(): string {
  return asset('page.js');
}

/** Chart.js's UMD build from node_modules, safe to inline in a <script> element. */
export function chartJsSource(): string {
  return once('chart.js', () => {
    const require = createRequire(import.meta.url);
    const file = join(dirname(require.resolve('chart.js')), 'chart.umd.min.js');
    return readFileSync(file, 'utf8').replace(/<\/script/gi, '<\\/script');
  });
}
