/**
 * The layer shapes benchmarks run on: bench/shapes/*.json names a reference layer and
 * selections from the built-in networks, so the shapes are stored once (as data, with sources).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ConvShape, describeShape, validateShape } from '../conv/layer.ts';
import { loadNetwork } from '../networks/index.ts';
import type { NetworkLayer } from '../networks/network.ts';
import { InputError } from '../util/errors.ts';

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

interface ShapeFile {
  reference: Record<string, number | string>;
  sets: { network: string; select: string }[];
}

export const SHAPES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'shapes');

function shapeOf(r: Record<string, number | string>): ConvShape {
  const n = (k: string) => r[k] as number;
  return {
    inH: n('in_h'), inW: n('in_w'), inC: n('in_c'), outC: n('out_c'), kH: n('k_h'), kW: n('k_w'),
    strideH: n('stride_h'), strideW: n('stride_w'),
    padTop: n('pad_top'), padBottom: n('pad_bottom'), padLeft: n('pad_left'), padRight: n('pad_right'),
  };
}

/** The reference layer alone. */
export function referenceLayer(file = join(SHAPES_DIR, 'default.json')): BenchLayer {
  const spec = JSON.parse(readFileSync(file, 'utf8')) as ShapeFile;
  const shape = shapeOf(spec.reference);
  validateShape(shape);
  return { name: String(spec.reference.name), shape, reference: true };
}

/** Every layer of a shapes file, identical shapes merged, the reference layer first. */
export function loadBenchLayers(file = join(SHAPES_DIR, 'default.json')): BenchLayer[] {
  let spec: ShapeFile;
  try {
    spec = JSON.parse(readFileSync(file, 'utf8')) as ShapeFile;
  } catch (e) {
    throw new InputError(`cannot read shapes file ${file}: ${(e as Error).message}`);
  }
  const reference = referenceLayer(file);
  const out: BenchLayer[] = [reference];
  const byShape = new Map<string, BenchLayer>([[describeShape(reference.shape), reference]]);
  for (const set of spec.sets ?? []) {
    const select = SELECTORS[set.select];
    if (!select) throw new InputError(`${file}: unknown select '${set.select}' (one of ${Object.keys(SELECTORS).join(', ')})`);
    const net = loadNetwork(set.network);
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
