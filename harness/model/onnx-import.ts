/**
 * ONNX -> graph (harness/model/graph.ts): float32 CNNs as PyTorch's torch.onnx.export and
 * tf2onnx write them, batch size 1.
 *
 * Supported ops (default domain) and what they become:
 *
 *   Conv                 conv (groups incl. depthwise; any pads and strides; dilations 1;
 *                        auto_pad NOTSET, VALID, SAME_UPPER, SAME_LOWER)
 *   BatchNormalization   batchnorm (inference form; fold.ts folds it into the preceding conv)
 *   Relu, Clip           relu, clip (Clip's bounds from attributes (opset < 11) or constant inputs)
 *   MaxPool, AveragePool maxpool, avgpool (ceil_mode 0, dilations 1, one output)
 *   GlobalAveragePool    globalavgpool
 *   Add                  add (two tensors of the same shape: a residual connection)
 *   Concat               concat, along the channel axis only
 *   ConstantOfShape      zeros, only as the zero channels a Concat appends (tf2onnx's channel Pad)
 *   Flatten, Reshape     flatten to a vector (a Reshape whose output keeps the batch dim first);
 *                        a Reshape that changes nothing, or makes a channel vector [1,C,1,1] of a
 *                        vector, is an alias; a Reshape of a map to [1,K,1,1] is a flatten whose
 *                        output is a 1x1 map (what a 1x1 Conv then reads as a fully connected layer)
 *   Transpose            only between NCHW and NHWC (perm [0,2,3,1] or [0,3,1,2]): no data moves
 *   Gemm                 conv with fc = true (transA 0; alpha and beta folded into weights and bias)
 *   Softmax              softmax, over the channel axis
 *
 * Anything else is an InputError naming the op type and the node; so is a shape that does not
 * fit (naming the node) and a file that does not decode (naming the file).
 *
 * Layouts. Every ONNX tensor the importer meets is one of
 *  - spatial, NCHW [1,C,H,W] (ONNX's own convention, what Conv and the pools take),
 *  - spatial, NHWC [1,H,W,C] (a TensorFlow graph between its Transposes),
 *  - a vector (any dims, batch first, product K), stored as a 1x1xK graph tensor.
 * All of them are stored NHWC in the graph; the NCHW/NHWC Transposes only relabel. The graph
 * input is NCHW unless every reader of it is a Transpose [0,3,1,2] (then NHWC).
 *
 * Flatten of an NCHW tensor orders the vector c, y, x. When every reader of that vector is a
 * Gemm, the importer permutes the Gemm's weight columns to the y, x, c order instead and the
 * flatten moves no data (order 'hwc'); otherwise the flatten node reorders (order 'chw').
 */
import type onnxProto from 'onnx-proto';
import { type Graph, inferShapes } from './graph.ts';
import { normalizeGraph, onnx, readConstant } from './onnx-decode.ts';
import { ImportState } from './onnx-import-state.ts';
import { importNode } from './onnx-ops.ts';
import { InputError } from '../util/errors.ts';
import { GiB, readInputFile } from '../util/input-files.ts';

export { SUPPORTED_OPS } from './onnx-ops.ts';

/** A graph and, for each ONNX value name, the graph tensor holding it (quantized import, harness/qonnx/, maps its quantizers with it). */
export interface ImportedOnnx {
  graph: Graph;
  /** The graph tensor of an ONNX value; undefined for a constant or an unknown name. */
  tensorOf(onnxName: string): string | undefined;
}

/** The graph of a decoded model: constants first, then the input, every node in order, the outputs. */
function buildGraph(model: onnxProto.onnx.ModelProto, name: string): ImportedOnnx {
  if (!model.graph) throw new InputError('the model has no graph');
  const s = new ImportState(model);
  const g = normalizeGraph(model.graph);
  for (const t of g.initializer) s.values.set(t.name, { kind: 'const', constant: readConstant(t, `initializer '${t.name}'`) });
  for (const n of g.node) for (const i of n.input) if (i) s.readers.set(i, [...(s.readers.get(i) ?? []), n.opType]);
  for (const o of g.output) s.readers.set(o.name, [...(s.readers.get(o.name) ?? []), '']);

  const input = s.defineInput(g.input, g.node);
  g.node.forEach((n, index) => importNode(s, n, index));
  const outputs = g.output.map((o) => s.defineOutput(o));
  const graph: Graph = { name: g.name || name, input, outputs, nodes: s.nodes };
  inferShapes(graph); // the same checks once more, over the finished graph
  return {
    graph,
    tensorOf: (onnxName) => {
      const v = s.values.get(onnxName);
      return v?.kind === 'tensor' ? v.name : undefined;
    },
  };
}

/**
 * Imports a model already decoded (or built in memory, as harness/qonnx/ does from a quantized
 * one); `name` labels errors. InputErrors are prefixed with it, as in importOnnx.
 */
export function importOnnxModel(model: onnxProto.onnx.ModelProto, name = 'model'): ImportedOnnx {
  try {
    return buildGraph(model, name);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${name}: ${e.message}`);
    throw e;
  }
}

/** Builds the graph of an ONNX model held in memory; `name` labels errors (a file name). */
export function importOnnx(bytes: Uint8Array, name = 'model'): Graph {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new InputError(`${name}: not a valid ONNX file (${(e as Error).message}); is it truncated?`);
  }
  if (!model.graph || (model.graph.node ?? []).length === 0) throw new InputError(`${name}: not a valid ONNX file (no graph nodes); is it truncated?`);
  return importOnnxModel(model, name).graph;
}

/** Protobuf caps a message at 2 GiB; the models this runs on are far smaller. */
const MAX_MODEL_BYTES = GiB;

/** Reads (a regular file of at most 1 GiB) and imports an .onnx file. */
export function importOnnxFile(path: string): Graph {
  return importOnnx(readInputFile(path, { what: 'ONNX model', maxBytes: MAX_MODEL_BYTES }), path);
}
