/** Accuracy against size and MACs of compressed versions of one network. */

/** One compression setting of a network, measured on a dataset. */
export interface CompressionPoint {
  /** e.g. 'int8 per-channel', 'int4 weights, 50 % pruned'. */
  setting: string;
  /** Colour group, e.g. 'baseline', 'quantization', 'pruning'. @default 'other' */
  method?: string;
  /** Accuracy as a fraction in [0, 1] (shown as %). */
  accuracy: number;
  /** Model size in bytes (weights as stored). */
  sizeBytes: number;
  /** MACs of one inference (pruned MACs not counted). */
  macs: number;
}

export interface CompressionResults {
  network: string;
  dataset: string;
  /** e.g. 'top-1 accuracy'. */
  metric: string;
  points: CompressionPoint[];
}
