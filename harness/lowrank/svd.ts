/**
 * Singular value decomposition by one-sided Jacobi rotations, in float64.
 *
 * For an m x n matrix A, svd(A) = U diag(s) V^T with r = min(m, n), U m x r and V n x r with
 * orthonormal columns and s[0] >= s[1] >= ... >= s[r-1] >= 0.
 *
 * Method (Hestenes, "Inversion of matrices by biorthogonalization and related results", J. SIAM
 * 6(1), 1958; the convergence test of Demmel and Veselic, "Jacobi's method is more accurate than
 * QR", SIAM J. Matrix Anal. Appl. 13(4), 1992): take B = A when m >= n, else B = A^T, so that
 * B has r columns. Plane rotations applied on the right, B <- B J(p, q, theta), make every pair
 * of columns orthogonal in turn; with
 *
 *     alpha = ||b_p||^2,  beta = ||b_q||^2,  gamma = b_p . b_q,
 *     zeta = (beta - alpha) / (2 gamma),  t = sign(zeta) / (|zeta| + sqrt(1 + zeta^2)),
 *     c = 1 / sqrt(1 + t^2),  s = c t,
 *     b_p <- c b_p - s b_q,   b_q <- s b_p + c b_q,
 *
 * b_p . b_q becomes 0 (t is the smaller root of t^2 + 2 zeta t - 1 = 0, the rotation of at most
 * 45 degrees). The same rotations accumulate in W (r x r, from the identity), so B W has
 * orthogonal columns: B W = Q diag(sigma), sigma_j = ||(B W)_j||. Cyclic sweeps over all pairs
 * stop when every pair satisfies |gamma| <= eps * sqrt(alpha * beta) (eps = 1e-15), or after
 * MAX_SWEEPS. Then B = Q diag(sigma) W^T: for B = A, U = Q and V = W; for B = A^T, U = W and
 * V = Q. Columns are sorted by sigma, descending. Columns of Q whose sigma is 0 (rank-deficient
 * A) are completed to an orthonormal set by Gram-Schmidt against the unit vectors.
 *
 * Matrices are row-major Float64Arrays: element (i, j) of an m x n matrix is at i * n + j.
 */
import { InputError } from '../util/errors.ts';

export interface Svd {
  rows: number;
  cols: number;
  /** min(rows, cols) */
  rank: number;
  /** rows x rank, row-major, orthonormal columns. */
  u: Float64Array;
  /** rank values, descending, >= 0. */
  s: Float64Array;
  /** cols x rank, row-major, orthonormal columns. */
  v: Float64Array;
  /** Jacobi sweeps made. */
  sweeps: number;
}

export const MAX_SWEEPS = 100;
const EPS = 1e-15;

/** Dot product of two columns of equal length. */
function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function rotate(a: Float64Array, b: Float64Array, c: number, s: number): void {
  for (let i = 0; i < a.length; i++) {
    const [x, y] = [a[i]!, b[i]!];
    a[i] = c * x - s * y;
    b[i] = s * x + c * y;
  }
}

/** Completes `cols` (unit or zero vectors of length n, the zero ones marked in `missing`) to an orthonormal set. */
function complete(cols: Float64Array[], missing: boolean[]): void {
  const n = cols[0]!.length;
  let e = 0;
  for (let j = 0; j < cols.length; j++) {
    if (!missing[j]) continue;
    for (; e < n; e++) {
      const x = new Float64Array(n);
      x[e] = 1;
      // Twice: classical Gram-Schmidt repeated is as accurate as modified Gram-Schmidt here.
      for (let pass = 0; pass < 2; pass++) {
        for (let k = 0; k < cols.length; k++) {
          if (missing[k] && k >= j) continue;
          const d = dot(x, cols[k]!);
          for (let i = 0; i < n; i++) x[i]! -= d * cols[k]![i]!;
        }
      }
      const norm = Math.sqrt(dot(x, x));
      if (norm > 0.5) {
        for (let i = 0; i < n; i++) x[i]! /= norm;
        cols[j] = x;
        missing[j] = false;
        e++;
        break;
      }
    }
  }
}

/** Thin SVD of the rows x cols row-major matrix `a` (see the file comment). */
export function svd(a: ArrayLike<number>, rows: number, cols: number): Svd {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) throw new InputError(`svd: rows and cols must be positive integers, got ${rows} x ${cols}`);
  if (a.length !== rows * cols) throw new InputError(`svd: a ${rows} x ${cols} matrix needs ${rows * cols} values, got ${a.length}`);
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) throw new InputError(`svd: element ${i} of the matrix is ${a[i]}, expected a finite number`);
  const tall = rows >= cols;
  const [m, r] = tall ? [rows, cols] : [cols, rows];
  // Columns of B (length m) and of W (length r).
  const b = Array.from({ length: r }, (_, j) => Float64Array.from({ length: m }, (_, i) => (tall ? a[i * cols + j]! : a[j * cols + i]!)));
  const w = Array.from({ length: r }, (_, j) => {
    const e = new Float64Array(r);
    e[j] = 1;
    return e;
  });
  let sweeps = 0;
  for (let rotated = true; rotated && sweeps < MAX_SWEEPS; sweeps++) {
    rotated = false;
    for (let p = 0; p < r - 1; p++)
      for (let q = p + 1; q < r; q++) {
        const alpha = dot(b[p]!, b[p]!);
        const beta = dot(b[q]!, b[q]!);
        const gamma = dot(b[p]!, b[q]!);
        if (gamma === 0 || Math.abs(gamma) <= EPS * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        rotate(b[p]!, b[q]!, c, c * t);
        rotate(w[p]!, w[q]!, c, c * t);
      }
  }
  const sigma = b.map((col) => Math.sqrt(dot(col, col)));
  const order = [...sigma.keys()].sort((x, y) => sigma[y]! - sigma[x]! || x - y);
  // A column is numerically zero below r * eps * the largest singular value.
  const tiny = Math.max(r, m) * 2.2e-16 * (sigma[order[0]!] ?? 0);
  const q = order.map((j) => (sigma[j]! > tiny && sigma[j]! > 0 ? b[j]!.map((x) => x / sigma[j]!) : new Float64Array(m)));
  const missing = order.map((j) => !(sigma[j]! > tiny && sigma[j]! > 0));
  if (missing.some(Boolean)) complete(q, missing);
  const wSorted = order.map((j) => w[j]!);
  const s = Float64Array.from(order, (j) => (sigma[j]! > tiny ? sigma[j]! : 0));
  const toRowMajor = (colsOf: Float64Array[], n: number): Float64Array => {
    const out = new Float64Array(n * r);
    colsOf.forEach((col, j) => col.forEach((x, i) => (out[i * r + j] = x)));
    return out;
  };
  const [uCols, vCols] = tall ? [q, wSorted] : [wSorted, q];
  return { rows, cols, rank: r, u: toRowMajor(uCols, rows), s, v: toRowMajor(vCols, cols), sweeps };
}

/** U_k diag(s_k) V_k^T, the best rank-k approximation (Eckart and Young, Psychometrika 1(3), 1936). */
export function reconstruct(d: Svd, k = d.rank): Float64Array {
  const out = new Float64Array(d.rows * d.cols);
  for (let i = 0; i < d.rows; i++)
    for (let j = 0; j < d.cols; j++) {
      let x = 0;
      for (let l = 0; l < k; l++) x += d.u[i * d.rank + l]! * d.s[l]! * d.v[j * d.rank + l]!;
      out[i * d.cols + j] = x;
    }
  return out;
}

/** Fraction of sum s^2 (the squared Frobenius norm) that the first k singular values hold; 1 for a zero matrix. */
export function energyKept(s: ArrayLike<number>, k: number): number {
  let total = 0;
  let kept = 0;
  for (let i = 0; i < s.length; i++) {
    total += s[i]! ** 2;
    if (i < k) kept += s[i]! ** 2;
  }
  return total > 0 ? kept / total : 1;
}
