/**
 * Vector quantization of a weight matrix: every row is cut into sub-vectors of length d, a
 * codebook of K centroids is learnt from all sub-vectors of the matrix by k-means, and each
 * sub-vector is stored as the index of its nearest centroid (the scheme of Gong, Liu, Yang and
 * Bourdev, "Compressing Deep Convolutional Networks using Vector Quantization", arXiv:1412.6115,
 * 2014, section 3.3, with the sub-vectors taken along each row; product quantization is Jegou,
 * Douze and Schmid, "Product Quantization for Nearest Neighbor Search", IEEE TPAMI 33(1), 2011).
 *
 *  - Sub-vectors: row i, columns [j*d, (j+1)*d); a row whose length is not a multiple of d ends
 *    in a shorter piece, zero-padded to d for clustering and cut back when decoded.
 *  - k-means: seeded k-means++ initialisation (Arthur and Vassilvitskii, "k-means++: the
 *    advantages of careful seeding", SODA 2007: the first centre uniformly at random, each next
 *    one drawn with probability proportional to the squared distance to its nearest centre),
 *    then Lloyd iterations (assign every point to its nearest centre, ties to the lower index;
 *    move every centre to the mean of its points) until no assignment changes or maxIterations.
 *    An emptied cluster takes the point farthest from its centre (the lowest index among equals).
 *    Everything is computed in float64; centroids are stored as float32.
 *  - With n sub-vectors and K > n, the codebook has n centroids (every sub-vector exact).
 *  - Size: n * ceil(log2 K') index bits + K' * d float32 centroids, K' the codebook's size
 *    (0 index bits when K' = 1).
 */
import { InputError, requireInt } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';

export interface KMeansResult {
  /** k * d, row-major. */
  centroids: Float64Array;
  /** Cluster of each point. */
  assign: Int32Array;
  /** Sum of squared distances of the points to their centres. */
  sse: number;
  iterations: number;
}

function dist2(x: Float64Array, i: number, c: Float64Array, j: number, d: number): number {
  let s = 0;
  for (let t = 0; t < d; t++) s += (x[i * d + t]! - c[j * d + t]!) ** 2;
  return s;
}

/** k-means with k-means++ seeding on n points of dimension d (row-major `points`). */
export function kMeans(points: Float64Array, d: number, k: number, seed: number, maxIterations = 100): KMeansResult {
  requireInt('sub-vector length d', d, 1, 1 << 20);
  if (points.length % d !== 0 || points.length === 0) throw new InputError(`k-means: ${points.length} values do not make whole points of dimension ${d}`);
  const n = points.length / d;
  requireInt('codebook size K', k, 1, n);
  requireInt('k-means iterations', maxIterations, 1, 1e6);
  const rng = new Rng(seed);
  const c = new Float64Array(k * d);
  const setCentre = (j: number, i: number) => c.set(points.subarray(i * d, (i + 1) * d), j * d);
  // k-means++ seeding.
  setCentre(0, Math.min(n - 1, Math.floor(rng.next() * n)));
  const near = Float64Array.from({ length: n }, (_, i) => dist2(points, i, c, 0, d));
  for (let j = 1; j < k; j++) {
    let total = 0;
    for (let i = 0; i < n; i++) total += near[i]!;
    let pick = 0;
    if (total > 0) {
      let r = rng.next() * total;
      pick = n - 1;
      for (let i = 0; i < n; i++) {
        r -= near[i]!;
        if (r < 0) {
          pick = i;
          break;
        }
      }
    } else {
      pick = Math.min(n - 1, Math.floor(rng.next() * n)); // every point is already a centre
    }
    setCentre(j, pick);
    for (let i = 0; i < n; i++) near[i] = Math.min(near[i]!, dist2(points, i, c, j, d));
  }
  // Lloyd iterations.
  const assign = new Int32Array(n).fill(-1);
  const best = new Float64Array(n);
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      let [bj, bd] = [0, Infinity];
      for (let j = 0; j < k; j++) {
        const dd = dist2(points, i, c, j, d);
        if (dd < bd) [bj, bd] = [j, dd];
      }
      best[i] = bd;
      if (assign[i] !== bj) {
        assign[i] = bj;
        changed++;
      }
    }
    if (changed === 0) break;
    const sum = new Float64Array(k * d);
    const count = new Int32Array(k);
    for (let i = 0; i < n; i++) {
      const j = assign[i]!;
      count[j]!++;
      for (let t = 0; t < d; t++) sum[j * d + t]! += points[i * d + t]!;
    }
    for (let j = 0; j < k; j++) {
      if (count[j]! > 0) {
        for (let t = 0; t < d; t++) c[j * d + t] = sum[j * d + t]! / count[j]!;
        continue;
      }
      // An empty cluster takes the point farthest from its centre.
      let far = 0;
      for (let i = 1; i < n; i++) if (best[i]! > best[far]!) far = i;
      setCentre(j, far);
      best[far] = 0;
      assign[far] = j;
    }
  }
  let sse = 0;
  for (let i = 0; i < n; i++) sse += dist2(points, i, c, assign[i]!, d);
  return { centroids: c, assign, sse, iterations };
}

export interface VqMatrix {
  rows: number;
  cols: number;
  d: number;
  /** Centroids (float32), codebookSize * d. */
  codebook: Float32Array;
  codebookSize: number;
  /** Centroid index of every sub-vector, row by row. */
  indices: Int32Array;
  /** The matrix rebuilt from the centroids, rows * cols. */
  decoded: Float32Array;
  /** indices * ceil(log2 codebookSize) + 32 * codebook.length */
  bits: number;
  iterations: number;
}

/** Bits of one index into a codebook of `k` entries. */
export const indexBits = (k: number): number => (k <= 1 ? 0 : Math.ceil(Math.log2(k)));

/** Vector-quantizes a rows x cols row-major matrix (see the file comment). */
export function vectorQuantize(m: ArrayLike<number>, rows: number, cols: number, d: number, k: number, seed: number): VqMatrix {
  requireInt('rows', rows, 1, 1 << 30);
  requireInt('cols', cols, 1, 1 << 30);
  if (m.length !== rows * cols) throw new InputError(`vector quantization: a ${rows} x ${cols} matrix needs ${rows * cols} values, got ${m.length}`);
  requireInt('sub-vector length d', d, 1, 1 << 20);
  requireInt('codebook size K', k, 1, 1 << 20);
  const pieces = Math.ceil(cols / d);
  const n = rows * pieces;
  const points = new Float64Array(n * d);
  for (let r = 0; r < rows; r++)
    for (let p = 0; p < pieces; p++)
      for (let t = 0; t < d && p * d + t < cols; t++) points[(r * pieces + p) * d + t] = m[r * cols + p * d + t]!;
  const size = Math.min(k, n);
  const km = kMeans(points, d, size, seed);
  const codebook = Float32Array.from(km.centroids);
  const decoded = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++)
    for (let p = 0; p < pieces; p++) {
      const j = km.assign[r * pieces + p]!;
      for (let t = 0; t < d && p * d + t < cols; t++) decoded[r * cols + p * d + t] = codebook[j * d + t]!;
    }
  return { rows, cols, d, codebook, codebookSize: size, indices: km.assign, decoded, bits: n * indexBits(size) + 32 * codebook.length, iterations: km.iterations };
}
