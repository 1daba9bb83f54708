/**
 * `fkb lowrank`: factorize every convolution and fully connected layer of a CNN (the embedded
 * Fashion-MNIST model by default) by truncated SVD, vector-quantize the factors, and report
 * top-1 against float, size and MACs, and per layer the rank kept and the errors.
 */
import type { Command } from 'commander';
import Table from 'cli-table3';
import { type FactorizeResult, factorizeModel } from '../../pipelines/factorize.ts';
import { LOWRANK_DEFAULTS } from '../../lowrank/factorize.ts';
import { InputError } from '../../util/errors.ts';
import { fmt, numberIn, toNumber } from '../options.ts';

const pct = (x: number) => `${(100 * x).toFixed(2)} %`;

/** A number in (0, 1]. */
function fraction(name: string) {
  return (v: string): number => {
    const n = toNumber(v);
    if (!Number.isFinite(n) || n <= 0 || n > 1) throw new InputError(`${name} must be a number in (0, 1], got '${v}'`);
    return n;
  };
}

export function formatLowRank(r: FactorizeResult): string {
  const o = r.options;
  const rule = o.rankRatio !== null ? `rank ratio ${o.rankRatio}` : `energy ${o.energy}`;
  const vq = o.codebook > 0 ? `vector quantization K = ${o.codebook}, d = ${o.subvector}, seed ${o.seed}` : 'no vector quantization';
  const lines = [
    `${r.model}: low rank (${rule}), ${vq}; top-1 on ${r.images} held-out images (test-set indices ${r.imageSets.measured}; ` +
      `${r.imageSets.neverMeasured} never measured); data-free: no image is used to compress`,
  ];
  const t = new Table({ head: ['', 'top-1', 'vs float', 'size (bits)', 'x smaller', 'MACs'], style: { head: [], border: [] } });
  const row = (name: string, p: FactorizeResult['float']) =>
    t.push([name, `${pct(p.top1)} (${p.correct})`, `${((p.top1 - r.float.top1) * 100).toFixed(2)} pt`, fmt(p.sizeBits), (r.float.sizeBits / p.sizeBits).toFixed(2), fmt(p.macs)]);
  row('float', r.float);
  row('low rank, float factors', r.lowRank);
  if (o.codebook > 0) row('low rank + VQ', r.compressed);
  lines.push(t.toString());
  const l = new Table({
    head: ['layer', 'matrix', 'rank', 'energy kept', 'error low rank', 'error + VQ', 'stored as', 'bits', 'MACs'],
    style: { head: [], border: [] },
  });
  for (const x of r.layers) {
    const stored = x.factors.map((f) => (f.vq ? `${f.rows}x${f.cols} VQ ${f.vq.codebookSize}` : `${f.rows}x${f.cols} float`)).join(' + ');
    l.push([
      x.name, `${x.rows}x${x.cols}`, x.factorized ? `${x.rank} of ${x.fullRank}` : `whole (${x.fullRank})`, pct(x.energy),
      x.lowRankError.toFixed(3), x.compressedError.toFixed(3), stored, `${fmt(x.bitsBefore)} -> ${fmt(x.bitsAfter)}`, `${fmt(x.macsBefore)} -> ${fmt(x.macsAfter)}`,
    ]);
  }
  lines.push(l.toString());
  lines.push('errors: ||W - W\'||_F / ||W||_F of the layer\'s matrix (outC x kH*kW*inC, batch norm folded); bits: weights and biases, VQ indices at ceil(log2 K) and codebooks at 32 bits');
  return lines.join('\n');
}

export function registerLowrankCommand(program: Command): void {
  program
    .command('lowrank')
    .description('factorize each convolution and fc layer by truncated SVD, vector-quantize the factors (k-means codebooks), report top-1 against float, size and MACs')
    .option('--model <file.onnx>', 'an ONNX CNN with 28x28x1 input (default: the embedded Fashion-MNIST model)')
    .option('--rank-ratio <r>', 'keep round(r * full rank) singular values per layer, (0, 1]', fraction('--rank-ratio'))
    .option('--energy <e>', `instead: keep the fewest singular values holding this fraction of sum s^2, (0, 1] (default ${LOWRANK_DEFAULTS.energy})`, fraction('--energy'))
    .option('--codebook <K>', 'centroids per codebook, 2..65536; 0 skips vector quantization', numberIn('--codebook', 0, 65536, true), LOWRANK_DEFAULTS.codebook)
    .option('--subvector <d>', 'sub-vector length, 1..64', numberIn('--subvector', 1, 64, true), LOWRANK_DEFAULTS.subvector)
    .option('--seed <s>', 'k-means++ seed', numberIn('--seed', 0, 0xffffffff, true), LOWRANK_DEFAULTS.seed)
    .option('--images <n>', 'held-out images measured (default: all, 1800; 9800 with --full-test-set)', numberIn('--images', 1, 9800, true))
    .option('--full-test-set', "evaluate on Debian's dataset-fashion-mnist test set (10,000 images) instead of the committed 2,000")
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  fkb lowrank\n  fkb lowrank --energy 0.99 --codebook 256 --subvector 4\n  fkb lowrank --rank-ratio 0.75 --codebook 0\n' +
        '  fkb lowrank --full-test-set --json\n',
    )
    .action((o: { model?: string; rankRatio?: number; energy?: number; codebook: number; subvector: number; seed: number; images?: number; fullTestSet?: boolean; json?: boolean }) => {
      if (o.rankRatio !== undefined && o.energy !== undefined) throw new InputError('give either --rank-ratio or --energy, not both');
      if (o.codebook === 1) throw new InputError("--codebook must be 0 (no vector quantization) or an integer in [2, 65536], got '1'");
      const r = factorizeModel({
        ...(o.model ? { model: o.model } : {}),
        ...(o.rankRatio !== undefined ? { rankRatio: o.rankRatio } : {}),
        ...(o.energy !== undefined ? { energy: o.energy } : {}),
        codebook: o.codebook,
        subvector: o.subvector,
        seed: o.seed,
        ...(o.images !== undefined ? { images: o.images } : {}),
        fullTestSet: Boolean(o.fullTestSet),
      });
      const { graph, ...summary } = r;
      console.log(o.json ? JSON.stringify(summary, null, 2) : formatLowRank(r));
    });
}
