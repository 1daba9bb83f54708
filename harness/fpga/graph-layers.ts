/**
 * What a (compressed) model would cost on the FPGA: its convolutions as layer specs for the
 * analytical models of harness/fpga/, with each layer's bit widths.
 */
import { getDevice } from './devices.ts';
import { MODELS, type LayerEstimate, modelEvaluator } from './models/index.ts';
import { type Graph, inferShapes } from '../model/graph.ts';
import type { NetworkLayer } from '../networks/network.ts';

/** The graph's convolutions (fully connected layers included) as network layers. */
export function graphLayers(
  graph: Graph,
  bits: (conv: string) => Pick<NetworkLayer, 'wBits' | 'aBits' | 'packing'> = () => ({ wBits: 8, aBits: 8 }),
): NetworkLayer[] {
  const shapes = inferShapes(graph);
  const layers: NetworkLayer[] = [];
  for (const node of graph.nodes) {
    if (node.op !== 'conv') continue;
    const input = shapes.get(node.inputs[0]!)!;
    const { wBits, aBits, packing } = bits(node.name);
    layers.push({
      name: node.name,
      inH: input.h,
      inW: input.w,
      inC: node.inC,
      outC: node.outC,
      kH: node.kH,
      kW: node.kW,
      strideH: node.strideH,
      strideW: node.strideW,
      padTop: node.pads.top,
      padBottom: node.pads.bottom,
      padLeft: node.pads.left,
      padRight: node.pads.right,
      groups: node.groups,
      wBits,
      aBits,
      ...(packing ? { packing } : {}),
      fc: node.fc,
    });
  }
  return layers;
}

export interface FpgaEstimate {
  model: string;
  device: string;
  clockMHz: number;
  params: Record<string, unknown>;
  layers: (LayerEstimate & { name: string })[];
  cycles: number;
  timeUs: number;
  framesPerSecond: number;
}

/** Model a (the split-convolution engine) on every convolution of the graph, run one after another. */
export function fpgaEstimate(
  layers: readonly NetworkLayer[],
  options: { device?: string; clockMHz?: number; params?: Record<string, unknown> } = {},
): FpgaEstimate {
  const device = getDevice(options.device ?? 'zcu104');
  const clockMHz = options.clockMHz ?? device.typicalClockMHz;
  const { params, evaluate } = modelEvaluator(MODELS.a, options.params ?? {}, device, clockMHz);
  const est = layers.map((l) => ({ name: l.name, ...evaluate(l) }));
  const cycles = est.reduce((a, e) => a + e.cycles, 0);
  const timeUs = cycles / clockMHz;
  return {
    model: `a (${MODELS.a.name})`,
    device: `${device.name} (${device.board})`,
    clockMHz,
    params,
    layers: est,
    cycles,
    timeUs,
    framesPerSecond: 1e6 / timeUs,
  };
}
