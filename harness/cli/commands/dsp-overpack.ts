/**
 * `fkb dsp overpack [--config NAME|all] [--json]`: error statistics of overpacked DSP48E2
 * multiplies (harness/dsp/overpack.ts), every operand tuple (sampled above 2^25), each decode
 * per lane, beside the paper's Table II. Exit 1 when the fast path disagrees with the slice
 * model, 2 on bad input.
 */
import type { Command } from 'commander';
import Table from 'cli-table3';
import { OVERPACK_NAMES, getOverpack } from '../../dsp/overpack.ts';
import { type OverpackStats, compareWithPaper, overpackStats } from '../../exactness/overpack-stats.ts';
import { InputError } from '../../util/errors.ts';
import { fmt, positiveInt } from '../options.ts';

function configsOf(spec: string): string[] {
  if (spec === 'all') return [...OVERPACK_NAMES];
  const names = spec.split(',').map((s) => s.trim());
  for (const n of names) {
    if (!OVERPACK_NAMES.includes(n)) throw new InputError(`--config must be 'all' or one or more of ${OVERPACK_NAMES.join(', ')}, got '${n}'`);
  }
  return names;
}

function statsTable(stats: readonly OverpackStats[], lanes: boolean): string {
  const t = new Table({
    head: ['config', 'products', 'δ', 'tuples', 'decode', 'error rate', 'mean error', 'MAE', 'max |error|', 'tuples wrong'],
    colAligns: ['left', 'right', 'right', 'right', 'left', 'right', 'right', 'right', 'right', 'right'],
    style: { head: [], border: [] },
  });
  for (const s of stats) {
    for (const m of s.modes) {
      t.push([s.config, s.products, s.delta, `${fmt(s.cases)}${s.exhaustive ? '' : ' sampled'}`, m.mode, `${m.errorRate.toFixed(2)} %`, m.meanError.toFixed(3), m.meanAbsError.toFixed(3), m.maxAbsError, `${((100 * m.tupleErrors) / s.cases).toFixed(2)} %`]);
      if (lanes) {
        for (const x of m.lanes) {
          t.push(['', '', '', '', `  ${x.lane}`, `${((100 * x.errors) / s.cases).toFixed(2)} %`, (x.sumError / s.cases).toFixed(3), (x.sumAbsError / s.cases).toFixed(3), x.maxAbsError, '']);
        }
      }
    }
  }
  return t.toString();
}

function paperTable(stats: readonly OverpackStats[]): string {
  const t = new Table({
    head: ['Table II row', 'config', 'decode', 'MAE paper', 'ours', 'EP paper', 'ours', 'WCE paper', 'ours'],
    colAligns: ['left', 'left', 'left', 'right', 'right', 'right', 'right', 'right', 'right'],
    style: { head: [], border: [] },
  });
  for (const r of compareWithPaper(stats)) {
    t.push([r.row, r.config, r.mode, r.mae.toFixed(2), r.ours.mae.toFixed(4), `${r.ep.toFixed(2)} %`, `${r.ours.ep.toFixed(4)} %`, r.wce, r.ours.wce]);
  }
  return t.toString();
}

export function registerDspOverpackCommands(dsp: Command): void {
  dsp
    .command('overpack')
    .description('overpacked DSP48E2 multiplies (Sommer et al., FPL 2022): error statistics per decode and lane, and the paper\'s Table II beside ours')
    .option('--config <name>', `'all' or comma-separated names: ${OVERPACK_NAMES.join(', ')}`, 'all')
    .option('--lanes', 'one row per lane under each decode')
    .option('--samples <n>', 'tuples drawn where the space exceeds 2^25', positiveInt('--samples', 2 ** 28), 2 ** 22)
    .option('--seed <n>', 'seed of the sample', positiveInt('--seed'), 1)
    .option('--json', 'print the statistics as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  fkb dsp overpack --config int4-2x2-d2 --lanes\n  fkb dsp overpack --json\n\n' +
        'Decodes: naive (bit fields), round (+ the bit below: the paper\'s full correction), mr (MR-Overpacking:\n' +
        'the LSBs of the product above subtracted), mr-round (both), exact (ours: mr + the borrow of the lanes\n' +
        'below), approx (C-port sign anticipation). Error rate, mean error and MAE are per result.',
    )
    .action((o: { config: string; lanes?: boolean; samples: number; seed: number; json?: boolean }) => {
      const names = configsOf(o.config);
      names.forEach((n) => getOverpack(n)); // refuse a bad layout before any work
      const stats = names.map((n) => overpackStats(n, { samples: o.samples, seed: o.seed }));
      if (o.json) {
        console.log(JSON.stringify({ stats, paper: compareWithPaper(stats) }, null, 2));
        return;
      }
      console.log(statsTable(stats, o.lanes ?? false));
      if (compareWithPaper(stats).length) {
        console.log('\nSommer, Özkan, Keszocze, Teich, FPL 2022, Table II (two int4 x two uint4, per result) beside ours:');
        console.log(paperTable(stats));
      }
    });
}
