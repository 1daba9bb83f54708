/**
 * Step 2 of a quantized import (onnx-quant.ts): from the float graph the rewrite imported and
 * what the model stated about quantization, one quantizer per graph tensor, the integer weights
 * and biases of every convolution, and checks that the integer graph reproduces the model.
 *
 * Quantizer of a tensor the integer graph calibrates (harness/quant/int-graph-build.ts
 * calibratedTensors: the input, each conv's and add's output after a fused Relu/Clip, each
 * concat of several tensors), from every statement on it (rewrite.ts Decl):
 *  - zero points and code types must all agree; scales of 'strong' statements must be equal
 *    (f32), our exporter's metadata (f64) must round to them; the scale is the metadata's, else
 *    the strong one, else the first weak one (a QLinearConv's scales only enter its multiplier,
 *    which is kept exactly below whatever scale the tensor gets);
 *  - code range: the type's, narrowed by Clips; bits b and code offset: signed types keep their
 *    codes (offset 0) in the smallest b-bit range [-2^(b-1), 2^(b-1) - 1] holding the range and
 *    the zero point; unsigned types (uint8, QONNX unsigned) move down by 2^(b-1) (exact: codes
 *    and zero point move together; uint8 at 8 bits: -128); fkb.activation_bits.<tensor> sets b.
 * Every other tensor keeps its input's quantizer in the integer graph (pools, clamps, flatten, a
 * concat of one tensor); a statement on it must equal that (a requantization there would not be
 * reproduced), as must one on a convolution's output that a fused activation follows.
 *
 * Weights: the integer values the rewrite put in the float graph, per output channel. Their
 * scale is the model's, except for the formats onnxruntime runs (QDQ, QOperator), where it is
 * chosen so the 'fp32' requantization's multiplier, fround(inScale * weightScale / outScale),
 * is onnxruntime's f32(f32(x_scale * w_scale[o]) / y_scale) bit for bit (qlinearconv.cc
 * ComputeOutputScale; see harness/quant/onnx-export.ts): weightScale = M * outScale / inScale.
 * Bits: fkb.weight_bits.<node>, else the smallest b >= 2 (and >= a QONNX bitwidth) whose
 * symmetric range [-(2^(b-1) - 1), 2^(b-1) - 1] holds every code.
 * Bias: int32 codes in units of x_scale * w_scale[o] as they are (onnxruntime uses them so);
 * with another scale, multiplied by an integer ratio when it is one, else an InputError.
 */
import { type ConvNode, type Graph, type GraphNode, consumerCounts } from '../model/graph.ts';
import type { ImportedOnnx } from '../model/onnx-import.ts';
import type { Calibration, QuantParams } from '../quant/calibrate.ts';
import { type IntGraph, buildIntGraph } from '../quant/int-graph.ts';
import type { QuantizedWeights } from '../quant/weights.ts';
import { InputError } from '../util/errors.ts';
import type { Decl, Rewritten, SourceType } from './rewrite.ts';

const f32 = Math.fround;

/** A graph tensor's quantizer, with where its codes sit against the source model's. */
export interface Resolved {
  params: QuantParams;
  /** Integer-graph code = source code + offset. */
  offset: number;
  type: SourceType;
  /** The scale the model states (f32), for its own quantization arithmetic. */
  sourceScale: number;
  by: string;
}

export interface ResolvedModel {
  calibration: Calibration;
  tensors: Map<string, Resolved>;
  fixedWeights: Map<string, QuantizedWeights>;
  fixedBias: Map<string, Int32Array>;
  /** The integer graph of these quantizers ('fp32' requantization), built once for the check below. */
  intGraph: IntGraph;
}

/** Same scale: equal as f32 (a metadata scale is f64, the nodes' are f32). */
function sameScale(a: number, b: number): boolean {
  return a === b || f32(a) === f32(b);
}

function fmt(d: { scale?: number | undefined; zeroPoint?: number | undefined; type?: SourceType | undefined }): string {
  return `scale ${d.scale}, zero point ${d.zeroPoint}${d.type ? ` (${d.type.name})` : ''}`;
}

/** The ReLU/Clip int-graph-build.ts fuses into the node writing `tensor`, if any. */
function fusable(graph: Graph, tensor: string, readers: Map<string, number>): Extract<GraphNode, { op: 'relu' | 'clip' }> | undefined {
  if (readers.get(tensor) !== 1 || graph.outputs.some((o) => o.name === tensor)) return undefined;
  const next = graph.nodes.find((n) => n.inputs.includes(tensor));
  return next && (next.op === 'relu' || next.op === 'clip') ? next : undefined;
}

/** Bits and code offset of a quantizer whose source codes lie in [lo, hi] with zero point zp. */
function placement(type: SourceType, lo: number, hi: number, zp: number, by: string, meta: { bits: number; key: string } | undefined, notes: string[]): { bits: number; offset: number } {
  const a = Math.min(lo, zp);
  const b = Math.max(hi, zp);
  const unsigned = type.lo >= 0;
  const offsetFor = (bits: number): number => (unsigned ? -(2 ** (bits - 1)) : 0);
  const fits = (bits: number, off: number): boolean => a + off >= -(2 ** (bits - 1)) && b + off <= 2 ** (bits - 1) - 1;
  let need = 0;
  for (let bits = 2; bits <= 8 && !need; bits++) if (fits(bits, offsetFor(bits))) need = bits;
  if (meta) {
    const off = offsetFor(meta.bits);
    const z = zp + off;
    if (z < -(2 ** (meta.bits - 1)) || z > 2 ** (meta.bits - 1) - 1) {
      throw new InputError(`metadata '${meta.key}' = ${meta.bits}: the zero point ${zp} (${type.name}) of ${by} is outside the ${meta.bits}-bit code range`);
    }
    if (!need || meta.bits < need) {
      notes.push(`metadata '${meta.key}' = ${meta.bits} bits, but nothing in the model limits the codes of ${by} to ${meta.bits} bits (source codes [${lo}, ${hi}]): the integer graph clamps them where onnxruntime would not`);
    }
    return { bits: meta.bits, offset: off };
  }
  if (!need) throw new InputError(`${by}: codes [${lo}, ${hi}] with zero point ${zp} (${type.name}) need more than 8 bits`);
  return { bits: need, offset: offsetFor(need) };
}

/** Reads the quantizers, weights and biases (see the file comment); patches the graph's weights, biases and code-Clip bounds in place. */
export function resolveQuantizers(rw: Rewritten, imported: ImportedOnnx): ResolvedModel {
  const { graph } = imported;
  const notes = rw.notes;
  const tensorOf = (onnxName: string): string | undefined => imported.tensorOf(rw.canonical(onnxName));

  const declsOf = new Map<string, Decl[]>();
  for (const [value, ds] of rw.decls) {
    const t = tensorOf(value);
    if (t !== undefined) declsOf.set(t, [...(declsOf.get(t) ?? []), ...ds]);
  }
  const bitsOf = new Map<string, { bits: number; key: string }>();
  for (const [value, b] of rw.activationBits) {
    const t = tensorOf(value);
    if (t === undefined) throw new InputError(`metadata '${b.key}': the model has no tensor '${value}'`);
    bitsOf.set(t, b);
  }

  const readers = consumerCounts(graph);
  const res = new Map<string, Resolved>();

  // Pass 1, the integer graph's structure (int-graph-build.ts): which tensors are calibrated
  // (roots), and which keep a root's quantizer: a fused-away conv/add output, and the outputs of
  // pools, clamps, flattens and single-input concats (with the node they pass through).
  const zeros = new Set(graph.nodes.filter((n) => n.op === 'zeros').map((n) => n.output));
  const roots: Array<{ t: string; label: string; codeConcatOf?: string }> = [{ t: graph.input.name, label: `graph input '${graph.input.sourceName}'` }];
  const rootOf = new Map<string, string>([[graph.input.name, graph.input.name]]);
  const via = new Map<string, GraphNode>();
  const members = new Map<string, string[]>([[graph.input.name, [graph.input.name]]]);
  const addRoot = (t: string, label: string, codeConcatOf?: string): void => {
    roots.push({ t, label, ...(codeConcatOf ? { codeConcatOf } : {}) });
    rootOf.set(t, t);
    members.set(t, [t]);
  };
  const join = (t: string, from: string, node: GraphNode): void => {
    const r = rootOf.get(from);
    if (r === undefined) return;
    rootOf.set(t, r);
    via.set(t, node);
    members.get(r)!.push(t);
  };
  const skip = new Set<GraphNode>();
  for (const node of graph.nodes) {
    if (skip.has(node)) continue;
    const label = `node '${node.name}' (${node.op})`;
    switch (node.op) {
      case 'conv':
      case 'add': {
        const act = fusable(graph, node.output, readers);
        if (act) skip.add(act);
        addRoot(act?.output ?? node.output, label);
        if (act) join(node.output, act.output, act);
        break;
      }
      case 'concat': {
        const live = node.inputs.filter((t) => !zeros.has(t));
        if (live.length === 1) join(node.output, live[0]!, node);
        else addRoot(node.output, label, rw.codeConcats.some((c) => c.node === node.name) ? live[0] : undefined);
        for (const z of node.inputs.filter((t) => zeros.has(t))) if (!rootOf.has(z)) rootOf.set(z, rootOf.get(node.output)!);
        break;
      }
      case 'maxpool':
      case 'avgpool':
      case 'globalavgpool':
      case 'relu':
      case 'clip':
      case 'flatten':
        join(node.output, node.inputs[0]!, node);
        break;
      default:
        break; // zeros (above), softmax, batchnorm: buildIntGraph reports what it cannot take
    }
  }

  /** Two statements that cannot both hold: named by their tensors, and by the node that keeps one quantizer between them. */
  const conflict = (label: string, root: string, what: string, a: { d: Decl; t: string }, b: { d: Decl; t: string }): InputError => {
    const through = via.get(b.t) ?? via.get(a.t);
    if (a.t !== b.t && through) {
      return new InputError(`${b.d.by} quantizes '${b.t}' with ${fmt(b.d)}, but the integer graph keeps one quantizer from '${a.t}' (${a.d.by}: ${fmt(a.d)}) through node '${through.name}' (${through.op}); a requantization there is not reproducible`);
    }
    return new InputError(`${label}: tensor '${root}' has different ${what}: ${a.d.by}: ${fmt(a.d)}; ${b.d.by}: ${fmt(b.d)} (the integer graph has one quantizer per tensor)`);
  };

  /** The quantizer of a root from every statement on it and on the tensors that keep its quantizer. */
  const calibrated = (t: string, label: string): Resolved | undefined => {
    const all = members.get(t)!.flatMap((x) => (declsOf.get(x) ?? []).map((d) => ({ d, t: x })));
    const qs = all.filter((x) => x.d.kind !== 'range');
    if (qs.length === 0) return undefined;
    const first = qs[0]!;
    const badType = qs.find((x) => x.d.type!.name !== first.d.type!.name);
    if (badType) throw conflict(label, t, 'code types', first, badType);
    const badZp = qs.find((x) => x.d.zeroPoint !== first.d.zeroPoint);
    if (badZp) throw conflict(label, t, 'zero points', first, badZp);
    const strong = qs.filter((x) => x.d.kind === 'strong');
    const meta = qs.filter((x) => x.d.kind === 'meta');
    const s0 = strong[0];
    const badScale = s0 && strong.find((x) => x.d.scale !== s0.d.scale);
    if (s0 && badScale) throw conflict(label, t, 'scales', s0, badScale);
    const m0 = meta[0];
    const badMeta = m0 && [...meta, ...strong].find((x) => !sameScale(x.d.scale!, m0.d.scale!));
    if (m0 && badMeta) throw conflict(label, t, 'scales', m0, badMeta);
    const src = (m0 ?? s0 ?? first).d;
    const type = src.type!;
    const lo = Math.max(...all.filter((x) => x.t === t || !via.has(x.t) || x.d.kind !== 'range').map((x) => x.d.lo));
    const hi = Math.min(...all.filter((x) => x.t === t || !via.has(x.t) || x.d.kind !== 'range').map((x) => x.d.hi));
    const zp = src.zeroPoint!;
    const { bits, offset } = placement(type, lo, hi, zp, `tensor '${t}' (${src.by})`, bitsOf.get(t), notes);
    const scale = src.scale!;
    return {
      params: { scale, zeroPoint: zp + offset, min: scale * (lo - zp), max: scale * (hi - zp), bits },
      offset, type, sourceScale: f32(s0?.d.scale ?? scale), by: src.by,
    };
  };

  // Pass 2: every root's quantizer (in graph order: a copying concat takes its first input's).
  for (const r of roots) {
    const q = calibrated(r.t, r.label) ?? (r.codeConcatOf !== undefined ? res.get(r.codeConcatOf) : undefined);
    if (!q) {
      throw new InputError(`${r.label}: tensor '${r.t}' has no quantizer in the model; the integer graph needs one for the graph input, every convolution's and add's output (after a fused Relu/Clip) and every concat of several tensors: quantize it (QuantizeLinear, QONNX Quant, or a QLinear op's output)`);
    }
    res.set(r.t, q);
  }
  for (const [t, r] of rootOf) if (res.has(r)) res.set(t, res.get(r)!);

  // Clips on codes: real bounds from the codes, in the input's quantizer.
  for (const c of rw.codeClips) {
    const node = graph.nodes.find((n) => n.name === c.node);
    if (!node || node.op !== 'clip') throw new Error(`${c.label}: no clip node in the graph (importer bug)`);
    const q = res.get(node.inputs[0]!);
    if (!q) throw new InputError(`${c.label}: its input has no quantizer`);
    const zpSrc = q.params.zeroPoint - q.offset;
    node.min = q.params.scale * (c.lo - zpSrc);
    node.max = q.params.scale * (c.hi - zpSrc);
  }
  // Concats on codes copy them: every input must have the output's quantizer, padding must be real 0.
  for (const c of rw.codeConcats) {
    const node = graph.nodes.find((n) => n.name === c.node);
    if (!node) throw new Error(`${c.label}: no concat node in the graph (importer bug)`);
    const out = res.get(node.output)!;
    for (const t of node.inputs) {
      if (zeros.has(t)) continue;
      const q = res.get(t)!;
      if (!sameScale(q.params.scale, out.params.scale) || q.params.zeroPoint !== out.params.zeroPoint || q.params.bits !== out.params.bits) {
        throw new InputError(`${c.label}: concatenates codes of '${t}' (${fmt({ ...q.params })}) into '${node.output}' (${fmt({ ...out.params })}) unchanged; the integer graph would requantize them (use QLinearConcat or equal quantizers)`);
      }
    }
    for (const z of c.zeros) {
      if (z.code + out.offset !== out.params.zeroPoint) {
        throw new InputError(`${c.label}: constant input fills code ${z.code}, not the output's zero point ${out.params.zeroPoint - out.offset}: only zero padding (real 0) is supported`);
      }
    }
  }

  // Weights and biases.
  const fixedWeights = new Map<string, QuantizedWeights>();
  const fixedBias = new Map<string, Int32Array>();
  for (const info of rw.convs) {
    const node = graph.nodes.find((n): n is ConvNode => n.op === 'conv' && n.name === info.node);
    if (!node) throw new Error(`${info.label}: no conv node in the graph (importer bug)`);
    const inQ = res.get(node.inputs[0]!);
    const outQ = res.get(fusable(graph, node.output, readers)?.output ?? node.output);
    if (!inQ || !outQ) throw new InputError(`${info.label}: its input or output has no quantizer`);
    if (node.outC !== info.outC) throw new Error(`${info.label}: ${node.outC} output channels in the graph, ${info.outC} in the model (importer bug)`);
    const perOut = node.weights.length / node.outC;
    let maxAbs = 0;
    const codes = Int8Array.from(node.weights, (v) => {
      if (!Number.isInteger(v) || Math.abs(v) > 127) throw new Error(`${info.label}: weight code ${v} (importer bug)`);
      maxAbs = Math.max(maxAbs, Math.abs(v));
      return v;
    });
    let need = 2;
    while (2 ** (need - 1) - 1 < maxAbs) need++;
    const meta = rw.weightBits.get(info.onnxName);
    let bits = need;
    if (meta !== undefined) {
      if (meta < need) throw new InputError(`${info.label}: metadata fkb.weight_bits.${info.onnxName} = ${meta}, but its weight codes reach ±${maxAbs} (${need} bits)`);
      bits = meta;
    } else if (info.declaredBits !== undefined) {
      bits = Math.min(8, Math.max(need, info.declaredBits));
      if (need > info.declaredBits) notes.push(`${info.label}: ${info.declaredBits}-bit weight codes reach ±${maxAbs}, stored as ${need}-bit symmetric codes`);
    }
    const ortChain = rw.format !== 'qonnx' && info.ort !== undefined;
    const xs = f32(info.ort?.xs ?? inQ.sourceScale);
    const scale = Float64Array.from(info.weightScale, (ws) => {
      if (!ortChain) return ws;
      const m = f32(f32(f32(xs * f32(ws)) / f32(info.ort?.ys ?? outQ.sourceScale)));
      return (m * outQ.params.scale) / inQ.params.scale;
    });
    fixedWeights.set(node.name, { bits, codes, scale });
    if (info.bias) {
      const b = info.bias;
      const bias = Int32Array.from(b.codes, (code, o) => {
        let k = 1;
        if (b.scales) {
          const unit = (ortChain ? xs : inQ.params.scale) * f32(info.weightScale[o]!);
          const ratio = b.scales[o]! / unit;
          k = Math.round(ratio);
          if (!(k >= 1 && Math.abs(ratio - k) <= 1e-6 * k)) {
            throw new InputError(`${info.label}: bias scale ${b.scales[o]} of output channel ${o} (${b.by}) is ${Number(ratio.toPrecision(6))} times input scale x weight scale ${unit}: the int32 bias cannot be expressed exactly in units of the accumulator`);
          }
        }
        const v = code * k;
        if (!Number.isInteger(v) || Math.abs(v) > 2 ** 30) throw new InputError(`${info.label}: bias code ${v} of output channel ${o} is outside ±2^30 (the kernels' int32 bias range)`);
        return v;
      });
      fixedBias.set(node.name, bias);
      node.bias = Float32Array.from(bias, (v, o) => v * inQ.params.scale * scale[o]!);
    }
    node.weights = Float32Array.from(codes, (c, i) => c * scale[Math.floor(i / perOut)]!);
  }

  const params = new Map<string, QuantParams>();
  for (const [t, q] of res) params.set(t, q.params);
  const calibration: Calibration = { observer: 'imported', images: 0, params };

  // The integer graph must take exactly these quantizers (its own inheritance rules, checked once more).
  const ig = buildIntGraph(graph, calibration, { fixedWeights, fixedBias, requantMode: 'fp32' });
  for (const [t, it] of ig.tensors) {
    const q = res.get(t);
    if (!q || q.params.scale !== it.params.scale || q.params.zeroPoint !== it.params.zeroPoint || q.params.bits !== it.params.bits) {
      throw new Error(`tensor '${t}': the integer graph's quantizer ${fmt(it.params)}/${it.params.bits} bits differs from the imported ${q ? `${fmt(q.params)}/${q.params.bits} bits` : 'none'} (importer bug)`);
    }
  }
  return { calibration, tensors: res, fixedWeights, fixedBias, intGraph: ig };
}
