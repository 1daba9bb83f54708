/**
 * How closely a quantized model follows its float original when there are no labels to count
 * (a detector such as BlazeFace, or any imported CNN): calibrate on some inputs, run others
 * through the float graph and the integer graph on each backend, and compare every output.
 *
 * Per graph output and backend, over all measured inputs:
 *   SQNR      10 log10(sum f^2 / sum (f - q)^2), f float, q = scale * (code - zeroPoint);
 *             f is the `reference` model's output when the graph is a pruned version of it;
 *   max |f - q|;
 *   argmax    inputs whose largest output value is at the same index (for a score output, the
 *             same best anchor or class).
 * Per calibrated tensor (the convolution and add outputs, activations fused): the same SQNR
 * against the float graph being quantized, on `comparedWith`, so the layer where the error
 * enters can be found.
 * Codes differing from `comparedWith` ('reference' when it runs, else the first backend): 'wasm'
 * gives 0 against the reference (bit-exact kernels); 'dsp' counts what the packed-DSP arithmetic
 * changes.
 * Detection scores (optional, `scoreOutputs`: outputs of logits, e.g. BlazeFace's two score
 * heads, concatenated per input): inputs whose best anchor is the same as in float, and inputs
 * with the same decision "some logit > `scoreThreshold`" (logit 0 = probability 0.5).
 */
import { argmax, runGraph } from '../model/float-infer.ts';
import { type Graph, graphMacs, inferShapes } from '../model/graph.ts';
import { InputError } from '../util/errors.ts';
import { type CalibrationOptions, type Observer, type QuantParams, calibrate, dequantizeValue, quantizeTensor } from './calibrate.ts';
import { sqnrDb } from './evaluate.ts';
import { type Backend, type IntGraph, type IntGraphOptions, buildIntGraph, calibratedTensors, intGraphMacs, runIntGraphTensors } from './int-graph.ts';
import type { BackendFidelity, OutputFidelity, QuantizeSummary, ScoreAgreement } from '../results/index.ts';

export interface FidelityOptions {
  /**
   * The float model the outputs are compared with, when `graph` is a compressed (pruned) version
   * of it with the same inputs and outputs. @default graph itself
   */
  reference?: Graph;
  calibration?: CalibrationOptions;
  intGraph?: IntGraphOptions;
  /** @default ['reference', 'wasm', 'dsp'] */
  backends?: readonly Backend[];
  /** Outputs holding detection logits, compared as one vector per input. */
  scoreOutputs?: readonly string[];
  /** @default 0 */
  scoreThreshold?: number;
}

/** The summary `fkb quantize --json` prints, plus the integer graph it measured. */
export interface FidelityReport extends QuantizeSummary {
  observer: Observer | 'imported';
  intGraph: IntGraph;
}

function dequantize(codes: Int8Array, p: QuantParams): Float64Array {
  return Float64Array.from(codes, (c) => dequantizeValue(c, p));
}

export function measureFidelity(graph: Graph, calibrationInputs: readonly Float32Array[], measuredInputs: readonly Float32Array[], options: FidelityOptions = {}): FidelityReport {
  if (measuredInputs.length === 0) throw new InputError(`measuring '${graph.name}' needs at least one input that is not a calibration input, got none`);
  const backends = options.backends ?? (['reference', 'wasm', 'dsp'] as const);
  if (backends.length === 0) throw new InputError('at least one backend is needed');
  for (const n of options.scoreOutputs ?? []) {
    if (!graph.outputs.some((o) => o.name === n)) throw new InputError(`score output '${n}' is not an output of '${graph.name}' (outputs: ${graph.outputs.map((o) => o.name).join(', ')})`);
  }
  const calibrated = calibratedTensors(graph);
  const cal = calibrate(graph, calibrationInputs, options.calibration ?? {}, calibrated);
  const g = buildIntGraph(graph, cal, options.intGraph ?? {});
  const shapes = inferShapes(graph);
  const macs = graphMacs(graph);
  if (macs !== intGraphMacs(g)) throw new Error(`MACs differ: float graph ${macs}, integer graph ${intGraphMacs(g)}`);

  // Float side: the graph outputs and every calibrated tensor.
  const floats = measuredInputs.map((x) => runGraph(graph, x, { keepAll: true }, shapes));
  const ints = new Map<Backend, Map<string, Int8Array>[]>();
  const msPerInput: Partial<Record<Backend, number>> = {};
  for (const b of backends) {
    const t0 = performance.now();
    ints.set(b, measuredInputs.map((x) => runIntGraphTensors(g, quantizeTensor(x, g.input.params), b)));
    msPerInput[b] = (performance.now() - t0) / measuredInputs.length;
  }
  const target = options.reference ? measuredInputs.map((x) => runGraph(options.reference!, x)) : floats;
  const outputs: OutputFidelity[] = g.outputs.map((o) => {
    const f = target.map((t) => {
      const v = t.get(o.name);
      if (!v) throw new InputError(`the reference model has no output '${o.name}'`);
      return v;
    });
    const byBackend: Partial<Record<Backend, BackendFidelity>> = {};
    for (const b of backends) {
      const q = ints.get(b)!.map((t) => dequantize(t.get(o.name)!, o.params));
      let maxAbsError = 0;
      let argmaxAgree = 0;
      f.forEach((fv, k) => {
        for (let i = 0; i < fv.length; i++) maxAbsError = Math.max(maxAbsError, Math.abs(fv[i]! - q[k]![i]!));
        if (argmax(fv) === argmax(q[k]!)) argmaxAgree++;
      });
      byBackend[b] = { sqnrDb: sqnrDb(f, q), maxAbsError, argmaxAgree };
    }
    const floatSqnrDb = options.reference ? sqnrDb(f, floats.map((t) => t.get(o.name)!)) : undefined;
    return { name: o.name, values: f[0]!.length, ...(floatSqnrDb !== undefined ? { floatSqnrDb } : {}), byBackend };
  });
  const comparedWith: Backend = ints.has('reference') ? 'reference' : backends[0]!;
  const refRuns = ints.get(comparedWith)!;
  const tensors = calibrated.map((name) => {
    const p = g.tensors.get(name)!.params;
    return { name, sqnrDb: sqnrDb(floats.map((t) => t.get(name)!), refRuns.map((t) => dequantize(t.get(name)!, p))) };
  });
  const differingFromReference: Partial<Record<Backend, number>> = {};
  let outputCodes = 0;
  for (const b of backends) {
    let n = 0;
    outputCodes = 0;
    ints.get(b)!.forEach((t, k) => {
      for (const o of g.outputs) {
        const got = t.get(o.name)!;
        const want = refRuns[k]!.get(o.name)!;
        outputCodes += got.length;
        for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) n++;
      }
    });
    differingFromReference[b] = n;
  }
  let scores: ScoreAgreement | undefined;
  if (options.scoreOutputs?.length) {
    const names = [...options.scoreOutputs];
    const threshold = options.scoreThreshold ?? 0;
    const floatScores = target.map((t) => names.flatMap((n) => [...t.get(n)!]));
    const isPositive = (v: readonly number[]): boolean => v.some((x) => x > threshold);
    scores = { outputs: names, threshold, floatPositives: floatScores.filter(isPositive).length, byBackend: {} };
    for (const b of backends) {
      const q = ints.get(b)!.map((t) => names.flatMap((n) => [...dequantize(t.get(n)!, g.tensors.get(n)!.params)]));
      scores.byBackend[b] = {
        bestAgree: q.filter((v, k) => argmax(v) === argmax(floatScores[k]!)).length,
        decisionAgree: q.filter((v, k) => isPositive(v) === isPositive(floatScores[k]!)).length,
        positives: q.filter(isPositive).length,
      };
    }
  }
  return {
    model: graph.name, observer: cal.observer, calibrationInputs: calibrationInputs.length, measuredInputs: measuredInputs.length,
    macs, outputs, tensors, comparedWith, differingFromReference, outputCodes, ...(scores ? { scores } : {}), msPerInput, intGraph: g,
  };
}
