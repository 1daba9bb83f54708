/**
 * The joint space `fkb search` explores on one model: per convolution a pruning ratio (dense
 * convolutions whose channels can go), weight bits and input-activation bits (the packing plan,
 * harness/quant/packing-plan.ts, then gives each layer the densest exact DSP packing those widths
 * allow), and the configuration of FPGA engine (a) from the `fkb sweep` space (L, Po, Pp; the
 * packing dimension of the sweep is the per-layer plan here).
 *
 * Every strategy works on a genome x in [0, 1]^D, D = 3 * (convolutions + 1): per convolution
 * (ratio, weight bits, activation bits), then the engine (L, Pp, Po). Gene g picks level
 * floor(g * levels) of its list. Po is decoded last, among the values that keep Pp * Po * L
 * within the device's DSP slices, so every decoded engine fits the DSPs. A ratio gene of a layer
 * that cannot be pruned is ignored (`active` says which genes matter).
 */
import { createHash } from 'node:crypto';
import { foldBatchNorm } from '../model/fold.ts';
import type { ConvNode, Graph } from '../model/graph.ts';
import { analyzeChannels, defaultProtected } from '../prune/groups.ts';
import { graphLayers } from '../fpga/graph-layers.ts';
import { getDevice } from '../fpga/devices.ts';
import { MODELS } from '../fpga/models/index.ts';
import { defaultDims, uniqueLayers } from '../fpga/sweep-space.ts';
import { InputError } from '../util/errors.ts';
import type { Candidate } from '../results/search.ts';

export type { Candidate, EngineConfig } from '../results/search.ts';

/**
 * Pruning ratios a prunable layer takes. Few on purpose: each distinct pruning costs a float
 * pass over the calibration images (bias compensation, activation ranges), everything else about
 * a candidate is cached per worker; 3 levels on the default model's 4 layers are 81 prunings.
 */
export const RATIO_LEVELS = [0, 0.25, 0.5] as const;
/** Weight and activation bit widths (high to low, as harness/pipelines/mixed-precision.ts's ladder). */
export const BIT_LEVELS = [8, 6, 5, 4, 3, 2] as const;

export interface SearchLayer {
  /** The original convolution name (what `fkb compress --layer-bits` etc. take). */
  name: string;
  prunable: boolean;
  inC: number;
  outC: number;
  kernel: number;
  /** Share of the model's MACs. */
  macShare: number;
}

export interface SearchSpace {
  layers: SearchLayer[];
  ratios: readonly number[];
  bits: readonly number[];
  engine: { L: number[]; Pp: number[]; Po: number[] };
  device: string;
  deviceDsp: number;
  /** Genome length. */
  dim: number;
  /** 1 where a gene changes the decoded configuration. */
  active: Uint8Array;
}



export function buildSpace(graph: Graph, options: { device?: string; ratios?: readonly number[] } = {}): SearchSpace {
  const analysis = analyzeChannels(graph, defaultProtected(graph));
  const convs = graph.nodes.filter((n): n is ConvNode => n.op === 'conv');
  if (convs.length === 0) throw new InputError(`${graph.name}: no convolution to search over`);
  const macs = convs.map((c) => c.outC * c.inC * c.kH * c.kW / c.groups);
  const total = macs.reduce((a, b) => a + b, 0);
  const layers = convs.map((c, i) => ({
    name: c.name,
    prunable: c.groups === 1 && Boolean(analysis.groupOf.get(c.name)?.units.some((u) => !u.fixed)),
    inC: c.inC, outC: c.outC, kernel: c.kH, macShare: macs[i]! / total,
  }));
  const ratios = options.ratios ?? RATIO_LEVELS;
  if (ratios.length === 0 || ratios.some((r) => !(r >= 0 && r < 1))) throw new InputError(`prune levels must be numbers in [0, 1), got ${ratios.join(',')}`);
  const device = getDevice(options.device ?? 'zcu104');
  const prepared = uniqueLayers(graphLayers(foldBatchNorm(graph).graph)).map((u) => u.g);
  const dims = defaultDims(MODELS.a, prepared);
  const values = (name: string) => dims.find((d) => d.name === name)!.values.map(Number);
  const dim = 3 * (layers.length + 1);
  const active = new Uint8Array(dim).fill(1);
  layers.forEach((l, i) => l.prunable || (active[3 * i] = 0));
  return { layers, ratios, bits: BIT_LEVELS, engine: { L: values('L'), Pp: values('Pp'), Po: values('Po') }, device: device.name, deviceDsp: device.dsp, dim, active };
}

const level = <T>(list: readonly T[], g: number): T => list[Math.min(list.length - 1, Math.max(0, Math.floor(g * list.length)))]!;
/** The gene in the middle of a level's interval. */
const gene = (list: readonly unknown[], v: unknown): number => {
  const i = list.indexOf(v);
  if (i < 0) throw new InputError(`${String(v)} is not one of ${list.join(', ')}`);
  return (i + 0.5) / list.length;
};

export function decode(space: SearchSpace, x: ArrayLike<number>): Candidate {
  if (x.length !== space.dim) throw new Error(`genome of ${x.length} genes, the space has ${space.dim}`);
  const c: Candidate = { ratio: {}, weightBits: {}, activationBits: {}, engine: { L: 1, Po: 1, Pp: 1 } };
  space.layers.forEach((l, i) => {
    const r = l.prunable ? level(space.ratios, x[3 * i]!) : 0;
    if (r > 0) c.ratio[l.name] = r;
    c.weightBits[l.name] = level(space.bits, x[3 * i + 1]!);
    c.activationBits[l.name] = level(space.bits, x[3 * i + 2]!);
  });
  const e = 3 * space.layers.length;
  const L = level(space.engine.L, x[e]!);
  const ppFits = space.engine.Pp.filter((p) => p * L <= space.deviceDsp);
  const Pp = level(ppFits.length ? ppFits : [1], x[e + 1]!);
  const poFits = space.engine.Po.filter((p) => p * Pp * L <= space.deviceDsp);
  const Po = level(poFits.length ? poFits : [1], x[e + 2]!);
  c.engine = { L, Po, Pp };
  return c;
}

/** A genome that decodes to `c` (the middle of each level). */
export function encode(space: SearchSpace, c: Candidate): Float64Array {
  const x = new Float64Array(space.dim).fill(0.5 / space.ratios.length);
  space.layers.forEach((l, i) => {
    x[3 * i] = gene(space.ratios, c.ratio[l.name] ?? 0);
    x[3 * i + 1] = gene(space.bits, c.weightBits[l.name]);
    x[3 * i + 2] = gene(space.bits, c.activationBits[l.name]);
  });
  const e = 3 * space.layers.length;
  const { L, Po, Pp } = c.engine;
  x[e] = gene(space.engine.L, L);
  x[e + 1] = gene(space.engine.Pp.filter((p) => p * L <= space.deviceDsp), Pp);
  x[e + 2] = gene(space.engine.Po.filter((p) => p * Pp * L <= space.deviceDsp), Po);
  return x;
}

/** The all-8-bit, unpruned model on engine (a)'s default configuration (L=16, Po=8, Pp=1): the search's start and normalizer. */
export function referenceCandidate(space: SearchSpace): Candidate {
  const all = (b: number) => Object.fromEntries(space.layers.map((l) => [l.name, b]));
  return { ratio: {}, weightBits: all(8), activationBits: all(8), engine: { L: 16, Po: 8, Pp: 1 } };
}

/** The candidate as canonical JSON (keys in layer order): equal candidates give equal text. */
export function canonical(space: SearchSpace, c: Candidate): string {
  const per = (r: Record<string, number>, skipZero: boolean) => space.layers.filter((l) => !skipZero || (r[l.name] ?? 0) > 0).map((l) => [l.name, r[l.name]]);
  return JSON.stringify({ ratio: per(c.ratio, true), w: per(c.weightBits, false), a: per(c.activationBits, false), engine: [c.engine.L, c.engine.Po, c.engine.Pp] });
}

/** What a candidate's accuracy depends on (its engine does not change it). */
export function compressionKey(space: SearchSpace, c: Candidate): string {
  return canonical(space, { ...c, engine: { L: 0, Po: 0, Pp: 0 } });
}

/** The store's key: sha256 of the search context (model, images, device, seed) and the candidate. */
export function candidateKey(context: string, seed: number, space: SearchSpace, c: Candidate): string {
  return createHash('sha256').update(`${context}\n${seed}\n${canonical(space, c)}`).digest('hex');
}

/** The one `fkb compress` command that rebuilds a candidate and measures it on `images` held-out images. */
export function compressCommand(c: Candidate, o: { model?: string; device: string; images: number }): string {
  const q = (s: string) => (/^[\w/.+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return [
    'fkb compress',
    ...(o.model ? [`--model ${q(o.model)}`] : []),
    ...Object.entries(c.ratio).map(([k, v]) => `--layer-ratio ${q(`${k}=${v}`)}`),
    ...Object.entries(c.weightBits).map(([k, v]) => `--layer-bits ${q(`${k}=${v}`)}`),
    ...Object.entries(c.activationBits).map(([k, v]) => `--layer-abits ${q(`${k}=${v}`)}`),
    `--engine L=${c.engine.L} --engine Po=${c.engine.Po} --engine Pp=${c.engine.Pp}`,
    `--device ${q(o.device)}`,
    `--images ${o.images}`,
  ].join(' ');
}
