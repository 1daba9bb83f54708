/**
 * The browser runner (served by `fkb serve`): loads the same .wasm modules, checks every
 * variant against the plain-JS reference on the shared cases, benchmarks every variant on the
 * reference layer with tinybench, and shows both tables. Results are also left on
 * `window.__fkb` for the Playwright test that compares them with Node's, bit for bit.
 */
import { Bench } from 'tinybench';
import { macs } from '../conv/layer.ts';
import { identityPackedAccumulators, requantizePacked } from '../dsp/packed-conv.ts';
import { referenceConv } from '../reference/conv.ts';
import { KernelTester } from '../testers/kernel-tester.ts';
import { loadServedModules } from './served-modules.ts';
import { KernelRunner, modulesFor } from '../wasm/kernel-runner.ts';
import { SPLITCONV_VARIANTS } from '../registry/splitconv.ts';
import { browserCases, digest } from './cases.ts';

interface CaseResult {
  key: string;
  module: string;
  digest: string;
  exact: boolean;
}

interface BenchRow {
  variant: string;
  module: string;
  p50Ms: number;
  gmacs: number;
}

declare global {
  interface Window {
    __fkb: { done: boolean; error?: string; userAgent: string; modules: Record<string, string>; results: CaseResult[]; bench: BenchRow[] };
  }
}

const state: Window['__fkb'] = { done: false, userAgent: navigator.userAgent, modules: {}, results: [], bench: [] };
window.__fkb = state;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  return e;
}

function table(head: string[], rows: (string | number)[][]): HTMLTableElement {
  const t = el('table');
  const tr = el('tr');
  for (const h of head) tr.append(el('th', h));
  t.append(tr);
  for (const r of rows) {
    const row = el('tr');
    for (const c of r) row.append(el('td', String(c)));
    t.append(row);
  }
  return t;
}

const status = (text: string) => {
  document.getElementById('status')!.textContent = text;
};

async function main(): Promise<void> {
  state.modules = await loadServedModules();
  document.getElementById('modules')!.append(table(['module', 'status'], Object.entries(state.modules)));

  status('verifying every variant against the reference ...');
  const cases = browserCases();
  const wants = new Map<string, Int8Array | Int32Array>();
  for (const c of cases) {
    const wantKey = `${c.key}`;
    if (!wants.has(wantKey)) {
      wants.set(wantKey, c.dsp ? requantizePacked(c.problem, identityPackedAccumulators(c.problem, c.dsp)) : referenceConv(c.problem));
    }
    for (const kernel of modulesFor(c.variant)) {
      const r = new KernelRunner(c.variant, kernel, c.problem, c.dsp);
      r.run();
      const out = r.output();
      const want = wants.get(wantKey)!;
      const exact = out.length === want.length && out.every((v, i) => v === want[i]) && r.guardViolations().length === 0;
      state.results.push({ key: c.key, module: kernel.name, digest: digest(out), exact });
    }
    await new Promise((resolve) => setTimeout(resolve, 0)); // keep the page responsive
  }
  const failed = state.results.filter((r) => !r.exact).length;
  document.getElementById('verify')!.append(
    el('p', `${state.results.length - failed} of ${state.results.length} checks bit-exact`),
    table(['variant and case', 'module', 'exact', 'digest'], state.results.map((r) => [r.key, r.module, r.exact ? 'yes' : 'NO', r.digest])),
  );

  status('benchmarking on the reference layer ...');
  const t = new KernelTester().image(56).channels(64, 64).kernel(3).pad(1).mode('fp32');
  const ms = Number(new URLSearchParams(location.search).get('time') ?? 200);
  for (const v of SPLITCONV_VARIANTS) {
    for (const kernel of modulesFor(v).filter((k) => k.name !== 'debug')) {
      const r = new KernelRunner(v, kernel, t.problem(v.weightRange));
      const bench = new Bench({ time: ms, iterations: 3, warmupIterations: 1 });
      bench.add(v.name, () => r.run());
      await bench.run();
      const res = bench.tasks[0]!.result;
      if (res.state !== 'completed') continue;
      state.bench.push({ variant: v.name, module: kernel.name, p50Ms: res.latency.p50, gmacs: macs(t.getShape()) / res.latency.p50 / 1e6 });
    }
  }
  document.getElementById('bench')!.append(
    table(['variant', 'module', 'p50 (ms)', 'GMAC/s'], [...state.bench].sort((a, b) => a.p50Ms - b.p50Ms).map((b) => [b.variant, b.module, b.p50Ms.toFixed(3), b.gmacs.toFixed(2)])),
  );
  status(failed ? `done: ${failed} checks FAILED` : 'done: every check bit-exact');
  state.done = true;
}

main().catch((e: unknown) => {
  state.error = String((e as Error)?.stack ?? e);
  state.done = true;
  status(`error: ${state.error}`);
});
