/**
 * Dual-coefficient global channel importance: a per-layer scale alpha_l and deviation beta_l
 * turn a layer's local channel importance into an importance comparable across layers,
 *
 *     global[l][o] = alpha_l * local[l][o] + beta_l,
 *
 * and alpha, beta are found by a black-box search that scores the pruned model at a fixed MACs
 * budget. This is our own formulation of Wang et al.'s dual-coefficient idea (the paper could not
 * be consulted); the same affine form, searched
 * by an evolutionary algorithm under a FLOPs budget, is published as LeGR (Chin, Ding, Zhang,
 * Marculescu, "Towards Efficient Model Compression via Learned Global Ranking", CVPR 2020, with
 * local = squared filter L2 norm). What is implemented exactly:
 *
 *  - local[l][o] = the quantile of channel o's unit in its dependency group (budget.ts's
 *    groupQuantiles of the criterion scores, in (0, 1]); 'quantile' ranks within the layer and
 *    'max' divides by the layer's largest score instead (normalizedScores).
 *  - alpha_l = exp(a_l) with a_l in [-2, 2] (so alpha_l > 0 and a layer's own order is kept),
 *    beta_l in [-1, 1]; one (a_l, beta_l) per dense convolution that has prunable channels.
 *    A unit shared by several layers (a residual Add) takes the mean of their global values.
 *  - For given coefficients, budget.ts's allocateMacs ranks the channels by `global` (with
 *    costAware = false by default: a plain global threshold, as LeGR does) and returns the
 *    per-group kept counts that meet the MACs target; pruneGraph prunes with them (bias
 *    compensation from `calibration`; reconstruction only with `reconstruct`, as it is slow).
 *  - Objective (lower is better), on a labelled search split that must be disjoint from the
 *    images accuracy is reported on: 'top1' (the default: 1 - top-1 accuracy, ties broken by
 *    cross-entropy * 1e-6) or 'cross-entropy' (mean softmax cross-entropy of the logits). On the
 *    default model (256 or 872 search images, 30 allocations) the cross-entropy search never left the
 *    uniform start, while the top-1 search found allocations that are better on held-out images.
 *  - Optimiser: a (1+lambda) evolution strategy (Rechenberg; Beyer and Schwefel, "Evolution
 *    strategies: a comprehensive introduction", Natural Computing 2002). The parent starts at
 *    a = 0, beta = 0 (alpha = 1: with group-quantile local importance and a plain threshold this
 *    is the uniform allocation up to rounding). Each generation draws lambda children
 *    x + sigma * N(0, I) (Box-Muller normals from the seeded Rng), clipped to the box; the best
 *    child replaces the parent when its score is <= the parent's (equal scores let the parent
 *    drift across the plateaus a discrete allocation makes). The step size follows the
 *    one-fifth success rule, sigma *= exp((successes / moved - 1/5) / sqrt(n + 1)), kept in
 *    [0.02, 1], where `moved` counts the children whose allocation differs from the parent's
 *    (the others carry no information; when there is none, sigma *= 1.5: the step is too small
 *    to change any kept count). Children that give an allocation already scored are not scored
 *    again (a cache keyed by the kept counts); `budget` counts distinct scored allocations, and
 *    the search also stops after 50 * budget children. Everything is deterministic for a fixed
 *    seed (the seeded Rng is the only source of randomness).
 */
import { type Graph, inferShapes } from '../model/graph.ts';
import { runGraph } from '../model/float-infer.ts';
import { InputError } from '../util/errors.ts';
import { Rng, gaussian } from '../util/rng.ts';
import { type Criterion, channelScores, checkCriterion } from './criteria.ts';
import { type Allocation, allocateMacs, checkFraction, groupQuantiles, normalizedScores } from './budget.ts';
import { analyzeChannels, defaultProtected } from './groups.ts';
import { pruneGraph } from './prune.ts';

/** Per-layer coefficients; a layer not named has alpha 1, beta 0. */
export interface GlobalCoefficients {
  alpha: Record<string, number>;
  beta: Record<string, number>;
}

/** global = alpha_l * local + beta_l for every layer of `local`. */
export function globalImportance(local: Map<string, Float64Array>, c: GlobalCoefficients): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  for (const [name, v] of local) {
    const [a, b] = [c.alpha[name] ?? 1, c.beta[name] ?? 0];
    out.set(name, v.map((x) => a * x + b));
  }
  return out;
}

export interface GlobalSearchOptions {
  criterion: Criterion;
  /** Fraction of the graph's MACs the pruned graph may keep, in (0, 1]. */
  targetMacsFraction: number;
  /** Search split inputs (NHWC), disjoint from the images accuracy is reported on. */
  searchInputs: Float32Array[];
  /** Their labels (class index per input). */
  searchLabels: ArrayLike<number>;
  /** Inputs for bias compensation while scoring candidates. @default [] (none) */
  calibration?: Float32Array[];
  /** @default 'top1' */
  objective?: 'cross-entropy' | 'top1';
  /** Distinct allocations scored (the first is the start point). @default 40 */
  budget?: number;
  /** Children per generation. @default 4 */
  lambda?: number;
  /** Initial step size (on log alpha and beta). @default 0.3 */
  sigma?: number;
  /** @default 1 */
  seed?: number;
  /** @default 1 */
  roundTo?: number;
  /** @default the last fully connected layer */
  protect?: string[];
  /** Passed to allocateMacs. @default false */
  costAware?: boolean;
  /** Local importance: budget.ts's groupQuantiles, or normalizedScores 'quantile' / 'max'. @default 'group-quantile' */
  local?: 'group-quantile' | 'quantile' | 'max';
  /** Reconstruct (pruneGraph's least squares, needs calibration) when scoring candidates. @default false */
  reconstruct?: boolean;
  /** The logits tensor. @default the graph's first output */
  output?: string;
}

export interface GlobalSearchResult {
  coefficients: GlobalCoefficients;
  /** The best global importance (pass to pruneToMacs as `importance`, with the same costAware). */
  importance: Map<string, Float64Array>;
  allocation: Allocation;
  /** Objective of the best allocation on the search split. */
  score: number;
  /** Objective of the start point (alpha = 1, beta = 0). */
  startScore: number;
  /** Distinct allocations scored, children drawn, generations run. */
  evaluations: number;
  children: number;
  generations: number;
  /** Best score after each scored allocation. */
  trace: number[];
}

function checkInt(name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new InputError(`${name} must be an integer >= ${min}, got ${String(v)}`);
  return v;
}

/** Mean softmax cross-entropy and top-1 of a graph on labelled inputs. */
export function classify(graph: Graph, inputs: Float32Array[], labels: ArrayLike<number>, output = graph.outputs[0]!.name): { crossEntropy: number; top1: number } {
  const shapes = inferShapes(graph);
  let [ce, ok] = [0, 0];
  inputs.forEach((x, i) => {
    const y = runGraph(graph, x, {}, shapes).get(output)!;
    let [max, arg] = [-Infinity, 0];
    y.forEach((v, k) => v > max && ([max, arg] = [v, k]));
    let sum = 0;
    for (const v of y) sum += Math.exp(v - max);
    const label = labels[i]!;
    ce += Math.log(sum) + max - y[label]!;
    ok += Number(arg === label);
  });
  return { crossEntropy: ce / inputs.length, top1: ok / inputs.length };
}

/** Searches alpha, beta for the best pruned model at the MACs budget (see the file comment). */
export function searchGlobalImportance(graph: Graph, options: GlobalSearchOptions): GlobalSearchResult {
  const criterion = checkCriterion(options.criterion);
  const fraction = checkFraction(options.targetMacsFraction);
  const budget = checkInt('budget', options.budget ?? 40, 1);
  const lambda = checkInt('lambda', options.lambda ?? 4, 1);
  const sigma0 = options.sigma ?? 0.3;
  if (!(sigma0 > 0) || !Number.isFinite(sigma0)) throw new InputError(`sigma must be a positive number, got ${String(sigma0)}`);
  const seed = checkInt('seed', options.seed ?? 1, 0);
  const objective = options.objective ?? 'top1';
  if (objective !== 'cross-entropy' && objective !== 'top1') throw new InputError(`objective must be 'cross-entropy' or 'top1', got '${String(objective)}'`);
  const { searchInputs, searchLabels } = options;
  if (!searchInputs?.length) throw new InputError('searchInputs must hold at least one labelled input');
  if (searchLabels?.length !== searchInputs.length) throw new InputError(`searchLabels must have one label per search input (${searchInputs.length}), got ${searchLabels?.length}`);
  const output = options.output ?? graph.outputs[0]!.name;
  if (!graph.outputs.some((o) => o.name === output)) throw new InputError(`output: the graph has no output '${output}'`);

  const protect = options.protect ?? defaultProtected(graph);
  const analysis = analyzeChannels(graph, protect);
  const scores = channelScores(graph, criterion);
  const how = options.local ?? 'group-quantile';
  const local = how === 'group-quantile' ? groupQuantiles(graph, analysis, scores) : normalizedScores(scores, how);
  const layers = [...local.keys()].filter((l) => analysis.groupOf.get(l)?.units.some((u) => !u.fixed));
  const dim = 2 * layers.length;
  const costAware = options.costAware ?? false;
  const coefficientsOf = (x: Float64Array): GlobalCoefficients => ({
    alpha: Object.fromEntries(layers.map((l, i) => [l, Math.exp(x[2 * i]!)])),
    beta: Object.fromEntries(layers.map((l, i) => [l, x[2 * i + 1]!])),
  });
  const clip = (x: Float64Array): Float64Array => Float64Array.from(x, (v, i) => Math.min(i % 2 ? 1 : 2, Math.max(i % 2 ? -1 : -2, v)));

  const cache = new Map<string, number>();
  const trace: number[] = [];
  let evaluations = 0;
  const evaluate = (x: Float64Array): { score: number; allocation: Allocation } => {
    const importance = globalImportance(local, coefficientsOf(x));
    const allocation = allocateMacs(graph, { targetMacsFraction: fraction, scores, importance, roundTo: options.roundTo, costAware }, analysis);
    const key = JSON.stringify(allocation.keep);
    let score = cache.get(key);
    if (score === undefined) {
      const pruned = pruneGraph(graph, { criterion, ratio: allocation.ratio, roundTo: options.roundTo, protect, calibration: options.calibration ?? [], reconstruct: options.reconstruct ?? false });
      const r = classify(pruned.graph, searchInputs, searchLabels, output);
      score = objective === 'top1' ? 1 - r.top1 + 1e-6 * r.crossEntropy : r.crossEntropy;
      cache.set(key, score);
      evaluations++;
      trace.push(Math.min(score, trace.at(-1) ?? Infinity));
    }
    return { score, allocation };
  };

  const gauss = gaussian(new Rng(seed));

  let parent: Float64Array = new Float64Array(dim);
  let best = evaluate(parent);
  const startScore = best.score;
  let sigma = sigma0;
  let [children, generations] = [0, 0];
  const damping = Math.sqrt(dim + 1);
  while (evaluations < budget && children < 50 * budget && dim > 0) {
    generations++;
    let [successes, moved] = [0, 0];
    let top: { x: Float64Array; score: number; allocation: Allocation } | null = null;
    const parentKey = JSON.stringify(best.allocation.keep);
    for (let i = 0; i < lambda && evaluations < budget; i++) {
      const x = clip(Float64Array.from(parent, (v) => v + sigma * gauss()));
      children++;
      const r = evaluate(x);
      if (JSON.stringify(r.allocation.keep) === parentKey) continue; // no information
      moved++;
      if (r.score < best.score) successes++;
      if (!top || r.score < top.score) top = { x, ...r };
    }
    if (top && top.score <= best.score) [parent, best] = [top.x, { score: top.score, allocation: top.allocation }];
    const step = moved ? Math.exp((successes / moved - 0.2) / damping) : 1.5;
    sigma = Math.min(1, Math.max(0.02, sigma * step));
  }
  const coefficients = coefficientsOf(parent);
  return {
    coefficients,
    importance: globalImportance(local, coefficients),
    allocation: best.allocation,
    score: best.score,
    startScore,
    evaluations,
    children,
    generations,
    trace,
  };
}
