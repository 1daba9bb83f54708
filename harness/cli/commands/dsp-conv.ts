/**
 * `fkb dsp conv`: the per-layer exactness report of a packed-DSP engine configuration.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import Table from 'cli-table3';
import { type ConvShape, type RequantMode, REQUANT_MODES } from '../../conv/layer.ts';
import { referenceLayer } from '../../bench/shapes.ts';
import { DECODE_POINTS, type DecodePoint } from '../../dsp/packed-conv.ts';
import { schemeProblem } from '../../problems/scheme-problem.ts';
import { layerExactness } from '../../exactness/layer-exactness.ts';
import { type LayerExactness } from '../../results/index.ts';
import { SCHEME_NAMES, type SchemeName } from '../../dsp/schemes.ts';
import { loadNetwork } from '../../networks/index.ts';
import type { Operands } from '../../problems/problem-builder.ts';
import { InputError, VerificationError } from '../../util/errors.ts';
import { ensureBuilt } from '../../wasm/build.ts';
import { positiveInt } from '../options.ts';
import { progressBar } from '../progress.ts';

/** Layers to report on: the reference layer, or a network's (grouped convolutions skipped). */
function layersOf(spec: string): { name: string; shape: ConvShape }[] {
  if (spec === 'reference') {
    const r = referenceLayer();
    return [{ name: r.name, shape: r.shape }];
  }
  const net = loadNetwork(spec);
  return net.layers.filter((l) => l.groups === 1).map((l) => ({ name: `${net.name}/${l.name}`, shape: l }));
}

export function exactnessTable(rows: LayerExactness[]): string {
  const t = new Table({
    head: ['layer', 'products/P', 'bound', 'worst case', 'outputs differing', 'max error', 'accumulators differing'],
    colAligns: ['left', 'right', 'right', 'left', 'right', 'right', 'right'],
    style: { head: [], border: [] },
  });
  for (const r of rows) {
    const pct = ((100 * r.outputsDiffering) / r.outputs).toFixed(2);
    t.push([r.layer, r.productsPerDecode, r.bound, r.safeInWorstCase ? 'exact' : 'can corrupt', `${r.outputsDiffering} (${pct} %)`, r.maxOutputError, r.accumulatorsDiffering]);
  }
  return t.toString();
}

export function registerDspConvCommands(dsp: Command): void {
  dsp
    .command('conv')
    .description('how many outputs of each layer a packed-DSP engine gets wrong (packed kernel vs exact convolution)')
    .option('--layers <spec>', "'reference', a built-in network (vgg16, resnet18, ...) or a .json/.csv layer file", 'reference')
    .addOption(new Option('--scheme <scheme>', 'packing scheme').choices(SCHEME_NAMES as unknown as string[]).default('int8x8'))
    .option('--chain <L>', 'DSPs per cascade along input channels', positiveInt('--chain'), 16)
    .addOption(new Option('--decode <point>', 'when P is split into lanes').choices(DECODE_POINTS as unknown as string[]).default('cascade'))
    .addOption(new Option('--mode <mode>', 'requantization of the outputs').choices(REQUANT_MODES).default('gemmlowp'))
    .addOption(new Option('--operands <kind>', 'seeded data: uniform, or every operand at a range end').choices(['random', 'extremes']).default('random'))
    .option('--seed <n>', 'seed of the operands', positiveInt('--seed'), 1)
    .option('--strict', 'exit 1 when any output differs from the exact convolution')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  fkb dsp conv\n  fkb dsp conv --layers vgg16 --scheme int8x8 --chain 7\n  fkb dsp conv --layers resnet18 --scheme int4 --decode window --operands extremes\n\n' +
        "'products/P' is how many products one P sums before its lanes are split; past the scheme's bound\n" +
        'some operands corrupt a lane, and the table counts how often this data does.',
    )
    .action((o: { layers: string; scheme: SchemeName; chain: number; decode: DecodePoint; mode: RequantMode; operands: Operands; seed: number; strict?: boolean; json?: boolean }) => {
      ensureBuilt();
      const layers = layersOf(o.layers);
      const bar = progressBar(!o.json);
      const rows = layers.map((l, i) => {
        bar.update(l.name, i, layers.length);
        return layerExactness(l.name, schemeProblem(l.shape, o.scheme, o.operands, o.mode, o.seed), { scheme: o.scheme, chain: o.chain, decode: o.decode });
      });
      bar.stop();
      if (o.json) console.log(JSON.stringify(rows, null, 2));
      else {
        console.log(`${o.scheme}, cascade of ${o.chain}, decode per ${o.decode}, ${o.operands} operands (seed ${o.seed}), ${o.mode} outputs`);
        console.log(exactnessTable(rows));
      }
      const bad = rows.filter((r) => r.outputsDiffering > 0);
      if (o.strict && bad.length) throw new VerificationError(`${bad.length} of ${rows.length} layers have outputs that differ from the exact convolution`);
    });
}
