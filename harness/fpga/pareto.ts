/**
 * Pareto fronts of design points: one objective to maximise (throughput) and any number of
 * costs to minimise (DSPs, BRAM).
 *
 * Point q dominates p when q is at least as good in every objective and better in one:
 *   q.value >= p.value,  q.cost_k <= p.cost_k for all k,  and one of them strict.
 * The front is the set of points no other point dominates. Points with identical objective
 * vectors are one point of the front: the first in input order represents them.
 *
 * Method: sort by value (descending), then by the costs (lexicographically ascending), then by
 * input order. Every point that could dominate p, or equal it, then comes before p, and a point
 * is on the front iff no point already accepted weakly dominates it: O(n log n + n * front).
 */

/** Indices of the non-dominated points, by value descending (ties: costs ascending, then index). */
export function paretoFront(count: number, value: ArrayLike<number>, costs: readonly ArrayLike<number>[]): number[] {
  const order = new Int32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  order.sort((a, b) => {
    const dv = value[b]! - value[a]!;
    if (dv !== 0) return dv;
    for (const c of costs) {
      const dc = c[a]! - c[b]!;
      if (dc !== 0) return dc;
    }
    return a - b;
  });
  const front: number[] = [];
  for (let k = 0; k < count; k++) {
    const p = order[k]!;
    let dominated = false;
    for (let f = 0; f < front.length && !dominated; f++) {
      const q = front[f]!;
      // value[q] >= value[p] holds by the order; q weakly dominates p when no cost is worse.
      let worse = false;
      for (let c = 0; c < costs.length; c++) {
        if (costs[c]![q]! > costs[c]![p]!) {
          worse = true;
          break;
        }
      }
      dominated = !worse;
    }
    if (!dominated) front.push(p);
  }
  return front;
}

/** True when point q dominates point p (for tests and callers that check one pair). */
export function dominates(q: number, p: number, value: ArrayLike<number>, costs: readonly ArrayLike<number>[]): boolean {
  if (value[q]! < value[p]!) return false;
  let strict = value[q]! > value[p]!;
  for (const c of costs) {
    if (c[q]! > c[p]!) return false;
    if (c[q]! < c[p]!) strict = true;
  }
  return strict;
}
