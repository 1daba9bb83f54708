/**
 * The browser runner (`fkb serve`) in a real headless Chromium: every variant's output in the
 * browser is bit-identical to Node's for the same seeded problems, the page's own check against
 * the JS reference passes, and its benchmark table fills in.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, startServe as startServer } from '../scripts/start-serve.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { browserCases, digest } from '../harness/browser/cases.ts';
import { KernelRunner, modulesFor } from '../harness/wasm/kernel-runner.ts';



test('browser outputs are bit-identical to Node for every variant; the page verifies and benchmarks', async () => {
  if (!existsSync(CHROMIUM)) {
    console.log(`browser test NOT run: ${CHROMIUM} is missing (apt-get install chromium)`);
    assert.ok(process.env.FKB_ALLOW_NO_BROWSER === '1', `${CHROMIUM} is missing; set FKB_ALLOW_NO_BROWSER=1 to skip knowingly`);
    return;
  }
  const { url, child } = await startServer();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    // Only the local server: anything else would mean the runner reaches for the network.
    await page.route('**/*', (route) => (route.request().url().startsWith(url) ? route.continue() : route.abort()));
    await page.goto(`${url}?time=30`);
    await page.waitForFunction(() => window.__fkb?.done === true, undefined, { timeout: 240_000 });
    const state = await page.evaluate(() => window.__fkb);
    mkdirSync('test-artifacts', { recursive: true });
    await page.screenshot({ path: join('test-artifacts', 'browser-runner.png'), fullPage: true });
    assert.is(state.error, undefined, state.error);
    assert.equal(errors, []);
    console.log(`${state.userAgent}: modules ${JSON.stringify(state.modules)}`);

    const browserResults = new Map(state.results.map((r) => [`${r.key} [${r.module}]`, r]));
    assert.ok(state.results.length > 0, 'the page ran no check');
    for (const r of state.results) assert.ok(r.exact, `${r.key} [${r.module}] differs from the reference in the browser`);
    assert.ok(state.results.some((r) => r.module === 'simd'), 'no SIMD variant ran in the browser');

    let compared = 0;
    for (const c of browserCases()) {
      for (const kernel of modulesFor(c.variant)) {
        const b = browserResults.get(`${c.key} [${kernel.name}]`);
        if (!b) continue; // a module this browser does not run
        const r = new KernelRunner(c.variant, kernel, c.problem, c.dsp);
        r.run();
        assert.is(b.digest, digest(r.output()), `${c.key} [${kernel.name}]: browser and Node outputs differ`);
        compared++;
      }
    }
    assert.ok(compared >= state.results.filter((r) => r.module !== 'relaxed').length, `compared only ${compared} results`);
    console.log(`${compared} variant/case/module outputs bit-identical between Chromium and Node ${process.version}`);
    assert.ok(state.bench.some((b) => b.module === 'simd' && b.gmacs > 0), 'the benchmark table is empty');
  } finally {
    await browser.close();
    child.kill();
  }
});

test.run();
