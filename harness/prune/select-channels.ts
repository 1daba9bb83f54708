/**
 * Which channels structured pruning removes.
 *
 * A unit's importance is the mean of its producers' channel scores (criteria.ts), zeros nodes
 * not counted (the mean, not the sum, so that a channel added late in a chain of
 * channel-padding concats, as in BlazeFace, is not favoured for removal for having fewer
 * producers). In each dependency group (groups.ts), round(ratio * prunable units) units with
 * the lowest importance are removed; with `roundTo`, the group's kept unit count is then
 * rounded to the nearest multiple (at least `roundTo`, never more than it had, never fewer
 * than its fixed units). The rounding is per group: a group's unit count is its widest
 * tensor's channel count (for the default model, each layer's); a layer of a BlazeFace padding
 * chain, which carries only some of its group's units, is not itself rounded.
 */
import type { Graph } from '../model/graph.ts';
import { InputError } from '../util/errors.ts';
import { type Criterion, channelScores, checkCriterion } from './criteria.ts';
import { type ChannelAnalysis, type DependencyGroup, isDepthwise } from './groups.ts';

/** What to remove: the criterion and how much of each group. */
export interface ChannelSelection {
  criterion: Criterion;
  /**
   * Fraction of each dependency group's prunable channels to remove, in [0, 1); or a map from
   * layer name (a dense conv) to such a fraction: a group takes the largest fraction named
   * for any of its layers, unnamed groups are not pruned.
   */
  ratio: number | Record<string, number>;
  /** Round each pruned group's kept channel count to a multiple of this. @default 1 */
  roundTo?: number;
}

function checkRatio(what: string, r: unknown): number {
  if (typeof r !== 'number' || !Number.isFinite(r) || r < 0 || r >= 1) throw new InputError(`${what} must be a number in [0, 1), got ${String(r)}`);
  return r;
}

/** Per group, the ratio it is pruned with. */
function groupRatios(graph: Graph, a: ChannelAnalysis, ratio: ChannelSelection['ratio']): Map<DependencyGroup, number> {
  const out = new Map<DependencyGroup, number>();
  if (typeof ratio === 'number' || typeof ratio !== 'object' || ratio === null) {
    const r = checkRatio('ratio', ratio);
    for (const g of a.groups) out.set(g, r);
    return out;
  }
  const convs = new Set(graph.nodes.filter((n) => n.op === 'conv' && !isDepthwise(n)).map((n) => n.name));
  for (const [layer, value] of Object.entries(ratio)) {
    const r = checkRatio(`ratio for '${layer}'`, value);
    if (!convs.has(layer)) throw new InputError(`ratio: no dense convolution named '${layer}' (have: ${[...convs].join(', ')})`);
    const g = a.groupOf.get(layer)!;
    if (r > 0 && !g.units.some((u) => !u.fixed)) {
      throw new InputError(`ratio: layer '${layer}' cannot be pruned (${g.units[0]?.fixed ?? 'no channels'})`);
    }
    out.set(g, Math.max(out.get(g) ?? 0, r));
  }
  return out;
}

/** Unit ids to remove. */
export function selectUnits(graph: Graph, a: ChannelAnalysis, options: ChannelSelection): Set<number> {
  const criterion = checkCriterion(options.criterion);
  const roundTo = options.roundTo ?? 1;
  if (!Number.isInteger(roundTo) || roundTo < 1) throw new InputError(`roundTo must be a positive integer, got ${String(roundTo)}`);
  const ratios = groupRatios(graph, a, options.ratio);
  const scores = channelScores(graph, criterion);
  const removed = new Set<number>();
  for (const [g, r] of ratios) {
    const prunable = g.units.filter((u) => !u.fixed);
    if (r === 0 || !prunable.length) continue;
    const n = g.units.length;
    let keep = n - Math.round(r * prunable.length);
    if (roundTo > 1) keep = Math.max(roundTo, Math.round(keep / roundTo) * roundTo);
    keep = Math.min(n, Math.max(n - prunable.length, keep));
    const importance = new Map(prunable.map((u) => {
      let s = 0;
      let scored = 0;
      for (const m of u.members) {
        const v = scores.get(m.layer)?.[m.channel];
        if (v !== undefined) [s, scored] = [s + v, scored + 1];
      }
      if (!scored && u.members.some((m) => graph.nodes.find((x) => x.name === m.layer)?.op === 'conv')) {
        throw new InputError(`criterion '${criterion}' gives no score for channel ${u.members[0]!.channel} of '${u.members.map((m) => m.layer).join("', '")}'` +
          (criterion === 'bn' ? ': it needs the unfolded graph, a BatchNormalization right after each pruned convolution' : ''));
      }
      return [u, scored ? s / scored : 0] as const;
    }));
    const order = [...prunable].sort((x, y) => importance.get(x)! - importance.get(y)! || x.id - y.id);
    const cut = order.slice(0, n - keep);
    for (const layer of g.layers) {
      if (graph.nodes.find((x) => x.name === layer)?.op === 'zeros') continue; // an empty padding is dropped
      const left = g.units.filter((u) => !cut.includes(u) && u.members.some((m) => m.layer === layer)).length;
      if (left === 0) throw new InputError(`ratio ${r} would remove every channel of layer '${layer}' (group of ${g.layers.join(', ')}); use a smaller ratio or protect it`);
    }
    for (const u of cut) removed.add(u.id);
  }
  return removed;
}
