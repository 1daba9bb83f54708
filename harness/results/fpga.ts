/** What the FPGA models computed for a network (`fkb model`), and the same next to the WASM kernels. */

/** One layer as an analytical model estimates it (fields as harness/fpga/models/common.ts defines them). */
export interface ModelLayerRow {
  name: string;
  shape: string;
  ops: number;
  macs: number;
  computeCycles: number;
  memoryCycles: number;
  cycles: number;
  timeNs: number;
  offChipBytes: number;
  peakGops: number;
  attainableGops: number;
  bound: 'compute' | 'memory';
  dsp: number;
  bram: number;
  utilization: number;
  detail: Record<string, number | string>;
  warnings: string[];
}

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
