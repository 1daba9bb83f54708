/**
 * `fkb train`: quantization-aware training, distillation, gradual quantization or fine-tuning
 * after pruning, in PyTorch (tools/train/qat.py, Debian's python3-torch), then the trained QDQ
 * model checked on our side: imported with its own scales, compared with the trainer's codes
 * node by node and with onnxruntime-web, top-1 on the WASM kernels, packed-DSP exactness per
 * layer, FPGA cycles. Writes <name>.onnx, <name>.json (the trainer's record) and
 * <name>.check.json (this check) into --out-dir, each atomically.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { Option } from 'commander';
import Table from 'cli-table3';
import { type TrainedModelCheck, checkTrainedModel } from '../../pipelines/trained-model.ts';
import { outputPath, runTrainer, writePrunedModel } from '../../pipelines/train.ts';
import { DEBIAN_FASHION_MNIST, FASHION_MNIST_MODEL, readDebianTestSet } from '../../model/fashion-mnist.ts';
import { CRITERIA, type Criterion } from '../../prune/criteria.ts';
import { InputError } from '../../util/errors.ts';
import { assertWritableDir, writeJsonAtomically } from '../../util/files.ts';
import { ensureBuilt } from '../../wasm/build.ts';
import { progressBar } from '../progress.ts';
import { numberIn } from '../options.ts';

const pct = (x: number) => `${(100 * x).toFixed(2)} %`;

export function formatCheck(c: TrainedModelCheck): string {
  const lines = [`${c.model} (${c.format}): top-1 ${pct(c.top1.top1)} (${c.top1.correct}/${c.top1.images}, ${c.top1.imageSet}) on the WASM kernels`];
  const t = new Table({ head: ['layer', 'W/A bits', 'DSP packing (why)', 'packed-DSP outputs differing'], style: { head: [], border: [] } });
  for (const l of c.layers) t.push([l.name, `${l.weightBits}/${l.activationBits}`, l.why, `${l.dspDiffering} of ${l.dspOutputs}`]);
  lines.push(t.toString());
  const v = c.vsTrainer;
  if (v) {
    lines.push(
      `vs the trainer's fake-quant codes (node by node, ${v.images} images, ${v.tensors} tensors): ${v.differing} of ${v.codes.toLocaleString('en-US')} codes differ ` +
        `(${v.ties} rounding ties, ${v.unexplained} unexplained); logits ${v.outputDiffering} of ${v.outputCodes} differ` + (v.first ? `\n  first unexplained: ${v.first}` : ''),
    );
  }
  if (c.vsOrt) lines.push(`vs onnxruntime-web on the same QDQ model: ${c.vsOrt.differing} of ${c.vsOrt.codes} logit codes differ (${c.vsOrt.images} images; ${c.vsOrt.ties} rounding ties, ${c.vsOrt.unexplained} unexplained)`);
  lines.push(`size ${c.sizeBits.toLocaleString('en-US')} bits, ${c.macs.toLocaleString('en-US')} MACs, FPGA engine (a) ${c.fpgaCycles.toLocaleString('en-US')} cycles`);
  return lines.join('\n');
}

interface TrainCommandOptions {
  model: string; wbits: number; abits: number; keep8bit: string; kd?: boolean; kdAlpha?: number; kdTemperature?: number; gradual?: boolean;
  scales: string; actInit: string; epochs: number; lr?: number; batch: number; seed: number; threads: number; trainImages?: number; evalImages?: number;
  dumpCodes: number; outDir: string; name?: string; mode: string; pruneMacs?: number; criterion: Criterion; check: boolean;
  checkImages?: number; ortImages: number; dspImages: number; json?: boolean; checkModel?: string;
}

async function runCheck(onnx: string, codes: string | null, o: TrainCommandOptions, set: NonNullable<ReturnType<typeof readDebianTestSet>>, out: string): Promise<void> {
  const bar = progressBar(!o.json);
  const check = await checkTrainedModel(onnx, {
    set, imageSet: 'Fashion-MNIST t10k', ...(o.checkImages ? { images: o.checkImages } : {}),
    ...(codes ? { codes } : {}), ortImages: o.ortImages, dspImages: o.dspImages, onStep: (l, i, n) => bar.update(l, i, n),
  });
  bar.stop();
  writeJsonAtomically(out, check);
  console.log(o.json ? JSON.stringify(check, null, 2) : formatCheck(check));
  const bad = (check.vsTrainer?.unexplained ?? 0) + (check.vsOrt?.unexplained ?? 0) + check.layers.reduce((n, l) => n + l.dspDiffering, 0);
  if (bad > 0) process.exitCode = 1;
}

export function registerTrainCommand(program: Command): void {
  program
    .command('train')
    .description('train in PyTorch (QAT with our exact quantizers, distillation, gradual quantization, fine-tuning after pruning), export QDQ ONNX, and check it against our kernels, the trainer and onnxruntime-web')
    .option('--model <file.onnx>', 'float ONNX model to start from', FASHION_MNIST_MODEL)
    .addOption(new Option('--mode <mode>', "'qat': fake-quant training, QDQ export; 'float': fine-tuning only").choices(['qat', 'float']).default('qat'))
    .option('--wbits <n>', 'weight bits', numberIn('--wbits', 2, 8, true), 4)
    .option('--abits <n>', 'activation bits (unsigned after ReLU)', numberIn('--abits', 2, 8, true), 4)
    .option('--keep-8bit <ends>', 'first, last, first,last or none: ends kept at 8-bit weights and inputs', 'first,last')
    .addOption(new Option('--scales <how>', 'lsq: learned step sizes; calibrated: fixed').choices(['lsq', 'calibrated']).default('lsq'))
    .addOption(new Option('--act-init <how>', "initial step sizes: minmax (activation min/max, weight absmax) or lsq (LSQ's 2 mean|x|/sqrt(Q_P) where finer)").choices(['minmax', 'lsq']).default('minmax'))
    .option('--kd', 'knowledge distillation from the float model')
    .option('--kd-alpha <a>', 'weight of the distillation term', numberIn('--kd-alpha', 0, 1, false))
    .option('--kd-temperature <t>', 'softmax temperature', numberIn('--kd-temperature', 0.01, 100, false))
    .option('--gradual', 'gradual quantization: growing shares of each layer quantized, the rest retrained')
    .option('--prune-macs <fraction>', 'prune the float model to this fraction of its MACs first, then fine-tune it (the unpruned model is the teacher)', numberIn('--prune-macs', 0.05, 1, false))
    .addOption(new Option('--criterion <c>', 'pruning criterion').choices([...CRITERIA]).default('direct-indirect'))
    .option('--epochs <n>', 'training epochs', numberIn('--epochs', 0, 1000, true), 3)
    .option('--lr <lr>', 'peak learning rate', numberIn('--lr', 1e-9, 10, false))
    .option('--batch <n>', 'mini-batch size', numberIn('--batch', 1, 60000, true), 128)
    .option('--seed <n>', 'seed', numberIn('--seed', 0, 2 ** 31 - 1, true), 1)
    .option('--threads <n>', 'torch threads', numberIn('--threads', 1, 64, true), 2)
    .option('--train-images <n>', 'first N training images (a subset for quick runs)', numberIn('--train-images', 1, 60000, true))
    .option('--eval-images <n>', 'test images the trainer reports top-1 on (t10k 0..N-1)', numberIn('--eval-images', 1, 10000, true))
    .option('--dump-codes <n>', "the trainer's codes of the first N test images, for the check", numberIn('--dump-codes', 0, 10000, true), 1000)
    .option('--out-dir <dir>', 'output folder', '.')
    .option('--name <name>', 'output base name (default from the bit widths)')
    .option('--no-check', 'skip the check of the trained model on our kernels')
    .option('--check-images <n>', "test images of the check's top-1 (default: all of Debian's 10,000)", numberIn('--check-images', 1, 10000, true))
    .option('--ort-images <n>', 'images onnxruntime-web runs in the check', numberIn('--ort-images', 0, 10000, true), 1000)
    .option('--dsp-images <n>', 'images the packed-DSP kernels are compared on', numberIn('--dsp-images', 0, 10000, true), 50)
    .option('--check-model <file.onnx>', "no training: check this trained QDQ model (with <name>.codes.bin beside it when present) and write <name>.check.json beside it")
    .option('--json', 'print the check as JSON')
    .addHelpText('after', '\nExamples:\n  fkb train --wbits 4 --abits 4 --keep-8bit last --epochs 3\n  fkb train --wbits 2 --abits 2 --kd --seed 2\n  fkb train --prune-macs 0.5 --wbits 8 --abits 8 --keep-8bit none --kd\n')
    .action(async (o: TrainCommandOptions) => {
      assertWritableDir(o.outDir);
      if (!/^(first|last|first,last|last,first|none)$/.test(o.keep8bit)) throw new InputError(`--keep-8bit takes first, last, first,last or none, got '${o.keep8bit}'`);
      const name = o.name ?? (o.mode === 'float' ? 'cnn-float' : `cnn-w${o.wbits}a${o.abits}`);
      if (!/^[\w.-]+$/.test(name)) throw new InputError(`--name must be letters, digits, '.', '-' or '_', got '${name}'`);
      const set = o.check ? readDebianTestSet() : undefined;
      if (o.checkModel && !o.checkModel.endsWith('.onnx')) throw new InputError(`--check-model takes a .onnx file, got '${o.checkModel}'`);
      if (o.check && !set) throw new InputError(`the check measures on Debian's 10,000 test images (${DEBIAN_FASHION_MNIST}): apt-get install -y dataset-fashion-mnist, or --no-check`);
      ensureBuilt();
      if (o.checkModel) {
        const codes = o.checkModel.replace(/\.onnx$/, '.codes.bin');
        await runCheck(o.checkModel, existsSync(codes) ? codes : null, o, set!, o.checkModel.replace(/\.onnx$/, '.check.json'));
        return;
      }
      const bar = progressBar(!o.json);
      let model = o.model;
      const args: string[] = [];
      if (o.pruneMacs !== undefined) {
        const p = writePrunedModel({ model: o.model, macs: o.pruneMacs, criterion: o.criterion, out: outputPath(o.outDir, name, 'pruned.onnx') });
        console.error(`pruned (${o.criterion}) to ${p.macs.toLocaleString('en-US')} of ${p.macsOf.toLocaleString('en-US')} MACs (${pct(p.macs / p.macsOf)}): ${p.path}`);
        args.push('--teacher', o.model);
        model = p.path;
      }
      const opt = (flag: string, v: unknown) => (v === undefined || v === false ? [] : v === true ? [flag] : [flag, String(v)]);
      args.push(
        '--model', model, '--mode', o.mode, '--wbits', String(o.wbits), '--abits', String(o.abits), '--keep-8bit', o.keep8bit, '--scales', o.scales, '--act-init', o.actInit,
        ...opt('--kd', o.kd), ...opt('--kd-alpha', o.kdAlpha), ...opt('--kd-temperature', o.kdTemperature), ...opt('--gradual', o.gradual),
        '--epochs', String(o.epochs), ...opt('--lr', o.lr), '--batch', String(o.batch), '--seed', String(o.seed), '--threads', String(o.threads),
        ...opt('--train-images', o.trainImages), ...opt('--eval-images', o.evalImages), '--dump-codes', String(o.mode === 'qat' ? o.dumpCodes : 0),
        '--out-dir', o.outDir, '--name', name,
      );
      const done = await runTrainer(args, (e) => {
        if (e.event === 'progress' && e['stage'] === 'train') bar.update(`epoch ${e['epoch']}/${e['epochs']}, loss ${Number(e['loss']).toFixed(3)}`, Number(e['step']), Number(e['steps']));
        if (e.event === 'epoch') {
          bar.stop();
          if (!o.json) console.error(`epoch ${e['epoch']}/${e['epochs']}: loss ${e['loss']}, test top-1 ${pct(Number(e['top1']))}, ${e['seconds']} s`);
        }
      });
      bar.stop();
      if (!o.json) console.log(`trained: ${done.onnx} (trainer's fake-quant top-1 ${pct(done.top1)}), record ${done.record}`);
      if (!o.check || o.mode === 'float') return;
      await runCheck(done.onnx, done.codes, o, set!, outputPath(o.outDir, name, 'check.json'));
    });
}
