/**
 * What pruning measures on the calibration inputs in the original graph: the mean of every
 * channel of some tensors (for bias compensation) and the full values of others (the
 * reconstruction targets).
 */
import { runGraph } from '../model/float-infer.ts';
import { type Graph, inferShapes, shapeSize } from '../model/graph.ts';

/** Mean of every channel of every tensor in `names`, over all pixels and calibration inputs. */
export interface Measured {
  means: Map<string, Float64Array>;
  targets: Map<string, Float32Array[]>;
}

export function measure(graph: Graph, inputs: Float32Array[], meanOf: Set<string>, targetOf: Set<string>): Measured {
  const shapes = inferShapes(graph);
  const means = new Map([...meanOf].map((t) => [t, new Float64Array(shapes.get(t)!.c)]));
  const targets = new Map([...targetOf].map((t) => [t, [] as Float32Array[]]));
  for (const x of inputs) {
    const all = runGraph(graph, x, { keepAll: true }, shapes);
    for (const [t, m] of means) {
      const v = all.get(t)!;
      const c = m.length;
      for (let i = 0; i < v.length; i++) m[i % c]! += v[i]!;
    }
    for (const [t, list] of targets) list.push(all.get(t)!);
  }
  for (const [t, m] of means) {
    const count = inputs.length * shapeSize(shapes.get(t)!) / m.length;
    for (let c = 0; c < m.length; c++) m[c]! /= count;
  }
  return { means, targets };
}
