/**
 * Our kernels and LiteRT.js (XNNPACK) side by side in headless Chromium, same page, same run:
 * starts `fkb serve`, opens its /litert page (Debian's chromium through playwright-core), waits,
 * prints the table (p50 ± MAD, GMAC/s, ratio to LiteRT.js on one thread) and LiteRT's exactness.
 * Run: npx tsx scripts/bench-litert-browser.ts [--time ms] [--single] [--json]
 * (--single: LiteRT's single-threaded build only, one thread).
 */
import { loadavg } from 'node:os';
import { chromium } from 'playwright-core';
import { CHROMIUM, startServe as startServer } from './start-serve.ts';
import type { LiteRtPageState } from '../harness/browser/litert-main.ts';

const args = process.argv.slice(2);
const time = Number(args[args.indexOf('--time') + 1] ?? 400) || 400;


/** Runs the /litert page to the end and returns its state. */
export async function runLiteRtPage(timeMs: number, single = false): Promise<LiteRtPageState> {
  const { url, child } = await startServer();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  try {
    const page = await (await browser.newContext()).newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    // Only the local server: LiteRT's files come from node_modules through it.
    await page.route('**/*', (route) => (route.request().url().startsWith(url) ? route.continue() : route.abort()));
    await page.goto(`${url}litert?time=${timeMs}${single ? '&threads=1' : ''}`);
    await page.waitForFunction(() => window.__fkbLitert?.done === true, undefined, { timeout: 600_000 });
    const state = await page.evaluate(() => window.__fkbLitert);
    if (errors.length) state.error = [state.error, ...errors].filter(Boolean).join('\n');
    return state;
  } finally {
    await browser.close();
    child.kill();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const before = loadavg()[0]!.toFixed(2);
  const s = await runLiteRtPage(time, args.includes('--single'));
  const after = loadavg()[0]!.toFixed(2);
  if (args.includes('--json')) console.log(JSON.stringify(s, null, 2));
  else {
    console.log(`${s.userAgent}; cross-origin isolated ${s.crossOriginIsolated}; LiteRT build ${s.litertBuild}; load average ${before} before, ${after} after`);
    const threaded = Object.entries(s.threaded ?? {});
    const exact = threaded.filter(([, t]) => 'exact' in t && t.exact).length;
    if (threaded.length) console.log(`our kernels on 2 threads: ${exact} of ${threaded.filter(([, t]) => 'exact' in t).length} run give the 1-thread output bytes; ${threaded.filter(([, t]) => 'skipped' in t).map(([v, t]) => `${v} skipped (${'skipped' in t ? t.skipped : ''})`).join('; ') || 'none skipped'}`);
    for (const [n, d] of Object.entries(s.differing)) console.log(`LiteRT.js ${n} thread(s): outputs differing from our reference, by mode: ${Object.entries(d).map(([m, c]) => `${m} ${c}`).join(', ')}`);
    const one = s.rows.find((r) => r.kernel.includes('1 thread)'));
    for (const r of [...s.rows].sort((a, b) => a.p50Ms - b.p50Ms)) {
      const ratio = one ? (one.p50Ms / r.p50Ms).toFixed(2) : '-';
      console.log(`${r.kernel.padEnd(56)} ${r.module.padEnd(28)} ${r.p50Ms.toFixed(3).padStart(8)} ± ${r.madMs.toFixed(3)} ms ${r.gmacs.toFixed(1).padStart(7)} GMAC/s  x LiteRT(1) ${ratio}  n=${r.samples}`);
    }
  }
  if (Object.values(s.threaded ?? {}).some((t) => 'exact' in t && !t.exact)) {
    console.error('a threaded kernel differs from its one-thread output');
    process.exitCode = 1;
  }
  if (s.error) {
    console.error(s.error);
    process.exitCode = 1;
  }
}
