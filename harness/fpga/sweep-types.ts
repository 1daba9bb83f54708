/**
 * The data of a design-space sweep (sweep.ts): what the caller asks for, what comes back, and
 * the share of the work one worker thread returns.
 */
import type { Device } from './devices.ts';
import type { LayerSpec, Params } from './models/common.ts';

export type DimValue = number | string;

export interface SweepDim {
  name: string;
  values: readonly DimValue[];
}

export interface SweepLayer extends LayerSpec {
  name?: string;
}

export interface SweepOptions {
  /** Model id ('a'..'e') or name. */
  model: string;
  device: Device;
  network: { name: string; layers: readonly SweepLayer[] };
  clockMHz: number;
  /** At most this many configurations; a larger space is sampled at an even stride. @default 1_000_000 */
  limit?: number;
  /** Values of a dimension, replacing its default (any parameter of the model, or `cores` for a model with maxCores > 1). */
  ranges?: Record<string, readonly DimValue[]>;
  /** Parameters held at one value (not swept). */
  fixed?: Record<string, unknown>;
  /** Called every few thousand configurations. */
  onProgress?: (done: number, total: number) => void;
  /** Evaluate through `model.evaluate` even where the model has a `core` (tests compare both). @default false */
  generic?: boolean;
  /** Reused-engine models only: evaluate only the sampled configurations k in [from, to) (a worker's share). */
  slice?: { from: number; to: number };
}

/** One worker's share of a reused-engine sweep, in a form that crosses threads. */
export interface SweepShare {
  config: Float64Array;
  cycles: Float64Array;
  fps: Float64Array;
  dsp: Float64Array;
  bram: Float64Array;
  memBound: Int32Array;
  infeasible: { total: number; reasons: InfeasibleCount[] };
}

export interface SweepPoint {
  /** Values of the swept dimensions. */
  config: Record<string, DimValue>;
  /** Every parameter of the model (for `fkb model --set`). */
  params: Params;
  cores: number;
  cyclesPerFrame: number;
  fps: number;
  gops: number;
  dsp: number;
  bram: number;
  /** Layers (with multiplicity) whose off-chip traffic takes longer than their compute. */
  memoryBoundLayers: number;
  /** FINN: the (PE, SIMD) the folding rule chose for every layer. */
  foldings?: { layer: string; PE: number; SIMD: number; cycles: number }[];
}

export interface InfeasibleCount {
  reason: string;
  count: number;
  /** The first such configuration's error message. */
  example: string;
}

export interface SweepResult {
  model: string;
  device: string;
  network: string;
  clockMHz: number;
  dims: SweepDim[];
  /** Configurations in the space. */
  space: number;
  evaluated: number;
  feasible: number;
  infeasible: { total: number; reasons: InfeasibleCount[] };
  /** Non-dominated in (throughput max, DSP min, BRAM min), by throughput descending. */
  front: SweepPoint[];
  /** Non-dominated in (throughput max, DSP min). */
  frontDsp: SweepPoint[];
  /** Non-dominated in (throughput max, BRAM min). */
  frontBram: SweepPoint[];
  elapsedMs: number;
}

export const DEFAULT_LIMIT = 1_000_000;
/** Configurations between two onProgress calls. */
export const PROGRESS_EVERY = 4096;
