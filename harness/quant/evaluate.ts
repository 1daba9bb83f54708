/**
 * How much a quantized model loses: top-1 on evaluation images for the float graph and for the
 * integer graph on each backend, SQNR of the final (dequantized) outputs against float, model
 * size in bits and MACs.
 *
 * Images: calibration takes images 0 .. CALIBRATION_IMAGES-1 (calibrate.ts); `measureIndices`
 * gives the measured ones, from CALIBRATION_IMAGES on, so no measured image was calibrated on.
 *
 * SQNR = 10 log10( sum f^2 / sum (f - q)^2 ) over every output value of every measured image,
 * f the float graph's output and q = scale * (code - zeroPoint) the integer graph's.
 */
import type { EvalSet } from '../model/fashion-mnist.ts';
import { evalInput } from '../model/fashion-mnist.ts';
import { argmax, runGraph } from '../model/float-infer.ts';
import { type Graph, graphMacs, inferShapes } from '../model/graph.ts';
import { InputError } from '../util/errors.ts';
import { CALIBRATION_IMAGES, type CalibrationOptions, calibrate, dequantizeValue, quantizeTensor } from './calibrate.ts';
import { type Backend, type IntGraph, type IntGraphOptions, buildIntGraph, calibratedTensors, intGraphMacs, runIntGraph } from './int-graph.ts';

/**
 * The first `count` images from CALIBRATION_IMAGES on that are not in `exclude` (e.g. a search
 * split), clipped to the set.
 */
export function measureIndices(set: EvalSet, count = set.count - CALIBRATION_IMAGES, exclude: ReadonlySet<number> = new Set()): number[] {
  const out: number[] = [];
  for (let i = CALIBRATION_IMAGES; i < set.count && out.length < count; i++) if (!exclude.has(i)) out.push(i);
  return out;
}

/** "200..1599, 2000..2199": sorted indices as inclusive ranges. */
export function describeIndices(indices: readonly number[]): string {
  const sorted = [...indices].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    ranges.push(i === j ? `${sorted[i]}` : `${sorted[i]}..${sorted[j]}`);
    i = j + 1;
  }
  return ranges.join(', ') || 'none';
}

/** Indices 0 .. count - 1: the calibration images. */
export function calibrationIndices(set: EvalSet, count = CALIBRATION_IMAGES): number[] {
  return Array.from({ length: Math.min(count, set.count) }, (_, i) => i);
}

/** Calibrates on `indices` of the set and builds the integer graph. */
export function quantizeModel(graph: Graph, set: EvalSet, indices: readonly number[], calibration: CalibrationOptions = {}, options: IntGraphOptions = {}): IntGraph {
  const cal = calibrate(graph, indices.map((i) => evalInput(set, i)), calibration, calibratedTensors(graph));
  return buildIntGraph(graph, cal, options);
}

export interface FloatResult {
  images: number;
  correct: number;
  top1: number;
  /** First output of every image. */
  outputs: Float32Array[];
}

export function evaluateFloat(graph: Graph, set: EvalSet, indices: readonly number[]): FloatResult {
  const shapes = inferShapes(graph);
  const name = graph.outputs[0]!.name;
  let correct = 0;
  const outputs = indices.map((i) => {
    const y = runGraph(graph, evalInput(set, i), {}, shapes).get(name)!;
    if (argmax(y) === set.labels[i]) correct++;
    return y;
  });
  return { images: indices.length, correct, top1: indices.length ? correct / indices.length : 0, outputs };
}

export interface IntResult {
  backend: Backend;
  images: number;
  correct: number;
  top1: number;
  /** Output codes of every image. */
  codes: Int8Array[];
  /** The same, dequantized. */
  outputs: Float64Array[];
}

/** The input image quantized with the graph's input quantizer. */
export function quantizeInput(g: IntGraph, set: EvalSet, i: number): Int8Array {
  return quantizeTensor(evalInput(set, i), g.input.params);
}

export function evaluateInt(g: IntGraph, set: EvalSet, indices: readonly number[], backend: Backend): IntResult {
  const p = g.outputs[0]!.params;
  let correct = 0;
  const codes: Int8Array[] = [];
  const outputs = indices.map((i) => {
    const q = runIntGraph(g, quantizeInput(g, set, i), backend);
    codes.push(q);
    const y = Float64Array.from(q, (c) => dequantizeValue(c, p));
    if (argmax(y) === set.labels[i]) correct++;
    return y;
  });
  return { backend, images: indices.length, correct, top1: indices.length ? correct / indices.length : 0, codes, outputs };
}

/** 10 log10(signal energy / error energy) in dB over all values; Infinity when equal. */
export function sqnrDb(reference: readonly ArrayLike<number>[], test: readonly ArrayLike<number>[]): number {
  if (reference.length !== test.length) throw new InputError(`SQNR needs as many outputs on both sides, got ${reference.length} and ${test.length}`);
  let signal = 0;
  let noise = 0;
  reference.forEach((r, k) => {
    const t = test[k]!;
    if (r.length !== t.length) throw new InputError(`SQNR: output ${k} has ${r.length} vs ${t.length} values`);
    for (let i = 0; i < r.length; i++) {
      signal += r[i]! ** 2;
      noise += (r[i]! - t[i]!) ** 2;
    }
  });
  return noise === 0 ? Infinity : 10 * Math.log10(signal / noise);
}

export interface ModelSize {
  weights: number;
  biases: number;
  /** Weights at their bit widths plus 32-bit biases. */
  bits: number;
}

/** The float graph's convolution parameters at 32 bits each. */
export function floatModelSize(graph: Graph): ModelSize {
  let weights = 0;
  let biases = 0;
  for (const n of graph.nodes) {
    if (n.op !== 'conv') continue;
    weights += n.weights.length;
    biases += n.bias.length;
  }
  return { weights, biases, bits: 32 * (weights + biases) };
}

/** Weights at their bit widths (per layer) plus 32-bit biases. */
export function intModelSize(g: IntGraph): ModelSize {
  let weights = 0;
  let biases = 0;
  let bits = 0;
  for (const n of g.nodes) {
    if (n.op !== 'conv') continue;
    weights += n.problem.weights.length;
    biases += n.problem.bias.length;
    bits += n.weightBits * n.problem.weights.length + 32 * n.problem.bias.length;
  }
  return { weights, biases, bits };
}

export interface QuantReport {
  images: number;
  float: { correct: number; top1: number };
  int: Array<{ backend: Backend; correct: number; top1: number; sqnrDb: number; outputsDifferingFromReference: number }>;
  floatSize: ModelSize;
  intSize: ModelSize;
  macs: number;
}

/** Float and integer top-1, SQNR, sizes and MACs on `indices` for each backend listed. */
/** `float`: the same graph already evaluated on the same images, when the caller has it. */
export function evaluateQuantized(
  graph: Graph, g: IntGraph, set: EvalSet, indices: readonly number[], backends: readonly Backend[] = ['reference', 'wasm', 'dsp'], float?: FloatResult,
): QuantReport {
  const f = float ?? evaluateFloat(graph, set, indices);
  const results = backends.map((b) => evaluateInt(g, set, indices, b));
  const ref = results.find((r) => r.backend === 'reference') ?? results[0];
  const macs = graphMacs(graph);
  if (macs !== intGraphMacs(g)) throw new Error(`MACs differ: float graph ${macs}, integer graph ${intGraphMacs(g)}`);
  return {
    images: indices.length,
    float: { correct: f.correct, top1: f.top1 },
    int: results.map((r) => ({
      backend: r.backend, correct: r.correct, top1: r.top1, sqnrDb: sqnrDb(f.outputs, r.outputs),
      outputsDifferingFromReference: ref ? r.codes.reduce((n, c, k) => n + c.reduce((m, v, i) => m + (v !== ref.codes[k]![i] ? 1 : 0), 0), 0) : 0,
    })),
    floatSize: floatModelSize(graph),
    intSize: intModelSize(g),
    macs,
  };
}
