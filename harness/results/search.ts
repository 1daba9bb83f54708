/** What `fkb search` (harness/search/) finds: candidates, their measured results, the front. */

export interface EngineConfig {
  L: number;
  Po: number;
  Pp: number;
}

/** One candidate: what `fkb compress` is given to rebuild it. */
export interface Candidate {
  /** Pruning ratio per prunable convolution (only those > 0). */
  ratio: Record<string, number>;
  weightBits: Record<string, number>;
  activationBits: Record<string, number>;
  engine: EngineConfig;
}

export interface EvalResult {
  /** Correct top-1 answers of the integer model (WASM kernels) and the images measured. */
  correct: number;
  images: number;
  top1: number;
  sizeBits: number;
  macs: number;
  /** Engine (a): cycles, microseconds per image, DSP slices; absent when infeasible. */
  cycles?: number;
  latencyUs?: number;
  dsp?: number;
  /** Why the engine cannot be built for this model (BRAM, fabric), when it cannot. */
  infeasible?: string;
  /** The packing scheme of each convolution. */
  schemes: string[];
}

export interface SearchPoint {
  strategy: string;
  key: string;
  candidate: Candidate;
  search: EvalResult;
  /** Top-1 on the held-out images (final front only). */
  heldOut?: { top1: number; correct: number; images: number };
  command: string;
}

export interface StrategySummary {
  name: string;
  scored: number;
  evaluated: number;
  reused: number;
  seconds: number;
  feasible: number;
  /** Its own front on the search images. */
  front: number;
  /** Hypervolume of its front in the box of all strategies' points (objectives.ts), 4 objectives and error x latency. */
  hypervolume: number;
  hypervolume2d: number;
}

export interface HandPicked {
  setting: string;
  top1: number;
  latencyUs: number;
  dsp: number;
  sizeBits: number;
  /**
   * Among the front points at equal or lower latency, the one with the best search top-1 (ties:
   * lower latency), its held-out top-1, and whether that is higher than the setting's.
   */
  best?: { key: string; top1: number; latencyUs: number; dsp: number; beats: boolean };
}

export interface SearchResult {
  model: string;
  device: string;
  seed: number;
  budget: number;
  threads: number;
  images: { calibration: string; search: string; heldOut: string };
  strategies: StrategySummary[];
  /** Candidates evaluated (not read from the store) in this process, and its wall time. */
  evaluatedHere: number;
  reusedHere: number;
  seconds: number;
  /** Candidates the strategies evaluated (not read from the store) per second of the strategies' phase. */
  candidatesPerSecond: number;
  reference: EvalResult;
  /** The front of all strategies' candidates on the search images, each measured on the held-out images. */
  front: SearchPoint[];
  handPicked: HandPicked[];
}
