/**
 * MACs-budgeted structured pruning: how many channels each dependency group keeps so that the
 * pruned graph needs at most a target fraction of the original multiply-accumulates, chosen by
 * one global ranking of channels across all layers.
 *
 * Algorithm (greedy global ranking, exact MACs):
 *
 * 1. Every dependency group g (groups.ts) has n_g units, f_g of them fixed. Its removal order is
 *    the one pruneGraph uses: prunable units by ascending criterion importance (the mean of the
 *    unit's producers' channel scores), ties by unit id. So the allocator decides only *how
 *    many* units a group keeps; *which* ones pruneGraph removes is exactly the prefix the
 *    allocator priced.
 * 2. A group's allowed kept counts are n_g (unpruned) and, below it, every multiple of roundTo
 *    (every count when roundTo = 1) that is at least max(roundTo, f_g + 1) and leaves every
 *    layer of the group (zeros paddings excepted) at least one channel. f_g + 1 keeps at least
 *    one prunable unit, which is also what pruneGraph's ratio < 1 needs; so no layer ever
 *    loses all its channels. A *step* of g moves it to its next lower allowed count, cutting
 *    the next units of its removal order.
 * 3. MACs are computed exactly for any set of removed units (the same count graphMacs makes
 *    after pruning): a dense convolution costs outH * outW * kH * kW * keptIn * keptOut (an fc
 *    behind a flatten has keptIn = h * w * kept source channels), a depthwise one
 *    outH * outW * kH * kW * kept, a grouped one (all fixed) its full cost. The MACs a step
 *    saves are therefore both those of the layers the cut channels are outputs of and those of
 *    every consumer they feed (the next convolution's input channels, a depthwise channel, the
 *    fc columns), at the current widths of the other groups.
 * 4. Starting from the unpruned graph, repeat while MACs > target: over all groups that can
 *    still step, take the step with the lowest price and apply it. With `costAware` (default)
 *    the price is the summed global importance of the units it cuts divided by the MACs it
 *    saves (least importance lost per MAC saved, the greedy rule for a knapsack); without, it
 *    is their mean global importance (a plain global threshold on importance, as in Network
 *    Slimming, Liu et al., ICCV 2017, and LeGR, Chin et al., CVPR 2020). Ties go to the lower
 *    group id.
 * 5. The loop stops at the first state with MACs <= target; the state before it was above the
 *    target. As one step can save much more than was still needed, a refill pass then undoes
 *    steps, one level at a time, taking the highest-priced step whose undoing still fits the
 *    budget, until none fits. The last greedy step never fits again, so the result stays
 *    within one step (one roundTo of one group) of the target: `lastStep.saved` is what
 *    undoing it would add at the final widths (macsAfter + saved > target). When
 *    even every group at its smallest allowed count is above the target, an InputError says
 *    which fraction is reachable.
 *
 * Global importance is per layer and channel (like channelScores); a unit's importance is the
 * mean over its scored producers. The default is groupQuantiles of the criterion scores (the
 * unit's quantile in its group, in (0, 1]: with costAware = false that is uniform pruning up to
 * rounding and the budget); global.ts searches a per-layer affine map of it. The result is a per-layer ratio map for pruneGraph (one dense conv named
 * per pruned group), with which pruneGraph removes exactly the counted units.
 */
import type { Graph } from '../model/graph.ts';
import { InputError } from '../util/errors.ts';
import { type Criterion, channelScores, checkCriterion } from './criteria.ts';
import { type ChannelAnalysis, type ChannelUnit, type DependencyGroup, analyzeChannels, defaultProtected, isDepthwise } from './groups.ts';
import { type PruneOptions, type PruneResult, pruneGraph } from './prune.ts';

export interface BudgetOptions {
  /** Fraction of the graph's MACs the pruned graph may keep, in (0, 1]. */
  targetMacsFraction: number;
  /** Per-layer channel scores that order removal inside a group (what the criterion gives). */
  scores: Map<string, Float64Array>;
  /** Per-layer global importance that ranks steps across groups. @default groupQuantiles(scores) */
  importance?: Map<string, Float64Array>;
  /** Kept counts are multiples of this (or the full count). @default 1 */
  roundTo?: number;
  /** Layers whose output channels are never pruned. @default the last fully connected layer */
  protect?: string[];
  /** Price a step by importance lost per MAC saved (else by mean importance). @default true */
  costAware?: boolean;
}

export interface Allocation {
  /** Kept unit count per pruned group, keyed by the group's first dense convolution. */
  keep: Record<string, number>;
  /** The matching ratio map for pruneGraph (only pruned groups appear). */
  ratio: Record<string, number>;
  macsBefore: number;
  /** MACs of the allocation (equal to pruneGraph's macsAfter with `ratio`). */
  macsAfter: number;
  /** The MACs budget: targetMacsFraction * macsBefore. */
  target: number;
  /** The last step taken (null when nothing had to be pruned): its group and the MACs it saved. */
  lastStep: { layer: string; saved: number } | null;
}

export function checkFraction(f: unknown): number {
  if (typeof f !== 'number' || !Number.isFinite(f) || f <= 0 || f > 1) {
    throw new InputError(`targetMacsFraction must be a number in (0, 1], got ${String(f)}`);
  }
  return f;
}

/**
 * Local importance: each layer's scores made comparable across layers.
 *  - 'quantile' (default): (1-based rank of the channel's score in its layer, ascending, ties by
 *    channel index) / the layer's channel count, in (0, 1]. Under a plain global threshold every
 *    layer then loses the same fraction, so with costAware = false the allocation is uniform
 *    up to rounding and the budget.
 *  - 'max': score / the layer's largest absolute score (1 for an all-zero layer).
 */
export function normalizedScores(scores: Map<string, Float64Array>, how: 'quantile' | 'max' = 'quantile'): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  for (const [name, s] of scores) {
    if (how === 'max') {
      const max = s.reduce((a, v) => Math.max(a, Math.abs(v)), 0) || 1;
      out.set(name, s.map((v) => v / max));
    } else {
      const q = new Float64Array(s.length);
      [...s.keys()].sort((a, b) => s[a]! - s[b]! || a - b).forEach((c, r) => (q[c] = (r + 1) / s.length));
      out.set(name, q);
    }
  }
  return out;
}

/**
 * Local importance per dependency group: every member channel of a prunable unit gets the unit's
 * quantile in its group, (1-based rank of the unit's criterion importance among the group's
 * prunable units, in pruneGraph's removal order) / their count, in (0, 1]. Unlike per-layer
 * quantiles this also spreads a unit shared by several layers (a residual Add) over (0, 1], so
 * that under a plain global threshold every group loses the same fraction. Fixed units get 1.
 */
export function groupQuantiles(graph: Graph, analysis: ChannelAnalysis, scores: Map<string, Float64Array>): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  for (const node of graph.nodes) if (node.op === 'conv' && !isDepthwise(node)) out.set(node.name, new Float64Array(node.outC).fill(1));
  for (const g of analysis.groups) {
    const prunable = g.units.filter((u) => !u.fixed);
    const importance = new Map(prunable.map((u) => [u, unitMean(u, scores)] as const));
    const order = [...prunable].sort((x, y) => importance.get(x)! - importance.get(y)! || x.id - y.id);
    order.forEach((u, r) => {
      for (const m of u.members) {
        const v = out.get(m.layer);
        if (v) v[m.channel] = (r + 1) / order.length;
      }
    });
  }
  return out;
}

/** Mean of a unit's scored producer channels (0 when none is scored, e.g. a zeros padding). */
function unitMean(u: ChannelUnit, scores: Map<string, Float64Array>): number {
  let [s, n] = [0, 0];
  for (const m of u.members) {
    const v = scores.get(m.layer)?.[m.channel];
    if (v !== undefined) [s, n] = [s + v, n + 1];
  }
  return n ? s / n : 0;
}

/** Exact MACs of the graph with a set of units removed (removed[unitId] = 1). */
function macsModel(graph: Graph, a: ChannelAnalysis): (removed: Uint8Array) => number {
  const terms: Array<{ k: number; inUnits: Int32Array | null; inMul: number; outUnits: Int32Array | null; fixed: number }> = [];
  for (const node of graph.nodes) {
    if (node.op !== 'conv') continue;
    const out = a.shapes.get(node.output)!;
    const k = out.h * out.w * node.kH * node.kW;
    const outUnits = a.tensorUnits.get(node.output)!;
    if (isDepthwise(node)) terms.push({ k, inUnits: null, inMul: 1, outUnits, fixed: 0 });
    else if (node.groups > 1) terms.push({ k, inUnits: null, inMul: 1, outUnits: null, fixed: k * (node.inC / node.groups) * node.outC });
    else {
      const f = a.flattens.get(node.inputs[0]!);
      const inUnits = f ? a.tensorUnits.get(f.source)! : a.tensorUnits.get(node.inputs[0]!)!;
      terms.push({ k, inUnits, inMul: f ? f.shape.h * f.shape.w : 1, outUnits, fixed: 0 });
    }
  }
  const kept = (units: Int32Array, removed: Uint8Array): number => {
    let c = 0;
    for (const u of units) c += 1 - removed[u]!;
    return c;
  };
  return (removed) => {
    let macs = 0;
    for (const t of terms) {
      if (!t.outUnits) macs += t.fixed;
      else if (!t.inUnits) macs += t.k * kept(t.outUnits, removed);
      else macs += t.k * t.inMul * kept(t.inUnits, removed) * kept(t.outUnits, removed);
    }
    return macs;
  };
}

interface GroupPlan {
  group: DependencyGroup;
  /** The dense conv named in the ratio map. */
  layer: string;
  /** Prunable units in removal order. */
  order: ChannelUnit[];
  /** Allowed kept counts, descending, starting at n. */
  levels: number[];
  prunable: number;
}

function planGroup(graph: Graph, g: DependencyGroup, scores: Map<string, Float64Array>, roundTo: number): GroupPlan | null {
  const convs = g.layers.filter((l) => graph.nodes.find((n) => n.name === l)?.op === 'conv');
  const prunable = g.units.filter((u) => !u.fixed);
  if (!prunable.length || !convs.length) return null;
  const importance = new Map(prunable.map((u) => [u, unitMean(u, scores)] as const));
  const order = [...prunable].sort((x, y) => importance.get(x)! - importance.get(y)! || x.id - y.id);
  const n = g.units.length;
  const fixed = n - prunable.length;
  const leavesEveryLayer = (keep: number): boolean => {
    const cut = new Set(order.slice(0, n - keep));
    return convs.every((layer) => g.units.some((u) => !cut.has(u) && u.members.some((m) => m.layer === layer)));
  };
  const levels = [n];
  const lowest = Math.max(roundTo, fixed + 1);
  let next = roundTo > 1 ? Math.ceil(n / roundTo) * roundTo - roundTo : n - 1;
  for (; next >= lowest; next -= roundTo) {
    if (!leavesEveryLayer(next)) break; // monotone: fewer kept never helps
    levels.push(next);
  }
  return levels.length > 1 ? { group: g, layer: convs[0]!, order, levels, prunable: prunable.length } : null;
}

/** Per-group kept counts meeting a MACs budget (see the file comment for the algorithm). */
export function allocateMacs(graph: Graph, options: BudgetOptions, analysis?: ChannelAnalysis): Allocation {
  const fraction = checkFraction(options.targetMacsFraction);
  const roundTo = options.roundTo ?? 1;
  if (!Number.isInteger(roundTo) || roundTo < 1) throw new InputError(`roundTo must be a positive integer, got ${String(roundTo)}`);
  const a = analysis ?? analyzeChannels(graph, options.protect ?? defaultProtected(graph));
  const importance = options.importance ?? groupQuantiles(graph, a, options.scores);
  const costAware = options.costAware ?? true;
  const plans = a.groups.map((g) => planGroup(graph, g, options.scores, roundTo)).filter((p): p is GroupPlan => p !== null);
  const macsOf = macsModel(graph, a);
  const removed = new Uint8Array(a.units.length);
  const macsBefore = macsOf(removed);
  const target = fraction * macsBefore;

  // Reachable at all?
  for (const p of plans) for (const u of p.order.slice(0, p.group.units.length - p.levels.at(-1)!)) removed[u.id] = 1;
  const floor = macsOf(removed);
  removed.fill(0);
  if (floor > target) {
    throw new InputError(`targetMacsFraction ${fraction} cannot be met: with every group at its fewest allowed channels (roundTo ${roundTo}) ` +
      `the graph keeps ${(floor / macsBefore).toFixed(4)} of its MACs; use a larger fraction, a smaller roundTo or protect fewer layers`);
  }

  const level = new Map(plans.map((p) => [p, 0]));
  const unitImportance = new Map(plans.flatMap((p) => p.order.map((u) => [u, unitMean(u, importance)] as const)));
  let macs = macsBefore;
  let lastStep: Allocation['lastStep'] = null;
  while (macs > target) {
    let best: { plan: GroupPlan; cut: ChannelUnit[]; price: number; after: number } | null = null;
    for (const p of plans) {
      const li = level.get(p)!;
      if (li + 1 >= p.levels.length) continue;
      const n = p.group.units.length;
      const cut = p.order.slice(n - p.levels[li]!, n - p.levels[li + 1]!);
      for (const u of cut) removed[u.id] = 1;
      const after = macsOf(removed);
      for (const u of cut) removed[u.id] = 0;
      const lost = cut.reduce((s, u) => s + unitImportance.get(u)!, 0);
      const price = costAware ? lost / Math.max(macs - after, 1) : lost / cut.length;
      if (!best || price < best.price) best = { plan: p, cut, price, after };
    }
    if (!best) throw new Error('allocateMacs: no step left above the reachable floor (a bug)');
    for (const u of best.cut) removed[u.id] = 1;
    level.set(best.plan, level.get(best.plan)! + 1);
    lastStep = { layer: best.plan.layer, saved: macs - best.after };
    macs = best.after;
  }
  // Refill: the budget may leave room below the target (a step can save more than needed).
  // Restore, one level at a time, the most important step that still fits, until none does.
  const cutOf = (p: GroupPlan, li: number): ChannelUnit[] => {
    const n = p.group.units.length;
    return p.order.slice(n - p.levels[li - 1]!, n - p.levels[li]!);
  };
  for (;;) {
    let best: { plan: GroupPlan; cut: ChannelUnit[]; price: number; after: number } | null = null;
    for (const p of plans) {
      const li = level.get(p)!;
      if (li === 0) continue;
      const cut = cutOf(p, li);
      for (const u of cut) removed[u.id] = 0;
      const after = macsOf(removed);
      for (const u of cut) removed[u.id] = 1;
      if (after > target) continue;
      const gained = cut.reduce((s, u) => s + unitImportance.get(u)!, 0);
      const price = costAware ? gained / Math.max(after - macs, 1) : gained / cut.length;
      if (!best || price > best.price) best = { plan: p, cut, price, after };
    }
    if (!best) break;
    for (const u of best.cut) removed[u.id] = 0;
    level.set(best.plan, level.get(best.plan)! - 1);
    macs = best.after;
  }
  if (lastStep) {
    // What undoing the last greedy step would cost now (it no longer fits: macs + saved > target).
    const p = plans.find((x) => x.layer === lastStep!.layer)!;
    const cut = cutOf(p, level.get(p)!);
    for (const u of cut) removed[u.id] = 0;
    lastStep = { layer: p.layer, saved: macsOf(removed) - macs };
    for (const u of cut) removed[u.id] = 1;
  }
  const keep: Record<string, number> = {};
  const ratio: Record<string, number> = {};
  for (const p of plans) {
    const li = level.get(p)!;
    if (li === 0) continue;
    const n = p.group.units.length;
    keep[p.layer] = p.levels[li]!;
    ratio[p.layer] = (n - p.levels[li]!) / p.prunable;
  }
  return { keep, ratio, macsBefore, macsAfter: macs, target, lastStep };
}

export interface PruneToMacsOptions extends Omit<PruneOptions, 'ratio'> {
  /** Fraction of the graph's MACs the pruned graph may keep, in (0, 1]. */
  targetMacsFraction: number;
  /** Per-layer global importance ranking steps across groups. @default groupQuantiles(criterion scores) */
  importance?: Map<string, Float64Array>;
  /** See BudgetOptions.costAware. @default true */
  costAware?: boolean;
}

export interface PruneToMacsResult extends PruneResult {
  allocation: Allocation;
}

/** pruneGraph with the per-layer ratios allocateMacs chooses for a MACs budget. */
export function pruneToMacs(graph: Graph, options: PruneToMacsOptions): PruneToMacsResult {
  const criterion: Criterion = checkCriterion(options.criterion);
  checkFraction(options.targetMacsFraction);
  const analysis = analyzeChannels(graph, options.protect ?? defaultProtected(graph));
  const allocation = allocateMacs(graph, { ...options, scores: channelScores(graph, criterion) }, analysis);
  const result = pruneGraph(graph, { ...options, ratio: allocation.ratio });
  if (result.macsAfter !== allocation.macsAfter) {
    throw new Error(`pruneToMacs: allocated ${allocation.macsAfter} MACs but pruneGraph gives ${result.macsAfter} (a bug)`);
  }
  return { ...result, allocation };
}

