/**
 * Screenshots a report for the README: `npx tsx scripts/screenshot-report.ts <report.html> <out.png>`.
 * Headless Debian Chromium, network blocked, the first 1500 pixels of the page at 1100 wide.
 */
import { chromium } from 'playwright-core';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [html, out] = process.argv.slice(2);
if (!html || !out) {
  console.error('usage: tsx scripts/screenshot-report.ts <report.html> <out.png>');
  process.exit(2);
}
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 1500 } });
  await page.route('**/*', (r) => (r.request().url().startsWith('file:') ? r.continue() : r.abort()));
  await page.goto(pathToFileURL(resolve(html)).href);
  await page.waitForFunction(() => (window as unknown as { __fkbChartsRendered?: number }).__fkbChartsRendered !== undefined);
  await page.screenshot({ path: out, clip: { x: 0, y: 0, width: 1100, height: 1500 } });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
}
