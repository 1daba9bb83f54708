/**
 * The layer shapes benchmarks run on: bench/shapes/*.json names a reference layer and
 * selections from the built-in networks, so the shapes are stored once (as data, with sources).
 *
 *   {
 *     "description": "...",                       optional
 *     "reference": { "name": "...", "in_h": 56, "in_w": 56, "in_c": 64, "out_c": 64, "k_h": 3, "k_w": 3,
 *                    "stride_h": 1, "stride_w": 1, "pad_top": 1, "pad_bottom": 1, "pad_left": 1, "pad_right": 1 },
 *     "sets": [ { "network": "vgg16", "select": "conv", "why": "..." } ]    optional; why optional
 *   }
 *
 * The whole file is validated when read; an error reads `<file>:<line>:<col>: <field>: <what>`.
 * Unknown keys are errors too: a misspelt "sets" must not quietly leave only the reference.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ConvShape, describeShape, validateShape } from '../conv/layer.ts';
import { loadNetwork } from '../networks/index.ts';
import type { Network, NetworkLayer } from '../networks/network.ts';
import { InputError } from '../util/errors.ts';
import { MiB } from '../util/input-files.ts';
import { type Located, type Pos, positionOf, readJsonInput } from '../util/json.ts';

export interface BenchLayer {
  /** Names of every layer with this shape, e.g. "vgg16/conv3_2, vgg16/conv3_3". */
  name: string;
  shape: ConvShape;
  /** True for the reference layer the issue targets are stated on. */
  reference: boolean;
}

export const SELECTORS: Record<string, (l: NetworkLayer) => boolean> = {
  conv: (l) => !l.fc && l.groups === 1,
  k3: (l) => !l.fc && l.groups === 1 && l.kH === 3 && l.kW === 3,
  pointwise: (l) => !l.fc && l.groups === 1 && l.kH === 1 && l.kW === 1,
  all: (l) => l.groups === 1,
};

/** A shapes file, validated. */
export interface ShapeSpec {
  file: string;
  reference: BenchLayer;
  /** Each set's network (loaded and validated) and selector. */
  sets: { network: Network; select: string }[];
}

export const SHAPES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'shapes');
export const DEFAULT_SHAPES = join(SHAPES_DIR, 'default.json');

/** A shapes file is a few hundred bytes; 1 MiB is generous. */
const MAX_SHAPES_BYTES = MiB;

/** Reference-layer fields: JSON key, ConvShape key, least value. */
const REFERENCE_FIELDS = [
  ['in_h', 'inH', 1], ['in_w', 'inW', 1], ['in_c', 'inC', 1], ['out_c', 'outC', 1],
  ['k_h', 'kH', 1], ['k_w', 'kW', 1], ['stride_h', 'strideH', 1], ['stride_w', 'strideW', 1],
  ['pad_top', 'padTop', 0], ['pad_bottom', 'padBottom', 0], ['pad_left', 'padLeft', 0], ['pad_right', 'padRight', 0],
] as const;
const MAX_DIM = 1 << 16;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads and validates a shapes file (every field, every set's network and selector). */
export function readShapesFile(file = DEFAULT_SHAPES): ShapeSpec {
  const doc = readJsonInput(file, { what: 'shapes file', maxBytes: MAX_SHAPES_BYTES });
  const fail = (pos: Pos, field: string, message: string) => new InputError(`${file}:${pos.line}:${pos.col}: ${field}: ${message}`);
  const at = (obj: object, key: string | number, fallback?: Pos) => positionOf(doc, obj, key, fallback);
  const onlyKeys = (obj: Record<string, unknown>, where: string, allowed: readonly string[], pos: Pos) => {
    for (const k of Object.keys(obj)) {
      if (!allowed.includes(k)) throw fail(at(obj, k, pos), `${where}${k}`, `unknown key; expected ${allowed.join(', ')}`);
    }
  };

  const root = doc.value;
  if (!isRecord(root)) throw fail(doc.pos, '(top level)', 'must be an object with "reference" and "sets"');
  onlyKeys(root, '', ['description', 'reference', 'sets'], doc.pos);
  if (root['description'] !== undefined && typeof root['description'] !== 'string') throw fail(at(root, 'description'), 'description', 'must be a string');

  const ref = root['reference'];
  if (ref === undefined) throw fail(doc.pos, 'reference', 'missing: the reference layer, an object with name, in_h, in_w, ...');
  const refPos = at(root, 'reference');
  if (!isRecord(ref)) throw fail(refPos, 'reference', 'must be an object with name, in_h, in_w, ...');
  onlyKeys(ref, 'reference.', ['name', ...REFERENCE_FIELDS.map(([k]) => k)], refPos);
  const name = ref['name'];
  if (typeof name !== 'string' || name.trim() === '') throw fail(at(ref, 'name', refPos), 'reference.name', `must be a non-empty string, got ${JSON.stringify(name) ?? 'nothing'}`);
  const shape = {} as Record<string, number>;
  for (const [key, field, min] of REFERENCE_FIELDS) {
    const v = ref[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > MAX_DIM) {
      throw fail(at(ref, key, refPos), `reference.${key}`, `must be an integer in [${min}, ${MAX_DIM}], got ${v === undefined ? 'nothing' : JSON.stringify(v)}`);
    }
    shape[field] = v;
  }
  try {
    validateShape(shape as unknown as ConvShape);
  } catch (e) {
    if (e instanceof InputError) throw fail(refPos, 'reference', e.message);
    throw e;
  }

  const setsV = root['sets'] ?? [];
  if (!Array.isArray(setsV)) throw fail(at(root, 'sets'), 'sets', 'must be an array of {"network", "select"} objects');
  const sets = setsV.map((set: unknown, i) => setOf(doc, set, i, setsV, fail));
  return { file, reference: { name: name.trim(), shape: shape as unknown as ConvShape, reference: true }, sets };
}

function setOf(
  doc: Located, set: unknown, i: number, sets: unknown[], fail: (pos: Pos, field: string, message: string) => InputError,
): { network: Network; select: string } {
  const pos = positionOf(doc, sets, i);
  const where = `sets[${i}]`;
  if (!isRecord(set)) throw fail(pos, where, 'must be an object {"network", "select"}');
  const at = (key: string) => positionOf(doc, set, key, pos);
  for (const k of Object.keys(set)) {
    if (!['network', 'select', 'why'].includes(k)) throw fail(at(k), `${where}.${k}`, 'unknown key; expected network, select, why');
  }
  const network = set['network'];
  if (typeof network !== 'string' || network === '') throw fail(at('network'), `${where}.network`, 'must be a built-in network name or a layer table path');
  const select = set['select'];
  if (typeof select !== 'string' || !Object.hasOwn(SELECTORS, select)) {
    throw fail(at('select'), `${where}.select`, `must be one of ${Object.keys(SELECTORS).join(', ')}, got ${JSON.stringify(select) ?? 'nothing'}`);
  }
  if (set['why'] !== undefined && typeof set['why'] !== 'string') throw fail(at('why'), `${where}.why`, 'must be a string');
  try {
    return { network: loadNetwork(network), select };
  } catch (e) {
    if (e instanceof InputError) throw fail(at('network'), `${where}.network`, e.message);
    throw e;
  }
}

/** The reference layer alone (the whole file is validated). */
export function referenceLayer(file = DEFAULT_SHAPES): BenchLayer {
  return readShapesFile(file).reference;
}

/** Every layer of a shapes file, identical shapes merged, the reference layer first. */
export function loadBenchLayers(file = DEFAULT_SHAPES): BenchLayer[] {
  const spec = readShapesFile(file);
  const reference = spec.reference;
  const out: BenchLayer[] = [reference];
  const byShape = new Map<string, BenchLayer>([[describeShape(reference.shape), reference]]);
  for (const set of spec.sets) {
    const select = SELECTORS[set.select]!;
    const net = set.network;
    for (const l of net.layers.filter(select)) {
      const shape: ConvShape = {
        inH: l.inH, inW: l.inW, inC: l.inC, outC: l.outC, kH: l.kH, kW: l.kW, strideH: l.strideH, strideW: l.strideW,
        padTop: l.padTop, padBottom: l.padBottom, padLeft: l.padLeft, padRight: l.padRight,
      };
      const key = describeShape(shape);
      const seen = byShape.get(key);
      if (seen) seen.name += `, ${net.name}/${l.name}`;
      else {
        const layer = { name: `${net.name}/${l.name}`, shape, reference: false };
        byShape.set(key, layer);
        out.push(layer);
      }
    }
  }
  return out;
}
