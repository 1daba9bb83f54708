/**
 * A model trained by tools/train/qat.py (QDQ ONNX), checked and measured the way the issue asks:
 *
 *  - vs the trainer: the integer graph (imported with the model's own scales, 'fp32'
 *    requantization) run node by node on the trainer's dumped codes (`<name>.codes.bin`, the
 *    fake-quant forward that gave the trainer's accuracy): every node gets the trainer's codes of
 *    its inputs, so a difference is local to the node and does not propagate. A differing output
 *    counts as a rounding tie when the exact real value before rounding lies within TIE_DISTANCE
 *    code units of a rounding boundary (x.5): float32 arithmetic may round it either way; any
 *    other difference is unexplained and fails the check.
 *  - vs onnxruntime-web: the same QDQ model run by ORT on the float images; its logits, a
 *    DequantizeLinear of int8 codes, give those codes back exactly (round((q - zp) * s / s) = q - zp).
 *  - on the kernels: top-1 of the integer graph on the WASM split-convolution kernels on the
 *    test images, and every convolution's output on the packed-DSP kernels (each layer on its
 *    packing plan) against the exact kernels.
 *  - on the FPGA: cycles of engine (a) with each layer's widths and packing plan, size, MACs.
 */
import * as ort from 'onnxruntime-web';
import { foldBatchNorm } from '../model/fold.ts';
import { type EvalSet, evalInput } from '../model/fashion-mnist.ts';
import { argmax } from '../model/float-infer.ts';
import { nchwToNhwc, shapeSize } from '../model/graph.ts';
import { type QuantizedOnnxImport, importQuantizedOnnx, quantizeInput } from '../qonnx/onnx-quant.ts';
import { type IntGraph, intGraphMacs, packedDifferences, packingPlan, runIntGraph, runIntGraphTensors } from '../quant/int-graph.ts';
import { planWidths } from '../quant/packing-plan.ts';
import { groupRunner } from '../quant/int-graph-backends.ts';
import { runConv, runOther } from '../quant/int-graph-ops.ts';
import { intModelSize } from '../quant/evaluate.ts';
import { referenceConv } from '../reference/conv.ts';
import { fpgaEstimate, graphLayers } from '../fpga/graph-layers.ts';
import { InputError } from '../util/errors.ts';
import { readInputFile } from '../util/input-files.ts';

/** A difference this close (in code units) to a rounding boundary is a float rounding tie. */
export const TIE_DISTANCE = 1e-3;

export interface CodesTensor {
  name: string;
  /** Per image, NCHW ([C, H, W]) or [C]. */
  shape: number[];
  bits: number;
  scale: number;
  zeroPoint: number;
  /** Image i's codes. */
  codes(i: number): Int8Array;
}

export interface CodesFile {
  images: number;
  labels: Uint8Array;
  tensors: CodesTensor[];
}

/** Reads tools/train's `<name>.codes.bin` (format in tools/train/README.md); InputError naming the file on any defect. */
export function readCodesFile(path: string): CodesFile {
  const data = readInputFile(path, { what: 'codes dump', maxBytes: 2 ** 31 });
  const bad = (why: string): never => {
    throw new InputError(`${path}: not a tools/train codes dump (${why})`);
  };
  if (data.length < 12 || data.subarray(0, 8).toString('latin1') !== 'FKBCODE1') bad("magic 'FKBCODE1' missing");
  const h = data.readUInt32LE(8);
  if (12 + h > data.length) bad(`header of ${h} bytes past the end`);
  let header: { images: number; tensors: Array<{ name: string; shape: number[]; bits: number; scale: number; zeroPoint: number; offset: number; bytes: number }> };
  try {
    header = JSON.parse(data.subarray(12, 12 + h).toString('utf8'));
  } catch (e) {
    return bad(`header is not JSON: ${(e as Error).message}`);
  }
  const body = data.subarray(12 + h);
  const n = header.images;
  if (!Number.isInteger(n) || n < 1 || body.length < n) bad(`image count ${n}`);
  const tensors = header.tensors.map((t) => {
    const per = t.shape.reduce((a, b) => a * b, 1);
    if (t.bytes !== per * n || t.offset + t.bytes > body.length) bad(`tensor '${t.name}': ${t.bytes} bytes at ${t.offset} for ${n} x ${per} codes`);
    return { name: t.name, shape: t.shape, bits: t.bits, scale: t.scale, zeroPoint: t.zeroPoint, codes: (i: number) => new Int8Array(body.buffer, body.byteOffset + t.offset + i * per, per) };
  });
  return { images: n, labels: new Uint8Array(body.buffer, body.byteOffset, n), tensors };
}

export interface TrainerComparison {
  images: number;
  tensors: number;
  codes: number;
  differing: number;
  /** Differences within TIE_DISTANCE of a rounding boundary. */
  ties: number;
  unexplained: number;
  /** The first unexplained difference, for the error message. */
  first?: string;
  /** Logit codes compared, and how many differ (the same count, restricted to the output). */
  outputCodes: number;
  outputDiffering: number;
}

export interface TrainedModelCheck {
  model: string;
  format: string;
  layers: Array<{ name: string; weightBits: number; activationBits: number; scheme: string; chain: number; why: string; dspDiffering: number; dspOutputs: number }>;
  top1: { images: number; imageSet: string; correct: number; top1: number };
  vsTrainer?: TrainerComparison;
  vsOrt?: OrtComparison;
  sizeBits: number;
  macs: number;
  fpgaCycles: number;
}

export interface CheckOptions {
  /** Test images the top-1 is measured on (their indices 0..n-1). */
  set: EvalSet;
  imageSet: string;
  images?: number;
  /** The trainer's codes dump. */
  codes?: string;
  /** Images onnxruntime-web runs. @default 1000 */
  ortImages?: number;
  /** Images the packed-DSP kernels are compared with the exact ones on. @default 50 */
  dspImages?: number;
  onStep?: (label: string, done: number, total: number) => void;
}

function nhwc(codes: Int8Array, shape: number[]): Int8Array {
  if (shape.length !== 3 || shape[1]! * shape[2]! === 1) return codes;
  return Int8Array.from(nchwToNhwc(codes, { c: shape[0]!, h: shape[1]!, w: shape[2]! }));
}

/** Distance in code units from the exact pre-rounding value of output k of `node` to the nearest x.5 boundary, or Infinity when unknown. */
function boundaryDistance(g: IntGraph, node: IntGraph['nodes'][number], inputs: Int8Array[], k: number): number {
  const frac = (r: number) => Math.abs(Math.abs(r - Math.floor(r)) - 0.5);
  if (node.op === 'conv' && node.groups === 1) {
    const p = node.problem;
    const acc = referenceConv({ ...p, input: inputs[0]!, requant: { ...p.requant, mode: 'raw' } }) as Int32Array;
    return frac(acc[k]! * p.requant.scale[k % p.shape.outC]!);
  }
  if (node.op === 'add') {
    const [a, b] = node.inputs.map((t) => g.tensors.get(t)!.params);
    const out = g.tensors.get(node.output)!.params;
    return frac((a!.scale * (inputs[0]![k]! - a!.zeroPoint) + b!.scale * (inputs[1]![k]! - b!.zeroPoint)) / out.scale);
  }
  return Infinity;
}

/** The integer graph node by node on the trainer's codes (see the header). */
export function compareWithTrainer(g: IntGraph, codes: CodesFile, tensorOf: (onnx: string) => string | undefined): TrainerComparison {
  const dumped = new Map<string, { t: CodesTensor; shape: number[] }>();
  for (const t of codes.tensors) {
    const name = tensorOf(t.name);
    if (!name || !g.tensors.has(name)) throw new InputError(`codes dump tensor '${t.name}' is not a tensor of the imported model`);
    const it = g.tensors.get(name)!;
    if (it.params.bits !== t.bits || shapeSize(it.shape) !== t.shape.reduce((a, b) => a * b, 1)) {
      throw new InputError(`codes dump tensor '${t.name}': ${t.bits} bits, shape ${t.shape.join('x')}; the model has ${it.params.bits} bits, ${it.shape.h}x${it.shape.w}x${it.shape.c}`);
    }
    dumped.set(name, { t, shape: t.shape });
  }
  if (!dumped.has(g.input.name)) throw new InputError(`codes dump has no codes of the model input '${g.input.name}'`);
  const run = groupRunner(g, 'wasm');
  const out = g.outputs[0]!.name;
  const r: TrainerComparison = { images: codes.images, tensors: dumped.size, codes: 0, differing: 0, ties: 0, unexplained: 0, outputCodes: 0, outputDiffering: 0 };
  for (let i = 0; i < codes.images; i++) {
    const trainer = (name: string): Int8Array | undefined => {
      const d = dumped.get(name);
      return d && nhwc(d.t.codes(i), d.shape);
    };
    const t = new Map<string, Int8Array>([[g.input.name, trainer(g.input.name)!]]);
    for (const node of g.nodes) {
      const inputs = node.inputs.map((n) => trainer(n) ?? t.get(n)!);
      const y = node.op === 'conv' ? runConv(node, inputs[0]!, run) : runOther(node, inputs, node.inputs.map((n) => g.tensors.get(n)!.shape), g.tensors.get(node.output)!.shape);
      t.set(node.output, y);
      const want = trainer(node.output);
      if (!want) continue;
      r.codes += want.length;
      if (node.output === out) r.outputCodes += want.length;
      for (let k = 0; k < want.length; k++) {
        if (y[k] === want[k]) continue;
        r.differing++;
        if (node.output === out) r.outputDiffering++;
        const d = Math.abs(y[k]! - want[k]!) === 1 ? boundaryDistance(g, node, inputs, k) : Infinity;
        if (d <= TIE_DISTANCE) r.ties++;
        else {
          r.unexplained++;
          const sh = g.tensors.get(node.output)!.shape;
          const at = `NHWC index ${k} (y ${Math.floor(k / (sh.w * sh.c))}, x ${Math.floor(k / sh.c) % sh.w}, c ${k % sh.c})`;
          r.first ??= `image ${i}, node '${node.name}', tensor '${node.output}', ${at}: got ${y[k]}, trainer ${want[k]} (${d === Infinity ? 'not a rounding tie' : `${d.toExponential(2)} codes from a rounding boundary`})`;
        }
      }
    }
  }
  return r;
}

export interface OrtComparison {
  images: number;
  codes: number;
  differing: number;
  /** Differences by one code within TIE_DISTANCE of a rounding boundary of our exact value. */
  ties: number;
  unexplained: number;
}

/**
 * The QDQ model on onnxruntime-web (wasm, one thread) vs the integer graph on the WASM kernels:
 * output codes of `count` images; a difference is a tie as in compareWithTrainer (ORT may run
 * the QDQ model in float between its Q/DQ pairs).
 */
export async function compareWithOrt(onnxPath: string, g: IntGraph, imp: QuantizedOnnxImport, set: EvalSet, count: number): Promise<OrtComparison> {
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  const session = await ort.InferenceSession.create(readInputFile(onnxPath, { what: 'ONNX model', maxBytes: 2 ** 30 }), { executionProviders: ['wasm'] });
  const o = imp.outputs[0]!;
  const inputName = session.inputNames[0]!;
  let codes = 0;
  let differing = 0;
  let ties = 0;
  const producer = g.nodes.find((n) => n.output === g.outputs[0]!.name)!;
  try {
    for (let i = 0; i < count; i++) {
      const x = evalInput(set, i);
      const res = await session.run({ [inputName]: new ort.Tensor('float32', x, [1, 1, set.rows, set.cols]) });
      const y = res[session.outputNames[0]!]!.data as Float32Array;
      const all = runIntGraphTensors(g, quantizeInput(imp, x), 'wasm');
      const ours = all.get(g.outputs[0]!.name)!;
      for (let k = 0; k < y.length; k++) {
        const code = Math.round(y[k]! / o.sourceScale) + o.sourceZeroPoint + o.codeOffset;
        codes++;
        if (code === ours[k]) continue;
        differing++;
        if (Math.abs(code - ours[k]!) === 1 && boundaryDistance(g, producer, producer.inputs.map((t) => all.get(t)!), k) <= TIE_DISTANCE) ties++;
      }
    }
  } finally {
    await session.release();
  }
  return { images: count, codes, differing, ties, unexplained: differing - ties };
}

/** Correct top-1 answers of an imported model on the WASM kernels, over `indices` of the set. */
export function importedCorrect(imp: QuantizedOnnxImport, set: EvalSet, indices: Iterable<number>, onImage?: (i: number) => void): number {
  let correct = 0;
  for (const i of indices) {
    onImage?.(i);
    if (argmax(runIntGraph(imp.intGraph, quantizeInput(imp, evalInput(set, i)), 'wasm')) === set.labels[i]) correct++;
  }
  return correct;
}

/** FPGA cycles of engine (a) for an imported model, each layer on its packing plan. */
export function importedCycles(imp: QuantizedOnnxImport): number {
  return fpgaEstimate(graphLayers(foldBatchNorm(imp.graph).graph, planWidths(packingPlan(imp.intGraph)))).cycles;
}

export async function checkTrainedModel(onnxPath: string, o: CheckOptions): Promise<TrainedModelCheck> {
  const imp = importQuantizedOnnx(onnxPath);
  const g = imp.intGraph;
  const plan = packingPlan(g);
  const images = Math.min(o.images ?? o.set.count, o.set.count);
  const correct = importedCorrect(imp, o.set, Array.from({ length: images }, (_, i) => i), (i) => {
    if (i % 500 === 0) o.onStep?.('top-1 on the WASM kernels', i, images);
  });
  const dspImages = Math.min(o.dspImages ?? 50, images);
  o.onStep?.('packed-DSP vs exact kernels', 0, dspImages);
  const dsp = packedDifferences(g, Array.from({ length: dspImages }, (_, i) => quantizeInput(imp, evalInput(o.set, i))));
  const vsTrainer = o.codes ? compareWithTrainer(g, readCodesFile(o.codes), imp.tensorOf) : undefined;
  const ortImages = Math.min(o.ortImages ?? 1000, images);
  if (ortImages > 0) o.onStep?.('onnxruntime-web', 0, ortImages);
  const vsOrt = ortImages > 0 ? await compareWithOrt(onnxPath, g, imp, o.set, ortImages) : undefined;
  return {
    model: onnxPath,
    format: imp.format,
    layers: [...plan.values()].map((p) => {
      const d = dsp.get(p.layer)!;
      return { name: p.layer, weightBits: p.weightBits, activationBits: p.activationBits, scheme: p.config.scheme, chain: p.config.chain, why: p.why, dspDiffering: d.differing, dspOutputs: d.outputs };
    }),
    top1: { images, imageSet: `${o.imageSet} images 0..${images - 1}`, correct, top1: correct / images },
    ...(vsTrainer ? { vsTrainer } : {}),
    ...(vsOrt ? { vsOrt } : {}),
    sizeBits: intModelSize(g).bits,
    macs: intGraphMacs(g),
    fpgaCycles: importedCycles(imp),
  };
}
