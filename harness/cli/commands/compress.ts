/**
 * `fkb compress`: prune and quantize a CNN (the embedded Fashion-MNIST model by default), run the
 * integer model on the WASM kernels, and report what it costs and what it gains.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import Table from 'cli-table3';
import { type CompressResult, ORDERS, compressModel, loadModel } from '../../pipelines/compress.ts';
import { CRITERIA, type Criterion } from '../../prune/criteria.ts';
import { CALIBRATION_IMAGES, OBSERVERS, type Observer } from '../../quant/calibrate.ts';
import { allocateBits } from '../../pipelines/mixed-precision.ts';
import { InputError } from '../../util/errors.ts';
import { exportIntGraphOnnx } from '../../quant/onnx-export.ts';
import { assertWritable, writeFileAtomically, writeJsonAtomically } from '../../util/files.ts';
import { ensureBuilt } from '../../wasm/build.ts';
import { collect, numberIn, parseLayerBits, parseLayerValues } from '../options.ts';
import { parseSettings } from '../../fpga/network.ts';
import { type Keep8, parseKeep8 } from '../../quant/bit-widths.ts';
import { DEFAULT_CODE_MODE } from '../../conv/layer.ts';
import { compressionResults } from '../../pipelines/compression-points.ts';
import { compressionTable, trainedTable } from '../compression-table.ts';

const pct = (x: number) => `${(100 * x).toFixed(2)} %`;

export function formatCompress(r: CompressResult): string {
  const o = r.options;
  const lines = [
    `${r.model}: ${o.ratio > 0 || o.macsTarget > 0 ? `pruned ${o.criterion} ${o.macsTarget > 0 ? `to ${o.macsTarget} of the MACs` : `ratio ${o.ratio}`} (round to ${o.roundTo}${o.reconstruct ? ', reconstructed' : ''}), ` : ''}` +
      `${o.bits}-bit weights${Object.keys(o.layerBits).length ? ' (per-layer overrides)' : ''}, ${o.activationBits}-bit activations` +
      `${o.keep8.length ? ` (${o.keep8.join(' and ')} layer 8-bit)` : ''}, ${o.calibration} calibration, order ${o.order}; ` +
      `top-1 on ${r.images} held-out images`,
    `images (test-set indices): calibration ${r.imageSets.calibration}; measured ${r.imageSets.measured}` +
      (r.imageSets.excluded === 'none' ? '' : `; never measured (the search split that chose the bits) ${r.imageSets.excluded}`),
  ];
  const t = new Table({ head: ['', 'top-1', 'size (bits)', 'MACs'], style: { head: [], border: [] } });
  t.push(['float', pct(r.float.top1), r.float.sizeBits.toLocaleString('en-US'), r.float.macs.toLocaleString('en-US')]);
  if (o.ratio > 0 || o.macsTarget > 0) t.push(['pruned float', pct(r.pruned.top1), '', r.pruned.macs.toLocaleString('en-US')]);
  for (const [backend, top1] of Object.entries(r.compressed.top1)) {
    t.push([`integer, ${backend} kernels`, `${pct(top1)} (SQNR ${r.compressed.sqnrDb[backend as keyof typeof r.compressed.sqnrDb]!.toFixed(1)} dB)`, r.compressed.sizeBits.toLocaleString('en-US'), r.compressed.macs.toLocaleString('en-US')]);
  }
  lines.push(t.toString());
  const l = new Table({ head: ['layer', 'W/A bits', 'channels kept', 'DSP packing (why)', 'packed-DSP outputs differing'], style: { head: [], border: [] } });
  for (const x of r.layers) l.push([x.name, `${x.weightBits}/${x.activationBits}`, `${x.outC} of ${x.keptOf}`, x.why, `${x.dspDiffering} of ${x.dspOutputs}`]);
  lines.push(l.toString());
  if (r.fpga) {
    lines.push(
      `FPGA: ${r.fpga.model} ${['L', 'Po', 'Pp'].map((k) => `${k}=${String(r.fpga!.params[k])}`).join(' ')} (${r.fpga.dsp} DSPs) on ${r.fpga.device} at ${r.fpga.clockMHz} MHz: ${r.fpga.cycles.toLocaleString('en-US')} cycles = ` +
        `${r.fpga.timeUs.toFixed(1)} us per image, ${Math.round(r.fpga.framesPerSecond).toLocaleString('en-US')} images/s`,
    );
  }
  return lines.join('\n');
}

export function registerCompressCommand(program: Command): void {
  program
    .command('compress')
    .description('prune and quantize a CNN, run it on the integer WASM kernels, report accuracy, size, MACs, DSP exactness and FPGA cycles')
    .option('--model <file.onnx>', 'an ONNX CNN with 28x28x1 input (default: the embedded Fashion-MNIST model)')
    .option('--bits <n>', 'weight bits of every convolution', numberIn('--bits', 2, 8, true), 8)
    .option('--abits <n>', 'activation bits of every tensor the convolutions read (graph input and logits stay 8-bit); unsigned after ReLU', numberIn('--abits', 2, 8, true), 8)
    .option('--keep-8bit <ends>', "keep these ends at 8-bit weights and inputs: first (the first convolution), last (the classifier), first,last or none", (v: string) => parseKeep8(v), [] as Keep8[])
    .option('--layer-bits <name=bits>', 'weight bits of one layer (repeatable)', collect, [] as string[])
    .option('--layer-abits <name=bits>', "bits of one convolution's input codes (repeatable; overrides --abits and --keep-8bit for that tensor)", collect, [] as string[])
    .option('--size-budget <fraction>', 'mixed precision: choose each layer\'s bits (sensitivity per bit saved) to fit this fraction of the int8 size', numberIn('--size-budget', 0.01, 1, false))
    .addOption(new Option('--criterion <name>', 'channel importance').choices(CRITERIA as unknown as string[]).default('l1'))
    .option('--ratio <r>', 'fraction of each dependency group\'s channels to prune, [0, 1)', numberIn('--ratio', 0, 0.999999, false), 0)
    .option('--layer-ratio <name=r>', 'instead of --ratio: fraction of one dense convolution\'s channels to prune, [0, 0.99] (repeatable; unnamed layers are not pruned)', collect, [] as string[])
    .option('--macs <fraction>', 'instead of --ratio: keep this fraction of the MACs, channels ranked across layers', numberIn('--macs', 0.01, 1, false))
    .option('--round-to <n>', 'kept channel counts rounded to a multiple of n (e.g. the cascade length)', numberIn('--round-to', 1, 1024, true), 1)
    .option('--reconstruct', 'least-squares reconstruction of the layers after pruned ones')
    .addOption(new Option('--calibration <observer>', 'activation range observer').choices(OBSERVERS as unknown as string[]).default('minmax'))
    .addOption(new Option('--order <order>', 'which comes first').choices(ORDERS as unknown as string[]).default('prune-quantize'))
    .option('--images <n>', 'held-out evaluation images (after the 200 calibration images; up to 9800 with --full-test-set)', numberIn('--images', 1, 9800, true), 1800)
    .option('--full-test-set', "evaluate on Debian's dataset-fashion-mnist test set (10,000 images) instead of the committed 2,000")
    .option('--check-reference', 'also run the integer model on the TypeScript reference kernels (slow) and show they agree')
    .option('--out <file.json>', 'write the compressed integer model (weights, biases, quantizers) as JSON')
    .option('--onnx <file.onnx>', "also write the integer model as int8 ONNX (QLinearConv; requantization switches to onnxruntime's fp32 arithmetic, so onnxruntime reproduces its codes)")
    .option('--pareto', 'instead of one setting: float, int8, pruned, mixed, W4A8, W4A4 and W2A2 on the same images, with FPGA cycles and the Pareto front of accuracy against cycles, size and MACs')
    .option('--engine <key=value>', "FPGA engine (a) parameter for the cycle estimate, e.g. L=16, Po=8, Pp=1 (repeatable; see fkb model --arch a)", collect, [] as string[])
    .option('--device <name>', 'FPGA device of the cycle estimate (see fkb model --list-devices)', 'zcu104')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  fkb compress\n  fkb compress --ratio 0.3 --reconstruct --round-to 1\n  fkb compress --bits 4 --calibration mse\n' +
        '  fkb compress --macs 0.5 --reconstruct --round-to 4\n' +
        '  fkb compress --size-budget 0.6\n' +
        '  fkb compress --layer-ratio /conv3/Conv=0.5 --layer-bits /conv2/Conv=4 --layer-abits /conv3/Conv=4 --engine L=8 --engine Po=16 --engine Pp=2\n' +
        '  fkb compress --ratio 0.3 --onnx /tmp/model-int8.onnx\n' +
        '  fkb compress --ratio 0.3 --order quantize-prune --out /tmp/model.json --json\n',
    )
    .action((o: { layerAbits: string[]; layerRatio: string[]; engine: string[]; device: string; sizeBudget?: number; fullTestSet?: boolean; macs?: number; checkReference?: boolean; model?: string; bits: number; abits: number; keep8bit: Keep8[]; layerBits: string[]; criterion: Criterion; ratio: number; roundTo: number; reconstruct?: boolean; calibration: Observer; order: (typeof ORDERS)[number]; images: number; out?: string; onnx?: string; json?: boolean; pareto?: boolean }, command: Command) => {
      // Outputs are checked before the work, not reported as unwritable after it.
      for (const f of [o.out, o.onnx]) if (f) assertWritable(f);
      ensureBuilt();
      if (o.pareto) {
        const others = ['bits', 'abits', 'keep8bit', 'layerBits', 'layerAbits', 'layerRatio', 'engine', 'device', 'sizeBudget', 'ratio', 'macs', 'out', 'onnx', 'checkReference'].filter((k) => command.getOptionValueSource(k) === 'cli');
        if (others.length) throw new InputError(`--pareto runs its own settings; drop ${others.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`).replace('keep8bit', 'keep-8bit')}`).join(', ')}`);
        const model = loadModel(o.model, Boolean(o.fullTestSet));
        const images = command.getOptionValueSource('images') === 'cli' ? o.images : model.set.count - CALIBRATION_IMAGES;
        const c = compressionResults({ model, images, requantMode: DEFAULT_CODE_MODE });
        const trained = c.trained?.length ? `\n\ntrained models (committed; their records and checks):\n${trainedTable(c.trained)}` : '';
        console.log(o.json ? JSON.stringify(c, null, 2) : `${c.network}, ${c.metric} on ${c.dataset} (${images} images)\n${compressionTable(c.points)}${trained}`);
        return;
      }
      let layerBits = parseLayerBits(o.layerBits);
      let excludeImages: number[] = [];
      const imagesGiven = command.getOptionValueSource('images') === 'cli';
      if (o.sizeBudget !== undefined) {
        if (o.layerBits.length) throw new InputError('give either --layer-bits or --size-budget, not both');
        const int8Bits = compressModel({ ...(o.model ? { model: o.model } : {}), images: 1, backends: ['wasm'] }).compressed.sizeBits;
        // The sensitivity is measured in the arithmetic the final model uses (fp32 with --onnx).
        const a = allocateBits({
          ...(o.model ? { model: o.model } : {}), budget: { sizeBits: Math.floor(o.sizeBudget * int8Bits) }, measureImages: 0,
          calibration: o.calibration, ...(o.onnx ? { requantMode: 'fp32' as const } : {}),
        });
        layerBits = a.layerBits;
        // The bits were chosen on the search split: never measure on it. Its indices are the same
        // images in the full test set (the committed set is its first 2,000).
        const { first, last } = a.table.search;
        excludeImages = Array.from({ length: last - first + 1 }, (_, i) => first + i);

        if (!o.json) console.log(`mixed precision for ${(100 * o.sizeBudget).toFixed(0)} % of the int8 size: ${Object.entries(layerBits).map(([k, v]) => `${k}=${v}`).join(', ')}`);
      }
      const layerRatio = parseLayerValues(o.layerRatio, '--layer-ratio', 'ratio', 0, 0.99, false);
      if (o.layerRatio.length && (command.getOptionValueSource('ratio') === 'cli' || o.macs !== undefined)) throw new InputError('give one of --ratio, --layer-ratio and --macs');
      const r = compressModel({
        ...(o.model ? { model: o.model } : {}),
        bits: o.bits,
        layerRatio,
        layerActivationBits: parseLayerBits(o.layerAbits, '--layer-abits'),
        fpga: { device: o.device, params: parseSettings(o.engine.map((e) => (/^\s*[A-Za-z_]\w*\s*=\s*\S/.test(e) ? e : (() => { throw new InputError(`--engine expects key=value (e.g. Po=16), got '${e}'`); })()))) },
        activationBits: o.abits,
        keep8: o.keep8bit,
        layerBits,
        criterion: o.criterion,
        ratio: o.ratio,
        ...(o.macs !== undefined ? { macsTarget: o.macs } : {}),
        roundTo: o.roundTo,
        reconstruct: Boolean(o.reconstruct),
        calibration: o.calibration,
        order: o.order,
        // Not given: the default count, or fewer when the search split leaves fewer held out.
        ...(imagesGiven ? { images: o.images } : {}),
        excludeImages,
        fullTestSet: Boolean(o.fullTestSet),
        backends: o.checkReference ? ['reference', 'wasm', 'dsp'] : ['wasm', 'dsp'],
        ...(o.onnx ? { requantMode: 'fp32' as const } : {}),
      });
      const { intGraph, fpgaLayers: _layers, ...summary } = r;
      // Export first: an unexportable graph (e.g. average pooling) fails before anything is written.
      const onnxBytes = o.onnx ? exportIntGraphOnnx(intGraph) : undefined;
      if (o.out) writeJsonAtomically(o.out, { format: 'fkb-int-graph/1', summary, graph: intGraph });
      if (o.onnx) writeFileAtomically(o.onnx, onnxBytes!);
      const wrote = [o.out, o.onnx].filter(Boolean).map((f) => `\nwrote ${f}`).join('');
      console.log(o.json ? JSON.stringify(summary, null, 2) : `${formatCompress(r)}${wrote}`);
    });
}
