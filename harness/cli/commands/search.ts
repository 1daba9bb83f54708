/**
 * `fkb search`: hardware-aware compression search (harness/search/search.ts): per-layer pruning
 * ratio, weight and activation bits (with the packing they allow) and engine (a)'s configuration,
 * evaluated by a worker_threads pool, kept in an SQLite store (`--db`, `--resume`). Prints each
 * strategy's summary, the front with each point's `fkb compress` command, and `fkb run`'s
 * hand-picked settings against it; `--out` writes the whole result as JSON, `--html` a report.
 */
import Table from 'cli-table3';
import type { Command } from 'commander';
import { Option } from 'commander';
import { InputError } from '../../util/errors.ts';
import { assertWritable, writeFileAtomically, writeJsonAtomically } from '../../util/files.ts';
import { ensureBuilt } from '../../wasm/build.ts';
import { MAX_THREADS, fmt, positiveInt, toNumber } from '../options.ts';
import { progressBar } from '../progress.ts';
import { STRATEGIES, type SearchResult, type StrategyName, runSearch } from '../../search/search.ts';
import { searchReportHtml } from '../../report/search-page.ts';

const pct = (x: number) => `${(100 * x).toFixed(2)} %`;

function bitsLabel(p: SearchResult['front'][number]): string {
  const names = Object.keys(p.candidate.weightBits);
  return names.map((n) => `${p.candidate.weightBits[n]}/${p.candidate.activationBits[n]}${p.candidate.ratio[n] ? `-${Math.round(100 * p.candidate.ratio[n]!)}%` : ''}`).join(' ');
}

export function formatSearch(r: SearchResult): string {
  const lines = [
    `${r.model} on ${r.device}, seed ${r.seed}, budget ${r.budget} candidates per strategy, ${r.threads} thread(s)`,
    `images (test-set indices): calibration ${r.images.calibration}; search ${r.images.search}; held-out ${r.images.heldOut}`,
    `${r.evaluatedHere} candidates evaluated here, ${r.reusedHere} read from the store, in ${r.seconds.toFixed(1)} s (search phase: ${r.candidatesPerSecond.toFixed(2)} evaluated/s)`,
  ];
  const s = new Table({ head: ['strategy', 'candidates', 'evaluated', 'feasible', 'front', 'hypervolume (4 obj.)', 'hypervolume (error x latency)', 's'], style: { head: [], border: [] } });
  for (const x of r.strategies) s.push([x.name, x.scored, x.evaluated, x.feasible, x.front, x.hypervolume.toFixed(4), x.hypervolume2d.toFixed(4), x.seconds.toFixed(1)]);
  lines.push(s.toString());
  const f = new Table({ head: ['#', 'by', 'top-1 search', 'top-1 held-out', 'latency (us)', 'DSP', 'size (KB)', 'L/Po/Pp', 'W/A bits-pruned per layer'], style: { head: [], border: [] } });
  r.front.forEach((p, i) =>
    f.push([i + 1, p.strategy, pct(p.search.top1), pct(p.heldOut!.top1), fmt(p.search.latencyUs!, 1), p.search.dsp!, fmt(p.search.sizeBits / 8192, 1), `${p.candidate.engine.L}/${p.candidate.engine.Po}/${p.candidate.engine.Pp}`, bitsLabel(p)]),
  );
  lines.push(`Pareto front (${r.front.length} points; top-1 error, latency, DSPs, size; held-out top-1 on ${r.front[0]?.heldOut?.images ?? 0} images)`, f.toString());
  if (r.handPicked.length) {
    const h = new Table({ head: ['fkb run setting', 'top-1 held-out', 'latency (us)', 'DSP', 'front point at <= latency (best search top-1)', 'its held-out top-1', 'its latency (us)', 'its DSP', 'beats it'], style: { head: [], border: [] } });
    for (const x of r.handPicked) {
      const at = x.best ? r.front.findIndex((p) => p.key === x.best!.key) + 1 : 0;
      h.push([x.setting, pct(x.top1), fmt(x.latencyUs, 1), x.dsp, x.best ? `#${at}` : 'none', x.best ? pct(x.best.top1) : '', x.best ? fmt(x.best.latencyUs, 1) : '', x.best?.dsp ?? '', x.best?.beats ? 'yes' : 'no']);
    }
    lines.push('fkb run\'s hand-picked settings (engine L=16 Po=8 Pp=1) on the same held-out images', h.toString());
  }
  lines.push('reproduce a point:', ...r.front.map((p, i) => `#${i + 1}: ${p.command}`));
  return lines.join('\n');
}

export function registerSearchCommand(program: Command): void {
  program
    .command('search')
    .description('hardware-aware compression search: per-layer pruning, weight/activation bits and FPGA engine configuration; Pareto front of top-1, latency, DSPs and size')
    .option('--model <file.onnx>', 'an ONNX CNN with 28x28x1 input (default: the embedded Fashion-MNIST model)')
    .addOption(new Option('--strategy <name>', 'es (the (1+lambda) evolution strategy), ddpg (the actor-critic agent) or both, on the same budget each').choices([...STRATEGIES, 'both']).default('both'))
    .option('--budget <n>', 'distinct candidates per strategy', positiveInt('--budget', 1_000_000), 200)
    .option('--seed <n>', 'seed of every random choice', (v: string) => {
      const n = toNumber(v);
      if (!Number.isInteger(n) || n < 0 || n > 2 ** 31 - 1) throw new InputError(`--seed must be an integer in [0, 2147483647], got '${v}'`);
      return n;
    }, 1)
    .option('--threads <n>', 'worker threads evaluating candidates', positiveInt('--threads', MAX_THREADS), 1)
    .option('--search-images <n>', 'images candidates are selected on (test-set indices 2000 on; needs the full test set)', positiveInt('--search-images', 8000), 500)
    .option('--final-images <n>', 'held-out images the front is measured on (indices 200 on, never searched on)', positiveInt('--final-images', 1800), 1800)
    .option('--prune-levels <list>', 'pruning ratios a layer may take, comma-separated', (v: string) => {
      const r = v.split(',').map((x) => toNumber(x));
      if (r.length === 0 || r.some((x) => !(x >= 0 && x < 1))) throw new InputError(`--prune-levels takes comma-separated ratios in [0, 1), got '${v}'`);
      return r;
    })
    .option('--lambda <n>', 'ES children per parent and generation (DDPG: 6 x lambda episodes per batch)', positiveInt('--lambda', 64), 4)
    .option('--device <name>', 'FPGA device (see fkb model --list-devices)', 'zcu104')
    .option('--db <file.sqlite>', 'the search store (SQLite)', 'fkb-search.sqlite')
    .option('--resume', 'continue the search stored in --db: stored candidates are read, not evaluated')
    .option('--no-hand-picked', "skip measuring fkb run's hand-picked settings")
    .option('--out <file.json>', 'write the result as JSON')
    .option('--html <file.html>', 'write the result as an HTML report (front charts and tables)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExamples:\n  fkb search --budget 200 --threads 2\n  fkb search --strategy es --budget 2000 --threads 2 --db /tmp/s.sqlite --out /tmp/front.json --html /tmp/search.html\n  fkb search --db /tmp/s.sqlite --budget 2000 --threads 2 --resume   # after a crash or kill\n')
    .action(async (o: { model?: string; strategy: StrategyName | 'both'; budget: number; seed: number; threads: number; searchImages: number; finalImages: number; pruneLevels?: number[]; lambda: number; device: string; db: string; resume?: boolean; handPicked: boolean; out?: string; html?: string; json?: boolean }) => {
      for (const f of [o.out, o.html]) if (f) assertWritable(f);
      ensureBuilt();
      const bar = progressBar(!o.json);
      const r = await runSearch({
        ...(o.model ? { model: o.model } : {}),
        strategies: o.strategy === 'both' ? STRATEGIES : [o.strategy],
        budget: o.budget, seed: o.seed, threads: o.threads, searchImages: o.searchImages, finalImages: o.finalImages,
        ...(o.pruneLevels ? { ratios: o.pruneLevels } : {}),
        lambda: o.lambda, device: o.device, db: o.db, resume: Boolean(o.resume), handPicked: o.handPicked,
        onProgress: (p) => bar.update(`${p.strategy}: ${p.evaluated} evaluated, ${p.reused} read from the store`, p.scored, p.budget),
      });
      bar.stop();
      if (o.out) writeJsonAtomically(o.out, r);
      if (o.html) writeFileAtomically(o.html, searchReportHtml(r));
      const wrote = [o.out, o.html].filter(Boolean).map((f) => `\nwrote ${f}`).join('');
      console.log(o.json ? JSON.stringify(r, null, 2) : `${formatSearch(r)}${wrote}`);
    });
}
