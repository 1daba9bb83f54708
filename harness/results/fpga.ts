/** What the FPGA models computed for a network (`fkb model`), and the same next to the WASM kernels. */

/** What limits a layer: the compute engine or the off-chip traffic. */
export type Bound = 'compute' | 'memory';

/** One layer as an analytical FPGA model estimates it (harness/fpga/models/). */
export interface LayerEstimate {
  /** Output-stationary ops: 2 * MACs actually needed by the layer (no padding or tiling waste). */
  ops: number;
  macs: number;
  /** Cycles of the compute engine alone (the exact formula of each model). */
  computeCycles: number;
  /** Cycles the off-chip traffic needs at the device bandwidth. */
  memoryCycles: number;
  /** max(computeCycles, memoryCycles). */
  cycles: number;
  timeNs: number;
  offChipBytes: number;
  /** Peak of the configured engine: 2 * MACs/cycle * f. */
  peakGops: number;
  attainableGops: number;
  bound: Bound;
  dsp: number;
  /** 36 Kb block RAMs. */
  bram: number;
  /** Products per DSP (1, 2 or 4). */
  packing: 1 | 2 | 4;
  /** macs / (computeCycles * peak MACs per cycle). */
  utilization: number;
  /** Model-specific intermediate terms (tile counts, fill latency, CTC ratio, ...). */
  detail: Record<string, number | string>;
  warnings: string[];
}

/** A layer of a network, with its estimate. */
export type ModelLayerRow = LayerEstimate & { name: string; shape: string };

export interface ModelReport {
  model: string;
  device: string;
  clockMHz: number;
  network: string;
  params: Record<string, number | string>;
  layers: ModelLayerRow[];
  totals: {
    macs: number;
    cycles: number;
    timeNs: number;
    gops: number;
    /** Pipelined dataflow engines only: throughput f / slowest layer. */
    fps?: number;
    bottleneck?: string;
    /** DSPs / BRAM36 of the design: the largest layer's for a reused engine, the sum for a dataflow one. */
    dsp: number;
    bram: number;
    resources: 'max' | 'sum';
    memoryBoundLayers: number;
  };
  warnings: string[];
}

/** One network layer: the FPGA model's estimate and the fastest WASM kernel on the same shape. */
export interface FpgaLayerComparison {
  layer: string;
  shape: string;
  macs: number;
  cycles: number;
  timeNs: number;
  bound: 'compute' | 'memory';
  peakGops: number;
  /** The model's attainable throughput, GOPS (1 MAC = 2 ops). */
  fpgaGops: number;
  offChipBytes: number;
  /** Ops per off-chip byte: the model's field when it has one, else 2 * MACs / offChipBytes. */
  operationalIntensity: number | null;
  utilization: number;
  /** Fastest of our WASM kernels measured on this shape (onnxruntime excluded), GOPS = 2 * GMAC/s. */
  wasm?: { kernel: string; module: string; gops: number; p50Ms: number; measuredAs: string };
}

export interface FpgaSection {
  model: string;
  device: string;
  clockMHz: number;
  network: string;
  params: Record<string, number | string>;
  /** The roof: the configured engine's peak and the board memory bandwidth. */
  roof: { peakGops: number; bandwidthGBps: number; bandwidthSource: string };
  layers: FpgaLayerComparison[];
  totals: { gops: number; timeNs: number; macs: number; dsp: number; bram: number; memoryBoundLayers: number };
  warnings: string[];
}
