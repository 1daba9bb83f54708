/**
 * `fkb dsp overpack [--config NAME|all] [--json]`: error statistics of overpacked DSP48E2
 * multiplies (harness/dsp/overpack.ts), every operand tuple (sampled above 2^25), each decode
 * per lane, beside the paper's Table II.
 * `fkb dsp overpack --model default|<trained>|<file.onnx> [--images N] [--modes ...]`: the
 * per-layer and top-1 effect on a model and engine (a)'s cycles (harness/pipelines/overpack.ts).
 * Exit 1 when the fast path disagrees with the slice model, 2 on bad input.
 */
import type { Command } from 'commander';
import Table from 'cli-table3';
import { OVERPACK_NAMES, getOverpack } from '../../dsp/overpack.ts';
import { type OverpackStats, compareWithPaper, overpackStats } from '../../exactness/overpack-stats.ts';
import { DECODE_MODES, type DecodeMode } from '../../dsp/overpack.ts';
import { type OverpackModelResult, overpackModelEffect } from '../../pipelines/overpack.ts';
import { InputError } from '../../util/errors.ts';
import { progressBar } from '../progress.ts';
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

function parseModes(text: string): DecodeMode[] {
  const modes = text.split(',').map((m) => m.trim());
  for (const m of modes) {
    if (!(DECODE_MODES as readonly string[]).includes(m)) throw new InputError(`--modes takes comma-separated decodes of ${DECODE_MODES.join(', ')}, got '${m}'`);
  }
  return modes as DecodeMode[];
}

function modelTable(r: OverpackModelResult): string {
  const t = new Table({
    head: ['layer', 'w/a bits', 'plan', 'overpacked', ...r.modes.map((m) => `${m} local`), ...r.modes.map((m) => `${m} in graph`), 'cycles exact', 'overpacked'],
    style: { head: [], border: [] },
  });
  const pct = (n: number | undefined, of: number) => `${((100 * (n ?? 0)) / of).toFixed(2)} %`;
  for (const l of r.layers) {
    t.push([
      l.layer, `${l.weightBits}/${l.activationBits}`, `${l.planScheme} (${l.planProducts})`, l.config ? `${l.config} (${l.products})` : 'exact (no config fits)',
      ...r.modes.map((m) => (l.config ? pct(l.local[m], l.outputs) : '')), ...r.modes.map((m) => (l.config ? pct(l.propagated[m], l.outputs) : '')),
      fmt(l.cycles.exact), fmt(l.cycles.overpacked),
    ]);
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
    .option('--symmetric-weights', 'weights in [-(2^(b-1) - 1), 2^(b-1) - 1], as this project quantizes them')
    .option('--model <name>', "instead: the effect on a model: 'default', a trained model of models/fashion-mnist/lowbit (e.g. w4a4) or a QDQ .onnx; --config lists the candidates per layer")
    .option('--images <n>', 'with --model: held-out test images measured', positiveInt('--images', 10000))
    .option('--modes <list>', 'with --model: decodes to run', parseModes, ['naive', 'mr', 'mr-round'] as DecodeMode[])
    .option('--subset', 'with --model: the committed 2,000-image subset even when the full test set is installed')
    .option('--json', 'print the statistics as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  fkb dsp overpack --config int4-2x2-d2 --lanes\n  fkb dsp overpack --json\n\n' +
        'Decodes: naive (bit fields), round (+ the bit below: the paper\'s full correction), mr (MR-Overpacking:\n' +
        'the LSBs of the product above subtracted), mr-round (both), exact (ours: mr + the borrow of the lanes\n' +
        'below), approx (C-port sign anticipation). Error rate, mean error and MAE are per result.',
    )
    .action((o: { config: string; lanes?: boolean; samples: number; seed: number; symmetricWeights?: boolean; model?: string; images?: number; modes: DecodeMode[]; subset?: boolean; json?: boolean }) => {
      const names = configsOf(o.config);
      names.forEach((n) => getOverpack(n)); // refuse a bad layout before any work
      if (o.model !== undefined) {
        const bar = progressBar(!o.json);
        const r = overpackModelEffect({ model: o.model, configs: names, modes: o.modes, images: o.images, subset: o.subset, onImage: (d, n) => bar.update('images', d, n) });
        bar.stop();
        if (o.json) console.log(JSON.stringify(r, null, 2));
        else {
          console.log(`${r.model} on ${r.imageSet} (${fmt(r.images)} images); outputs differing from the exact integer graph:`);
          console.log(modelTable(r));
          console.log(`top-1: exact ${r.top1.exact.toFixed(2)} %, ${r.modes.map((m) => `${m} ${r.top1[m]!.toFixed(2)} % (${r.flipped[m] ?? 0} images change class)`).join(', ')}`);
          console.log(`engine (a) compute cycles (L=${r.engine.L}, Po=${r.engine.Po}, Pp=${r.engine.Pp}): exact plan ${fmt(r.cycles.exact)}, overpacked ${fmt(r.cycles.overpacked)} (${(r.cycles.overpacked / r.cycles.exact).toFixed(3)}x)`);
        }
        return;
      }
      const stats = names.map((n) => overpackStats(n, { samples: o.samples, seed: o.seed, symmetricWeights: o.symmetricWeights }));
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
