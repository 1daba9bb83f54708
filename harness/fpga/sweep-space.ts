/**
 * The space a sweep explores: the network's distinct layers, and the dimensions (parameter
 * values) of the model's default space after the caller's `ranges` and `fixed`.
 *
 * Default spaces (override any dimension with `ranges`, fix parameters with `fixed`):
 *   splitconv (a)  L in {1,2,4,..,64}, Po in 1..64, Pp in the pixel candidates, and the DSP
 *                  packing (or `scheme`, when the model's schema has one)
 *   tiled (b)      Tm in 4..128 step 4, Tn in 1..32, Tr and Tc in the tile candidates (Zhang et
 *                  al., FPGA 2015, Sec. 4.1 enumerate <Tm, Tn, Tr, Tc> the same way)
 *   finn (c)       per-layer (PE, SIMD) chosen by the folding rule (sweep-finn.ts), for every
 *                  target and packing
 *   dpu (d)        the PG338 configurations B512..B4096 and 1..maxCores cores (PG338: up to four
 *                  DPU cores); cores work on different frames and share the off-chip bandwidth,
 *                  so each core's memory cycles use GB/s / cores, and DSPs are cores * DSP(core)
 *   systolic (e)   R, C in 1..96 and the DSP packing
 * Tile and pixel candidates are the divisors up to 64 of the network's output heights /
 * widths (and the powers of two up to 64 for pixels): tiles that divide a map waste nothing.
 */
import { InputError } from '../util/errors.ts';
import { prepareLayer, resolveParams, type LayerSpec, type PreparedLayer } from './models/common.ts';
import type { ModelInfo } from './models/index.ts';
import type { DimValue, SweepDim, SweepLayer } from './sweep-types.ts';

/** A pipelined dataflow's parameters the folding rule sets per layer: never swept or fixed. */
export const FOLDED_PER_LAYER: readonly string[] = ['PE', 'SIMD'];

export interface UniqueLayer {
  g: PreparedLayer;
  count: number;
  names: string[];
}

export function layerKey(l: LayerSpec): string {
  return [l.inH, l.inW, l.inC, l.outC, l.kH, l.kW, l.strideH, l.strideW, l.padTop, l.padBottom, l.padLeft, l.padRight, l.groups, l.wBits, l.aBits].join(',');
}

/** Layers with identical shapes merged, in first-seen order, with their multiplicity. */
export function uniqueLayers(layers: readonly SweepLayer[]): UniqueLayer[] {
  const byKey = new Map<string, UniqueLayer>();
  layers.forEach((l, i) => {
    const key = layerKey(l);
    const name = l.name ?? `layer${i}`;
    const u = byKey.get(key);
    if (u) {
      u.count++;
      u.names.push(name);
    } else byKey.set(key, { g: prepareLayer(l), count: 1, names: [name] });
  });
  return [...byKey.values()];
}

const range = (lo: number, hi: number, step = 1): number[] => Array.from({ length: Math.floor((hi - lo) / step) + 1 }, (_, i) => lo + i * step);

export function divisorsUpTo(n: number, max: number): number[] {
  return range(1, Math.min(n, max)).filter((d) => n % d === 0);
}

/** Divisors up to 64 of the output sizes (maps larger than 1x1), plus `extra`. */
function candidates(sizes: readonly number[], extra: readonly number[] = []): number[] {
  const set = new Set<number>([1, ...extra]);
  for (const s of sizes) if (s > 1) for (const d of divisorsUpTo(s, 64)) set.add(d);
  return [...set].sort((a, b) => a - b);
}

const POWERS_OF_TWO = [1, 2, 4, 8, 16, 32, 64];

function packingDim(model: ModelInfo): SweepDim {
  const scheme = model.params['scheme'];
  if (scheme?.choices) return { name: 'scheme', values: scheme.choices.filter((c) => c !== 'auto') };
  return { name: 'packing', values: [1, 2, 4] };
}

/** The default space of a model on a network (see the header). */
export function defaultDims(model: ModelInfo, layers: readonly PreparedLayer[]): SweepDim[] {
  const outH = layers.map((g) => g.outH);
  const outW = layers.map((g) => g.outW);
  switch (model.name) {
    case 'splitconv':
      return [
        { name: 'L', values: POWERS_OF_TWO },
        { name: 'Po', values: range(1, 64) },
        { name: 'Pp', values: candidates(outW, POWERS_OF_TWO) },
        packingDim(model),
      ];
    case 'tiled':
      return [
        { name: 'Tm', values: range(4, 128, 4) },
        { name: 'Tn', values: range(1, 32) },
        { name: 'Tr', values: candidates(outH) },
        { name: 'Tc', values: candidates(outW) },
      ];
    case 'finn':
      return [{ name: 'packing', values: layers.every((g) => g.layer.wBits <= 4 && g.layer.aBits <= 4) ? [1] : [1, 2, 4] }];
    case 'dpu':
      return [
        { name: 'arch', values: model.params['arch']!.choices! },
        { name: 'cores', values: range(1, model.maxCores) },
      ];
    case 'systolic':
      return [
        { name: 'R', values: range(1, 96) },
        { name: 'C', values: range(1, 96) },
        packingDim(model),
      ];
  }
}

/** The dimensions after `ranges`, each value checked against the model's schema. */
export function resolveDims(model: ModelInfo, defaults: SweepDim[], ranges: Record<string, readonly DimValue[]>, fixed: Record<string, unknown>): SweepDim[] {
  const dims = defaults.map((d) => ({ ...d }));
  for (const [name, values] of Object.entries(ranges)) {
    const hasCores = model.maxCores > 1;
    const isCores = name === 'cores' && hasCores;
    if (!isCores && !Object.hasOwn(model.params, name)) {
      throw new InputError(`--range ${name}: model ${model.id} (${model.name}) has no parameter '${name}'; known: ${[...Object.keys(model.params), ...(hasCores ? ['cores'] : [])].join(', ')}`);
    }
    if (model.dataflow === 'pipelined' && FOLDED_PER_LAYER.includes(name)) {
      throw new InputError(`--range ${name}: FINN's PE and SIMD are chosen per layer by the folding rule; sweep packing or res instead`);
    }
    if (values.length === 0) throw new InputError(`--range ${name}: no values`);
    const checked = values.map((v) => {
      if (isCores) {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 16) throw new InputError(`--range cores: ${String(v)} must be an integer in [1, 16]`);
        return v;
      }
      return resolveParams({ [name]: model.params[name]! }, { [name]: v }, `--range ${name}`)[name]!;
    });
    const at = dims.findIndex((d) => d.name === name);
    if (at >= 0) dims[at] = { name, values: checked };
    else dims.push({ name, values: checked });
  }
  for (const name of Object.keys(fixed)) {
    const at = dims.findIndex((d) => d.name === name);
    if (at >= 0) {
      if (name in ranges) throw new InputError(`'${name}' is both swept (--range) and fixed (--set)`);
      dims.splice(at, 1);
    }
  }
  return dims;
}
