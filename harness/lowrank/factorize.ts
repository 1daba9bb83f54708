/**
 * Low-rank factorization of every dense convolution and fully connected layer by truncated SVD,
 * then vector quantization of the factors: a float graph (harness/model/graph.ts) in, float
 * graphs out, so float inference, pruning and quantization run on the result unchanged.
 *
 * The method is the one the issue names after Wang et al. (low-rank decomposition followed by
 * vector quantization of the factors; their paper could not be consulted). What is implemented:
 *
 * 1. Batch norms are folded first (fold.ts), so each convolution's matrix is the one inference
 *    uses. A convolution's weights (OHWI) are the matrix W of outC rows and K = kH*kW*inC
 *    columns; row o is filter o.
 * 2. W = U diag(s) V^T (svd.ts). The rank k is either round(rankRatio * min(outC, K)) (at least
 *    1) or the smallest k whose singular values hold `energy` of sum s^2 (the squared Frobenius
 *    norm). By Eckart and Young, W_k = U_k diag(s_k) V_k^T is the closest rank-k matrix, with
 *    ||W - W_k||_F / ||W||_F = sqrt(1 - energy kept).
 * 3. The layer becomes two (as Denton, Zaremba, Bruna, LeCun and Fergus, "Exploiting Linear
 *    Structure Within Convolutional Networks for Efficient Evaluation", NeurIPS 2014, and
 *    Jaderberg, Vedaldi and Zisserman, "Speeding up Convolutional Neural Networks with Low Rank
 *    Expansions", BMVC 2014, factor convolutions):
 *       '<name>/factor1': A = diag(sqrt(s_k)) V_k^T (k x K): a kH x kW convolution with k
 *                         filters, the original stride and pads, no bias, writing
 *                         '<output>/factor1';
 *       '<name>/factor2': B = U_k diag(sqrt(s_k)) (outC x k): a 1x1 convolution k -> outC with
 *                         the original bias, writing the original output.
 *    A fully connected layer becomes two fully connected layers the same way. sqrt(s) on both
 *    sides gives the factors the same scale, which suits one codebook size for both. A layer is
 *    factorized only when that stores fewer weights, k (outC + K) < outC K (the same condition
 *    makes it cheaper in MACs); otherwise it stays whole (rank reported as full). Grouped and
 *    depthwise convolutions stay whole.
 * 4. Every weight matrix of the result (both factors, or the whole layer) is vector-quantized
 *    (vq.ts) with its own codebook of K centroids of d values; the matrix is then stored as
 *    indices + codebook, or as float32 when that is not smaller. Biases stay float32.
 *
 * Size in bits: 32 per float weight and bias; for a vector-quantized matrix,
 * ceil(log2 K) per sub-vector + 32 per codebook value (vq.ts). MACs: graphMacs.
 */
import { type ConvNode, type Graph, type GraphNode, graphMacs, inferShapes } from '../model/graph.ts';
import { foldBatchNorm } from '../model/fold.ts';
import { InputError, requireInt } from '../util/errors.ts';
import { energyKept, svd } from './svd.ts';
import { type VqMatrix, vectorQuantize } from './vq.ts';

export interface LowRankOptions {
  /** Keep round(rankRatio * min(outC, K)) singular values per layer, in (0, 1]. */
  rankRatio?: number;
  /** Instead: keep the fewest singular values holding this fraction of sum s^2, in (0, 1]. @default 0.95 (when rankRatio is not given) */
  energy?: number;
  /** Centroids per codebook, in [2, 65536]; 0 skips vector quantization. @default 256 */
  codebook?: number;
  /** Sub-vector length d, in [1, 64]. @default 2 */
  subvector?: number;
  /** Seed of k-means++ (each matrix gets seed + its index). @default 1 */
  seed?: number;
}

export const LOWRANK_DEFAULTS = { energy: 0.95, codebook: 256, subvector: 2, seed: 1 } as const;

export interface FactorSummary {
  name: string;
  rows: number;
  cols: number;
  /** Null when the matrix is stored as float32 (no VQ asked for, or VQ would not be smaller). */
  vq: { codebookSize: number; d: number; iterations: number } | null;
  bits: number;
}

export interface LayerFactorization {
  /** The convolution's name in the folded graph. */
  name: string;
  fc: boolean;
  /** outC x K, the matrix factorized. */
  rows: number;
  cols: number;
  fullRank: number;
  /** Rank kept (fullRank when the layer stays whole). */
  rank: number;
  factorized: boolean;
  /** Share of sum s^2 the kept singular values hold (1 when whole). */
  energy: number;
  /** ||W - product of the float factors||_F / ||W||_F. */
  lowRankError: number;
  /** ||W - product of the vector-quantized factors||_F / ||W||_F. */
  compressedError: number;
  weightsBefore: number;
  weightsAfter: number;
  /** Weights and biases at 32 bits. */
  bitsBefore: number;
  /** Float factors and biases at 32 bits. */
  bitsLowRank: number;
  /** Vector-quantized factors plus 32-bit biases. */
  bitsAfter: number;
  macsBefore: number;
  macsAfter: number;
  factors: FactorSummary[];
}

export interface LowRankResult {
  options: Required<Omit<LowRankOptions, 'rankRatio' | 'energy'>> & { rankRatio: number | null; energy: number | null };
  /** The folded input graph (what was factorized). */
  folded: Graph;
  /** Factorized, float factors. */
  lowRank: Graph;
  /** Factorized and vector-quantized (the decoded weights): equal to lowRank when codebook = 0. */
  compressed: Graph;
  layers: LayerFactorization[];
  bits: { float: number; lowRank: number; compressed: number };
  macs: { float: number; lowRank: number };
}

function checkOptions(o: LowRankOptions): LowRankResult['options'] {
  if (o.rankRatio !== undefined && o.energy !== undefined) throw new InputError('give either a rank ratio or an energy threshold, not both');
  const inUnit = (what: string, v: number): number => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 1) throw new InputError(`${what} must be a number in (0, 1], got ${String(v)}`);
    return v;
  };
  const rankRatio = o.rankRatio === undefined ? null : inUnit('rank ratio', o.rankRatio);
  const energy = rankRatio !== null ? null : inUnit('energy', o.energy ?? LOWRANK_DEFAULTS.energy);
  const codebook = o.codebook ?? LOWRANK_DEFAULTS.codebook;
  if (codebook !== 0) requireInt('codebook size', codebook, 2, 65536);
  const subvector = requireInt('sub-vector length', o.subvector ?? LOWRANK_DEFAULTS.subvector, 1, 64);
  const seed = requireInt('seed', o.seed ?? LOWRANK_DEFAULTS.seed, 0, 0xffffffff);
  return { rankRatio, energy, codebook, subvector, seed };
}

/** Rank kept for singular values `s` under the options (at least 1). */
export function chooseRank(s: ArrayLike<number>, o: { rankRatio: number | null; energy: number | null }): number {
  const full = s.length;
  if (o.rankRatio !== null) return Math.min(full, Math.max(1, Math.round(o.rankRatio * full)));
  for (let k = 1; k <= full; k++) if (energyKept(s, k) >= o.energy! - 1e-12) return k;
  return full;
}

/** ||a - b||_F / ||a||_F (0 for a zero matrix equal to b). */
function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let [num, den] = [0, 0];
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += a[i]! ** 2;
  }
  return den > 0 ? Math.sqrt(num / den) : Math.sqrt(num);
}

/** The rows x cols product of B (rows x k) and A (k x cols). */
function product(b: ArrayLike<number>, a: ArrayLike<number>, rows: number, k: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++)
    for (let l = 0; l < k; l++) {
      const x = b[i * k + l]!;
      if (x === 0) continue;
      for (let j = 0; j < cols; j++) out[i * cols + j]! += x * a[l * cols + j]!;
    }
  return out;
}

/** Factorizes and vector-quantizes every dense convolution of `graph` (see the file comment). */
export function lowRankCompress(graph: Graph, options: LowRankOptions = {}): LowRankResult {
  const o = checkOptions(options);
  const folded = foldBatchNorm(graph).graph;
  const shapes = inferShapes(folded);
  const lowNodes: GraphNode[] = [];
  const vqNodes: GraphNode[] = [];
  const layers: LayerFactorization[] = [];
  let matrixIndex = 0;
  /** Stores a matrix: VQ when asked for and smaller than float32. */
  const store = (name: string, m: Float32Array, rows: number, cols: number): { values: Float32Array; summary: FactorSummary } => {
    const floatBits = 32 * rows * cols;
    const seed = (o.seed + 7919 * matrixIndex++) >>> 0;
    let q: VqMatrix | null = null;
    if (o.codebook > 0) q = vectorQuantize(m, rows, cols, o.subvector, o.codebook, seed);
    if (!q || q.bits >= floatBits) return { values: m, summary: { name, rows, cols, vq: null, bits: floatBits } };
    return { values: q.decoded, summary: { name, rows, cols, vq: { codebookSize: q.codebookSize, d: q.d, iterations: q.iterations }, bits: q.bits } };
  };

  for (const node of folded.nodes) {
    if (node.op !== 'conv') {
      lowNodes.push(node);
      vqNodes.push(node);
      continue;
    }
    const out = shapes.get(node.output)!;
    const pixels = out.h * out.w;
    const rows = node.outC;
    const cols = node.weights.length / node.outC;
    const weightsBefore = node.weights.length;
    const base = {
      name: node.name, fc: node.fc, rows, cols, weightsBefore,
      bitsBefore: 32 * (weightsBefore + node.bias.length), macsBefore: pixels * weightsBefore,
    };
    const whole = (fullRank: number): void => {
      const s = store(node.name, node.weights, rows, cols);
      lowNodes.push(node);
      vqNodes.push({ ...node, weights: s.values });
      layers.push({
        ...base, fullRank, rank: fullRank, factorized: false, energy: 1, lowRankError: 0, compressedError: relError(node.weights, s.values),
        weightsAfter: weightsBefore, bitsLowRank: base.bitsBefore, bitsAfter: s.summary.bits + 32 * node.bias.length, macsAfter: base.macsBefore, factors: [s.summary],
      });
    };
    if (node.groups !== 1) {
      whole(Math.min(rows, cols));
      continue;
    }
    const d = svd(node.weights, rows, cols);
    const k = chooseRank(d.s, o);
    if (k * (rows + cols) >= rows * cols) {
      whole(d.rank);
      continue;
    }
    // A = diag(sqrt(s_k)) V_k^T (k x cols), B = U_k diag(sqrt(s_k)) (rows x k), float32.
    const a = new Float32Array(k * cols);
    const b = new Float32Array(rows * k);
    for (let l = 0; l < k; l++) {
      const r = Math.sqrt(d.s[l]!);
      for (let j = 0; j < cols; j++) a[l * cols + j] = r * d.v[j * d.rank + l]!;
      for (let i = 0; i < rows; i++) b[i * k + l] = r * d.u[i * d.rank + l]!;
    }
    const mid = `${node.output}/factor1`;
    const first = (w: Float32Array): ConvNode => ({ ...node, name: `${node.name}/factor1`, output: mid, outC: k, weights: w, bias: new Float32Array(k) });
    const second = (w: Float32Array): ConvNode => ({
      ...node, name: `${node.name}/factor2`, inputs: [mid], kH: 1, kW: 1, strideH: 1, strideW: 1,
      pads: { top: 0, left: 0, bottom: 0, right: 0 }, inC: k, weights: w,
    });
    const sa = store(`${node.name}/factor1`, a, k, cols);
    const sb = store(`${node.name}/factor2`, b, rows, k);
    lowNodes.push(first(a), second(b));
    vqNodes.push(first(sa.values), second(sb.values));
    const weightsAfter = a.length + b.length;
    layers.push({
      ...base, fullRank: d.rank, rank: k, factorized: true, energy: energyKept(d.s, k),
      lowRankError: relError(node.weights, product(b, a, rows, k, cols)),
      compressedError: relError(node.weights, product(sb.values, sa.values, rows, k, cols)),
      weightsAfter, bitsLowRank: 32 * (weightsAfter + node.bias.length), bitsAfter: sa.summary.bits + sb.summary.bits + 32 * node.bias.length,
      macsAfter: pixels * weightsAfter, factors: [sa.summary, sb.summary],
    });
  }
  const lowRank: Graph = { ...folded, nodes: lowNodes };
  const compressed: Graph = { ...folded, nodes: vqNodes };
  inferShapes(lowRank);
  inferShapes(compressed);
  const sum = (f: (l: LayerFactorization) => number): number => layers.reduce((s, l) => s + f(l), 0);
  return {
    options: o,
    folded,
    lowRank,
    compressed: o.codebook > 0 ? compressed : lowRank,
    layers,
    bits: { float: sum((l) => l.bitsBefore), lowRank: sum((l) => l.bitsLowRank), compressed: sum((l) => l.bitsAfter) },
    macs: { float: graphMacs(folded), lowRank: graphMacs(lowRank) },
  };
}
