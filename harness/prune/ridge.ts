/**
 * Ridge least squares towards a starting point, the solver of the reconstruction
 * (reconstruct.ts):
 *     w = argmin ||A w - Y||^2 + lambda ||w - w0||^2,   lambda = ridge * trace(A^T A) / K
 * solved by Cholesky on the normal equations (A^T A + lambda I) w = A^T Y + lambda w0 when
 * there are at least as many rows N as unknowns K, else on the equivalent dual system
 * w = w0 + A^T (A A^T + lambda I)^-1 (Y - A w0). The ridge pulls towards w0 rather than
 * towards 0, which keeps an under-determined fc (few images, many columns) sensible.
 */

/** A Cholesky factor L (lower, row-major n x n) of a symmetric positive definite matrix, in place. */
function cholesky(m: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) {
    let d = m[j * n + j]!;
    for (let k = 0; k < j; k++) d -= m[j * n + k]! ** 2;
    if (!(d > 0)) throw new Error(`reconstruction: normal matrix not positive definite at ${j} (${d})`);
    const l = Math.sqrt(d);
    m[j * n + j] = l;
    for (let i = j + 1; i < n; i++) {
      let s = m[i * n + j]!;
      for (let k = 0; k < j; k++) s -= m[i * n + k]! * m[j * n + k]!;
      m[i * n + j] = s / l;
    }
  }
}

/** Solves L L^T x = b for `cols` right-hand sides stored as b[row * cols + col], in place. */
function cholSolve(l: Float64Array, n: number, b: Float64Array, cols: number): void {
  for (let c = 0; c < cols; c++) {
    for (let i = 0; i < n; i++) {
      let s = b[i * cols + c]!;
      for (let k = 0; k < i; k++) s -= l[i * n + k]! * b[k * cols + c]!;
      b[i * cols + c] = s / l[i * n + i]!;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = b[i * cols + c]!;
      for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * b[k * cols + c]!;
      b[i * cols + c] = s / l[i * n + i]!;
    }
  }
}

/**
 * Ridge least squares towards w0: rows of A (N x K), targets Y (N x M), w0 (K x M) -> w (K x M).
 */
export function ridgeSolve(a: Float64Array, y: Float64Array, w0: Float64Array, n: number, k: number, m: number, ridge: number): Float64Array {
  let trace = 0;
  for (const v of a) trace += v * v;
  const lambda = ridge * (trace / k || 1);
  if (n >= k) {
    const g = new Float64Array(k * k);
    const rhs = new Float64Array(k * m);
    for (let r = 0; r < n; r++) {
      const row = a.subarray(r * k, (r + 1) * k);
      for (let i = 0; i < k; i++) {
        const ai = row[i]!;
        if (ai === 0) continue;
        for (let j = 0; j <= i; j++) g[i * k + j]! += ai * row[j]!;
        for (let c = 0; c < m; c++) rhs[i * m + c]! += ai * y[r * m + c]!;
      }
    }
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < i; j++) g[j * k + i] = g[i * k + j]!;
      g[i * k + i]! += lambda;
      for (let c = 0; c < m; c++) rhs[i * m + c]! += lambda * w0[i * m + c]!;
    }
    cholesky(g, k);
    cholSolve(g, k, rhs, m);
    return rhs;
  }
  const g = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += a[i * k + t]! * a[j * k + t]!;
      g[i * n + j] = g[j * n + i] = s + (i === j ? lambda : 0);
    }
  const z = new Float64Array(n * m);
  for (let r = 0; r < n; r++)
    for (let c = 0; c < m; c++) {
      let s = y[r * m + c]!;
      for (let t = 0; t < k; t++) s -= a[r * k + t]! * w0[t * m + c]!;
      z[r * m + c] = s;
    }
  cholesky(g, n);
  cholSolve(g, n, z, m);
  const w = Float64Array.from(w0);
  for (let r = 0; r < n; r++)
    for (let t = 0; t < k; t++) {
      const v = a[r * k + t]!;
      if (v !== 0) for (let c = 0; c < m; c++) w[t * m + c]! += v * z[r * m + c]!;
    }
  return w;
}
