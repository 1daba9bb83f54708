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
  /** Weight/activation widths, e.g. 'W4A4 (classifier W8A8)'. */
  bits?: string;
  /** FPGA cycles of one inference on engine (a) with each layer's packing plan. */
  fpgaCycles?: number;
  /** On the Pareto front of accuracy against FPGA cycles, size and MACs (no point is at least as good in all four and better in one). */
  pareto?: boolean;
  /** 'post-training' (calibrated here) or 'trained' (quantization-aware, from a committed artefact). */
  origin?: 'post-training' | 'trained';
}

/** A committed trained model as its training record and `fkb train` check measured it (models/fashion-mnist/lowbit). */
export interface TrainedSummary {
  name: string;
  bits: string;
  /** e.g. 'QAT, distilled, 2 epochs, seed 1'. */
  training: string;
  trainSeconds: number;
  /** Images both top-1 figures are on, e.g. 'Fashion-MNIST t10k images 0..9999'. */
  imageSet: string;
  images: number;
  /** The trainer's fake-quant model (PyTorch). */
  trainerTop1: number;
  /** The integer graph on the WASM kernels. */
  wasmTop1: number;
  /** The float model on the same images. */
  floatTop1: number;
  vsTrainer: { images: number; codes: number; differing: number; ties: number; unexplained: number };
  vsOrt: { images: number; codes: number; differing: number; ties: number; unexplained: number };
  dspDiffering: number;
  dspOutputs: number;
  fpgaCycles: number;
  /** MACs of one inference (a pruned model's own). */
  macs: number;
}

export interface CompressionResults {
  network: string;
  dataset: string;
  /** e.g. 'top-1 accuracy'. */
  metric: string;
  points: CompressionPoint[];
  /** The committed trained models' records and checks (their own image set: all test images). */
  trained?: TrainedSummary[];
}
