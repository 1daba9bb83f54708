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
  /** Cycles the off-chip traffic needs at the bandwidth the engine gets (device, or its own ports if lower). */
  memoryCycles: number;
  /**
   * computeCycles + loadCycles: with double buffering max(compute + exposed transfers, memory),
   * without it compute + memory (harness/fpga/models/common.ts `roofline`).
   */
  cycles: number;
  /**
   * Cycles the layer waits on off-chip transfers beyond its compute: cycles - computeCycles (the
   * load phases not hidden behind compute). Absent in reports written before the load phase was
   * modelled, like the fields below.
   */
  loadCycles?: number;
  /** Off-chip bandwidth the layer gets: the device's, or the engine's own ports where lower (GB/s). */
  bandwidthGBps?: number;
  /** Off-chip bytes whose transfer cannot overlap compute (all of them without double buffering). */
  exposedBytes?: number;
  /** Whether the engine overlaps tile transfers with compute (its `doubleBuffer` parameter). */
  doubleBuffered?: boolean;
  /** Input / output channels per group the array computes: padded up to its channel granularity. */
  paddedInC?: number;
  paddedOutC?: number;
  timeNs: number;
  offChipBytes: number;
  /** Peak of the configured engine: 2 * MACs/cycle * f. */
  peakGops: number;
  attainableGops: number;
  /**
   * What sets more of the layer's cycles: 'memory' when the transfers the engine cannot overlap
   * (serialized: all; double-buffered: the first tile's loads and the last tile's stores) or the
   * overlapped steady-state transfers exceed computeCycles, else 'compute'.
   */
  bound: Bound;
  dsp: number;
  /** 36 Kb block RAMs. */
  bram: number;
  /**
   * LUTs and flip-flops of the engine's fabric, where the model has an estimate (model a: fitted
   * on Yosys synthesis of its RTL, harness/fpga/models/splitconv-fabric.ts).
   */
  lut?: number;
  ff?: number;
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
    /** LUTs / FFs of the design when every layer's estimate has them. */
    lut?: number;
    ff?: number;
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

/** One layer of a published per-layer latency table next to an analytical model's estimate. */
export interface MeasuredLayerComparison {
  /** Which table of the data file (its network) and the layer's name there. */
  network: string;
  layer: string;
  shape: string;
  macs: number;
  measuredMs: number;
  modelMs: number;
  /** modelMs / measuredMs - 1 (negative: the model is faster than the hardware). */
  error: number;
  computeCycles: number;
  loadCycles: number;
  cycles: number;
  /** The model's bound: 'memory' flags the layers the model calls load-bound. */
  bound: Bound;
  /** The table's own utilisation (% of the accelerator's peak), as printed. */
  measuredUtilizationPct?: number;
}

export interface MeasuredValidation {
  /** Title, authors, repository, commit and tables of the source. */
  source: string;
  accelerator: string;
  model: string;
  device: string;
  clockMHz: number;
  params: Record<string, number | string>;
  layers: MeasuredLayerComparison[];
  /** Median and worst |error| over all layers, and over the compute- and memory-bound ones. */
  medianAbsError: number;
  worstAbsError: number;
  worstLayer: string;
  computeBound: { layers: number; medianAbsError: number };
  memoryBound: { layers: number; medianAbsError: number; names: string[] };
  /** Rows of the source not compared, with the reason. */
  excluded: string[];
}
