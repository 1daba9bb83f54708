/**
 * A network is a list of convolution layers (fully connected layers are 1x1 convolutions
 * over the flattened input, flagged `fc`). Grouped and depthwise convolutions carry `groups`:
 * each of the `groups` groups maps inC/groups input channels to outC/groups output channels.
 *
 * Pooling, activations and residual additions are not layers here: they cost no MACs.
 * Where they change a shape, the consumer records it (`pool`), and where the producer is
 * not the previous row, the consumer names it (`from`); `checkShapes` uses both.
 */
import { outputSize, type ConvShape } from '../conv/layer.ts';

/** Pooling applied to the producer's output before this layer reads it (floor mode). */
export interface PoolSpec {
  type: 'max' | 'avg';
  k: number;
  stride: number;
  pad: number;
}

/** What every analytical model takes: the convolution plus grouping and bit widths. */
export interface LayerSpec extends ConvShape {
  groups: number;
  wBits: number;
  aBits: number;
  /**
   * The DSP packing a quantized model's plan chose for this layer (harness/quant/packing-plan.ts):
   * engine (a) runs it when its `scheme` parameter is 'auto', and decodes every `chain` DSPs.
   */
  packing?: { scheme: string; chain: number };
}

export interface NetworkLayer extends LayerSpec {
  name: string;
  /** A fully connected layer written as a 1x1 convolution on a 1x1 map. */
  fc: boolean;
  /** Producer of this layer's input: a layer name or 'input'. Default: the previous row. */
  from?: string;
  pool?: PoolSpec;
}

export interface Network {
  name: string;
  title: string;
  /** Where the layer table comes from (paper, section, table). */
  source: string;
  notes?: string;
  /** [h, w, c] of the network input, when known (built-ins and JSON files). */
  input?: [number, number, number];
  layers: NetworkLayer[];
  /** File the table was read from. */
  file: string;
}

/** Multiply-accumulates of one layer: outH*outW*outC*kH*kW*(inC/groups). */
export function layerMacs(l: LayerSpec): number {
  const { outH, outW } = outputSize(l);
  return outH * outW * l.outC * l.kH * l.kW * (l.inC / l.groups);
}

export interface MacTotals {
  conv: number;
  fc: number;
  total: number;
}

export function networkMacs(net: Pick<Network, 'layers'>): MacTotals {
  let conv = 0;
  let fc = 0;
  for (const l of net.layers) {
    if (l.fc) fc += layerMacs(l);
    else conv += layerMacs(l);
  }
  return { conv, fc, total: conv + fc };
}

function pooled(d: number, p: PoolSpec): number {
  return Math.floor((d + 2 * p.pad - p.k) / p.stride) + 1;
}

export interface ShapeMismatch {
  layer: string;
  producer: string;
  expected: string;
  got: string;
}

/**
 * Checks that each layer's input is its producer's output (after the recorded pooling;
 * an fc layer reads the flattened map). Needs `input` for the first layer's producer.
 * Returns every mismatch, empty when the table is consistent.
 */
export function checkShapes(net: Network): ShapeMismatch[] {
  const out = new Map<string, [number, number, number]>();
  if (net.input) out.set('input', net.input);
  const bad: ShapeMismatch[] = [];
  net.layers.forEach((l, idx) => {
    const producer = l.from ?? (idx === 0 ? 'input' : net.layers[idx - 1]!.name);
    const src = out.get(producer);
    if (src) {
      let [h, w, c] = src;
      if (l.pool) {
        h = pooled(h, l.pool);
        w = pooled(w, l.pool);
      }
      const expected = l.fc ? [1, 1, h * w * c] : [h, w, c];
      const got = [l.inH, l.inW, l.inC];
      if (expected.some((v, k) => v !== got[k])) {
        bad.push({ layer: l.name, producer, expected: expected.join('x'), got: got.join('x') });
      }
    } else {
      bad.push({ layer: l.name, producer, expected: '(unknown producer)', got: `${l.inH}x${l.inW}x${l.inC}` });
    }
    const { outH, outW } = outputSize(l);
    out.set(l.name, [outH, outW, l.outC]);
  });
  return bad;
}
