/**
 * `fkb quantize`: quantize an imported CNN that has no labels to count (BlazeFace by default),
 * run it on the integer WASM kernels and report how far each output is from float.
 */
import { basename } from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import Table from 'cli-table3';
import { BLAZEFACE_CALIBRATION_IMAGES, BLAZEFACE_INPUTS, BLAZEFACE_MODEL, BLAZEFACE_RANGE, readUint8Images } from '../../model/image-inputs.ts';
import { importOnnxFile } from '../../model/onnx-import.ts';
import { CRITERIA, type Criterion } from '../../prune/criteria.ts';
import { pruneGraph } from '../../prune/prune.ts';
import { fpgaEstimate, graphLayers } from '../../fpga/graph-layers.ts';
import { BLAZEFACE_MIN_SCORE, BLAZEFACE_SCORES, logit } from '../../pipelines/blazeface.ts';
import { OBSERVERS, type Observer } from '../../quant/calibrate.ts';
import { type FidelityReport, measureFidelity } from '../../quant/fidelity.ts';
import { BACKENDS, type Backend } from '../../quant/int-graph.ts';
import { InputError } from '../../util/errors.ts';
import { assertWritable, writeFileAtomically, writeJsonAtomically } from '../../util/files.ts';
import { exportIntGraphOnnx } from '../../quant/onnx-export.ts';
import { ensureBuilt } from '../../wasm/build.ts';
import { collect, numberIn, parseLayerBits } from '../options.ts';

const WEAKEST_TENSORS = 5;

function parseRange(v: string): [number, number] {
  const parts = v.split(',').map(Number);
  if (parts.length !== 2 || !parts.every(Number.isFinite) || !(parts[0]! < parts[1]!)) throw new InputError(`--input-range takes lo,hi with lo < hi, got '${v}'`);
  return [parts[0]!, parts[1]!];
}

function parseBackends(v: string): Backend[] {
  const list = v.split(',');
  for (const b of list) if (!(BACKENDS as readonly string[]).includes(b)) throw new InputError(`--backends takes a comma-separated list of ${BACKENDS.join(', ')}, got '${b}'`);
  return list as Backend[];
}

const db = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(2)} dB` : 'exact');

export function formatFidelity(r: FidelityReport, backends: readonly Backend[]): string {
  const lines = [
    `${r.model}: int8 activations (${r.observer} calibration on ${r.calibrationInputs} inputs), ` +
      `${r.macs.toLocaleString('en-US')} MACs; measured on ${r.measuredInputs} other inputs`,
  ];
  const pruned = r.outputs.some((o) => o.floatSqnrDb !== undefined);
  const t = new Table({
    head: ['output', 'values', ...(pruned ? ['SQNR pruned float'] : []), ...backends.map((b) => `SQNR ${b}`), 'max |float - int|', 'same argmax'],
    style: { head: [], border: [] },
  });
  for (const o of r.outputs) {
    const first = o.byBackend[backends[0]!]!;
    t.push([o.name, o.values, ...(pruned ? [db(o.floatSqnrDb!)] : []), ...backends.map((b) => db(o.byBackend[b]!.sqnrDb)), first.maxAbsError.toPrecision(3), `${first.argmaxAgree} of ${r.measuredInputs}`]);
  }
  lines.push(t.toString());
  if (r.scores) {
    const s = r.scores;
    lines.push(`detection (${s.outputs.join(' + ')}, score > ${(1 / (1 + Math.exp(-s.threshold))).toFixed(2)}): float positive on ${s.floatPositives} of ${r.measuredInputs} inputs`);
    for (const b of backends) {
      const x = s.byBackend[b]!;
      lines.push(`  ${b}: same best anchor on ${x.bestAgree} of ${r.measuredInputs}, same decision on ${x.decisionAgree} of ${r.measuredInputs} (${x.positives} positive)`);
    }
  }
  const weakest = [...r.tensors].sort((a, b) => a.sqnrDb - b.sqnrDb).slice(0, WEAKEST_TENSORS);
  lines.push(`weakest tensors (SQNR against the float model quantized, ${backends.includes('reference') ? 'reference' : backends[0]} kernels): ${weakest.map((w) => `${w.name} ${db(w.sqnrDb)}`).join(', ')}`);
  const others = backends.filter((b) => b !== r.comparedWith);
  if (others.length) lines.push(`output codes differing from the ${r.comparedWith} kernels: ${others.map((b) => `${b} ${r.differingFromReference[b]} of ${r.outputCodes}`).join(', ')}`);
  lines.push(`time per input: ${backends.map((b) => `${b} ${r.msPerInput[b]!.toFixed(0)} ms`).join(', ')}`);
  return lines.join('\n');
}

export function registerQuantizeCommand(program: Command): void {
  program
    .command('quantize')
    .description('quantize (and optionally prune) an imported CNN (default: BlazeFace), run it on the integer WASM kernels, report SQNR per output against float')
    .option('--model <file.onnx>', 'an ONNX CNN (default: the embedded BlazeFace face detector)')
    .option('--inputs <file>', 'input images: uint8, NHWC, the model\'s input size each, one after the other (default for BlazeFace: 16 embedded photos)')
    .option('--input-range <lo,hi>', 'real values that bytes 0 and 255 map to', parseRange)
    .option('--calibration-inputs <n>', 'the first n inputs calibrate, the rest are measured (default: half)', numberIn('--calibration-inputs', 1, 1e6, true))
    .option('--ratio <r>', 'first prune this fraction of each dependency group\'s channels, [0, 1) (bias compensation on the calibration inputs)', numberIn('--ratio', 0, 0.999999, false), 0)
    .addOption(new Option('--criterion <name>', 'channel importance for --ratio').choices(CRITERIA as unknown as string[]).default('l1'))
    .option('--round-to <n>', 'kept channel counts rounded to a multiple of n', numberIn('--round-to', 1, 1024, true), 1)
    .option('--reconstruct', 'least-squares reconstruction of the layers after pruned ones (on the calibration inputs)')
    .option('--bits <n>', 'weight bits of every convolution', numberIn('--bits', 2, 8, true), 8)
    .option('--layer-bits <name=bits>', 'weight bits of one layer (repeatable)', collect, [] as string[])
    .addOption(new Option('--calibration <observer>', 'activation range observer').choices(OBSERVERS as unknown as string[]).default('minmax'))
    .option('--backends <list>', `integer backends to run, of ${BACKENDS.join(', ')} ('reference' is the slow TypeScript oracle)`, parseBackends, ['wasm', 'dsp'] as Backend[])
    .option('--scores <names>', 'outputs holding detection logits, compared as one vector (default for BlazeFace: Identity:0,Identity_1:0)')
    .option('--min-score <p>', 'detection threshold as a probability: an input is positive when sigmoid(some score logit) > p', numberIn('--min-score', 0.000001, 0.999999, false), BLAZEFACE_MIN_SCORE)
    .option('--out <file.json>', 'write the report as JSON')
    .option('--onnx <file.onnx>', "also write the integer model as int8 ONNX (QLinearConv; requantization switches to onnxruntime's fp32 arithmetic)")
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  fkb quantize\n  fkb quantize --calibration percentile --backends reference,wasm,dsp\n' +
        '  fkb quantize --onnx /tmp/blazeface-int8.onnx\n' +
        '  fkb quantize --ratio 0.125 --round-to 8 --reconstruct\n' +
        '  fkb quantize --model my.onnx --inputs images.u8 --input-range 0,1 --calibration-inputs 32 --json\n',
    )
    .action((o: { model?: string; inputs?: string; inputRange?: [number, number]; calibrationInputs?: number; bits: number; layerBits: string[]; calibration: Observer; backends: Backend[]; scores?: string; minScore: number; ratio: number; criterion: Criterion; roundTo: number; reconstruct?: boolean; out?: string; onnx?: string; json?: boolean }) => {
      if (o.model && !o.inputs) throw new InputError('--inputs is needed with --model: the embedded images are for BlazeFace');
      // Outputs are checked before the work, not reported as unwritable after it.
      for (const f of [o.out, o.onnx]) if (f) assertWritable(f);
      ensureBuilt();
      const blazeface = !o.model;
      const file = o.model ?? BLAZEFACE_MODEL;
      const graph = { ...importOnnxFile(file), name: basename(file) };
      const inputs = readUint8Images(o.inputs ?? BLAZEFACE_INPUTS, graph.input.shape, o.inputRange ?? (blazeface ? BLAZEFACE_RANGE : [0, 1]));
      const calibrationCount = o.calibrationInputs ?? (blazeface && !o.inputs ? BLAZEFACE_CALIBRATION_IMAGES : Math.floor(inputs.length / 2));
      if (calibrationCount < 1 || calibrationCount >= inputs.length) {
        throw new InputError(`--calibration-inputs must leave at least one of the ${inputs.length} inputs to measure and take at least one, got ${calibrationCount}`);
      }
      const scoreOutputs = o.scores ? o.scores.split(',') : blazeface ? BLAZEFACE_SCORES : [];
      const calibrationInputs = inputs.slice(0, calibrationCount);
      const pruned = o.ratio > 0 ? pruneGraph(graph, { criterion: o.criterion, ratio: o.ratio, roundTo: o.roundTo, calibration: calibrationInputs, reconstruct: Boolean(o.reconstruct) }) : undefined;
      const model = pruned ? { ...pruned.graph, name: graph.name } : graph;
      const layerBits = parseLayerBits(o.layerBits);
      const convNames = new Set(model.nodes.filter((n) => n.op === 'conv').map((n) => n.name));
      const unknown = Object.keys(layerBits).filter((n) => !convNames.has(n));
      if (unknown.length) throw new InputError(`--layer-bits names no convolution of the model: ${unknown.join(', ')}`);
      const weightBits: Record<string, number> = { ...Object.fromEntries([...convNames].map((n) => [n, o.bits])), ...layerBits };
      const r = measureFidelity(model, calibrationInputs, inputs.slice(calibrationCount), {
        ...(pruned ? { reference: graph } : {}),
        calibration: { observer: o.calibration },
        intGraph: {
          weightBits,
          ...(o.onnx ? { requantMode: 'fp32' as const } : {}),
        },
        backends: o.backends,
        scoreOutputs,
        scoreThreshold: logit(o.minScore),
      });
      const { intGraph, ...fidelity } = r;
      const fpga = fpgaEstimate(graphLayers(model, (name) => ({ wBits: weightBits[name]!, aBits: 8 })));
      const summary = {
        ...fidelity,
        fpga,
        ...(pruned ? { pruning: { criterion: o.criterion, ratio: o.ratio, roundTo: o.roundTo, reconstruct: Boolean(o.reconstruct), macsBefore: pruned.macsBefore, macsAfter: pruned.macsAfter } } : {}),
      };
      // Export first: an unexportable graph fails before anything is written.
      const onnxBytes = o.onnx ? exportIntGraphOnnx(intGraph) : undefined;
      if (o.out) writeJsonAtomically(o.out, { format: 'fkb-fidelity/1', ...summary });
      if (o.onnx) writeFileAtomically(o.onnx, onnxBytes!);
      const wrote = [o.out, o.onnx].filter(Boolean).map((f) => `\nwrote ${f}`).join('');
      const pruneLine = pruned
        ? `pruned ${o.criterion} ratio ${o.ratio} (round to ${o.roundTo}${o.reconstruct ? ', reconstructed' : ''}): ` +
          `${pruned.macsAfter.toLocaleString('en-US')} of ${pruned.macsBefore.toLocaleString('en-US')} MACs (${((100 * pruned.macsAfter) / pruned.macsBefore).toFixed(1)} %); SQNR columns compare with the unpruned float model\n`
        : '';
      const fpgaLine =
        `\nFPGA: ${fpga.model} on ${fpga.device} at ${fpga.clockMHz} MHz: ${fpga.cycles.toLocaleString('en-US')} cycles = ` +
        `${fpga.timeUs.toFixed(1)} us per input, ${Math.round(fpga.framesPerSecond).toLocaleString('en-US')} inputs/s`;
      console.log(o.json ? JSON.stringify(summary, null, 2) : `${pruneLine}${formatFidelity(r, o.backends)}${fpgaLine}${wrote}`);
    });
}
