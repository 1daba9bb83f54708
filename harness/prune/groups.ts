/**
 * Dependency groups for structured (channel) pruning: which output channels of which layers
 * must be removed together so that every shape in the graph stays consistent.
 *
 * Every channel of every tensor is a *slot*. A dense (or fc) convolution and a `zeros` node
 * create new slots, one per output channel: these nodes are the *producers*. Every other op
 * says how its output slots relate to its input slots:
 *
 *     relu, clip, batchnorm, pools,   output slot c IS input slot c (same channel identity)
 *     globalavgpool, depthwise conv   (a depthwise conv's channel follows its input's)
 *     add                             input A slot c and input B slot c are merged (union-find)
 *     concat                          output slots = input slots, concatenated
 *     flatten -> fc only              the fc's input column (pixel p, channel c) follows slot c
 *
 * A *channel unit* is a set of merged slots: removing a unit removes that channel from every
 * tensor that carries it (the producers' output channels, BN parameters, depthwise channels,
 * the consumers' input channels, the fc columns of a flatten). A *dependency group* is a set of
 * producers linked through units; e.g. in the default model conv3 and conv4 meet in the
 * residual Add, so unit k = {conv3 channel k, conv4 channel k}, and the fc's columns
 * (p, k) for all 49 pixels p go with it.
 *
 * A unit is *fixed* (never pruned) when it touches something whose channel count cannot
 * change: the graph input or a graph output, the output of a protected layer, a softmax, a
 * grouped convolution that is not depthwise with multiplier 1, or a flatten read by anything
 * but fully connected layers.
 */
import { type ConvNode, type Graph, type TensorShape, inferShapes } from '../model/graph.ts';
import { InputError } from '../util/errors.ts';

/** Output channel `channel` of producer `layer` (a dense conv or a zeros node). */
export interface ChannelRef {
  layer: string;
  channel: number;
}

export interface ChannelUnit {
  id: number;
  /** Producer output channels of this unit (empty for a channel of the graph input). */
  members: ChannelRef[];
  /** Why it cannot be pruned, or null when it can. */
  fixed: string | null;
  group: number;
}

export interface DependencyGroup {
  id: number;
  /** Producers (dense convs and zeros nodes) whose output channels are in this group's units. */
  layers: string[];
  units: ChannelUnit[];
}

/** How a flatten feeding fully connected layers maps vector columns to channels. */
export interface FlattenMap {
  source: string;
  shape: TensorShape;
  order: 'hwc' | 'chw';
}

export interface ChannelAnalysis {
  groups: DependencyGroup[];
  units: ChannelUnit[];
  /** Unit id of each channel of each tensor (not for the vector a FlattenMap describes). */
  tensorUnits: Map<string, Int32Array>;
  /** Flatten outputs read only by fully connected layers. */
  flattens: Map<string, FlattenMap>;
  /** Producer name -> its group. */
  groupOf: Map<string, DependencyGroup>;
  shapes: Map<string, TensorShape>;
}

/** A convolution whose channel i reads only input channel i (groups = inC = outC). */
export function isDepthwise(node: ConvNode): boolean {
  return node.groups > 1 && node.groups === node.inC && node.outC === node.inC;
}

/** Index of the flattened vector element for pixel p (= y*w + x) and channel c. */
export function flatIndex(map: FlattenMap, p: number, c: number): number {
  const { h, w, c: channels } = map.shape;
  return map.order === 'hwc' ? p * channels + c : c * h * w + p;
}

/**
 * The last fully connected layer (or, when there is none, nothing): what `protect` defaults to.
 */
export function defaultProtected(graph: Graph): string[] {
  const fcs = graph.nodes.filter((n): n is ConvNode => n.op === 'conv' && n.fc);
  return fcs.length ? [fcs[fcs.length - 1]!.name] : [];
}

/** Channel units and dependency groups of a graph; `protect` names layers whose outputs stay. */
export function analyzeChannels(graph: Graph, protect: readonly string[] = defaultProtected(graph)): ChannelAnalysis {
  const shapes = inferShapes(graph);
  const names = new Set(graph.nodes.map((n) => n.name));
  for (const p of protect) if (!names.has(p)) throw new InputError(`protect: no layer named '${p}' (layers: ${[...names].join(', ')})`);
  const protectedSet = new Set(protect);

  // Union-find over slots.
  const parent: number[] = [];
  const owner: Array<ChannelRef | null> = [];
  const fixedWhy: Array<string | null> = [];
  const newSlots = (n: number, layer: string | null, why: string | null): Int32Array =>
    Int32Array.from({ length: n }, (_, c) => {
      parent.push(parent.length);
      owner.push(layer === null ? null : { layer, channel: c });
      fixedWhy.push(why);
      return parent.length - 1;
    });
  const find = (s: number): number => {
    while (parent[s] !== s) s = parent[s] = parent[parent[s]!]!;
    return s;
  };
  const union = (a: number, b: number): void => {
    const [ra, rb] = [find(a), find(b)];
    if (ra !== rb) parent[rb] = ra;
  };
  const fix = (slots: Int32Array, why: string): void => {
    for (const s of slots) fixedWhy[s] ??= why;
  };

  const readers = new Map<string, string[]>();
  for (const node of graph.nodes) for (const i of node.inputs) readers.set(i, [...(readers.get(i) ?? []), node.name]);
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const outputs = new Set(graph.outputs.map((o) => o.name));

  const slots = new Map<string, Int32Array>();
  slots.set(graph.input.name, newSlots(graph.input.shape.c, null, 'graph input'));
  const flattens = new Map<string, FlattenMap>();
  const producers: string[] = [];

  for (const node of graph.nodes) {
    const ins = node.inputs.map((n) => slots.get(n));
    const x = ins[0];
    let out: Int32Array;
    switch (node.op) {
      case 'conv': {
        if (isDepthwise(node)) {
          out = x!;
        } else {
          producers.push(node.name);
          out = newSlots(node.outC, node.name, null);
          if (node.groups > 1) {
            fix(x!, `grouped convolution '${node.name}'`);
            fix(out, `grouped convolution '${node.name}'`);
          }
        }
        break;
      }
      case 'zeros':
        producers.push(node.name);
        out = newSlots(node.shape.c, node.name, null);
        break;
      case 'add':
        x!.forEach((s, c) => union(s, ins[1]![c]!));
        out = x!;
        break;
      case 'concat': {
        const all: number[] = [];
        for (const s of ins) all.push(...s!);
        out = Int32Array.from(all);
        break;
      }
      case 'flatten': {
        const src = shapes.get(node.inputs[0]!)!;
        const rs = readers.get(node.output) ?? [];
        const onlyFc = !outputs.has(node.output) && rs.length > 0 && rs.every((r) => {
          const n = byName.get(r)!;
          return n.op === 'conv' && n.fc;
        });
        if (onlyFc) {
          flattens.set(node.output, { source: node.inputs[0]!, shape: src, order: node.order });
          out = new Int32Array(0);
        } else {
          fix(x!, outputs.has(node.output) ? 'flattened into a graph output' : `flatten '${node.name}' read by a non-fc layer`);
          out = newSlots(shapes.get(node.output)!.c, null, 'flatten output');
        }
        break;
      }
      case 'softmax':
        fix(x!, `softmax '${node.name}'`);
        out = x!;
        break;
      default:
        out = x!;
    }
    if (protectedSet.has(node.name)) fix(out, `protected layer '${node.name}'`);
    slots.set(node.output, out);
  }
  for (const o of graph.outputs) if (!flattens.has(o.name)) fix(slots.get(o.name)!, `graph output '${o.name}'`);

  // Roots -> units, units -> groups (producers linked by a shared unit).
  const unitOfRoot = new Map<number, ChannelUnit>();
  const units: ChannelUnit[] = [];
  for (let s = 0; s < parent.length; s++) {
    const r = find(s);
    let u = unitOfRoot.get(r);
    if (!u) {
      u = { id: units.length, members: [], fixed: null, group: -1 };
      unitOfRoot.set(r, u);
      units.push(u);
    }
    if (owner[s]) u.members.push(owner[s]!);
    u.fixed ??= fixedWhy[s]!;
  }
  const groupParent = new Map<string, string>(producers.map((p) => [p, p]));
  const gfind = (p: string): string => {
    while (groupParent.get(p) !== p) p = groupParent.get(p)!;
    return p;
  };
  for (const u of units) for (const m of u.members.slice(1)) {
    const [a, b] = [gfind(u.members[0]!.layer), gfind(m.layer)];
    if (a !== b) groupParent.set(b, a);
  }
  const groupByRoot = new Map<string, DependencyGroup>();
  const groups: DependencyGroup[] = [];
  const groupOf = new Map<string, DependencyGroup>();
  for (const p of producers) {
    const r = gfind(p);
    let g = groupByRoot.get(r);
    if (!g) {
      g = { id: groups.length, layers: [], units: [] };
      groupByRoot.set(r, g);
      groups.push(g);
    }
    g.layers.push(p);
    groupOf.set(p, g);
  }
  for (const u of units) {
    if (!u.members.length) continue;
    const g = groupOf.get(u.members[0]!.layer)!;
    u.group = g.id;
    g.units.push(u);
  }
  const tensorUnits = new Map<string, Int32Array>();
  for (const [name, s] of slots) if (!flattens.has(name)) tensorUnits.set(name, Int32Array.from(s, (v) => unitOfRoot.get(find(v))!.id));
  return { groups, units, tensorUnits, flattens, groupOf, shapes };
}
