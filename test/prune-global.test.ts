/**
 * MACs-budgeted pruning (harness/prune/budget.ts) and the searched dual-coefficient global
 * importance (harness/prune/global.ts) on the default Fashion-MNIST model.
 * Run: node --import tsx test/prune-global.test.ts
 *
 * Eval image splits, never overlapping:
 *   0..127      calibration (bias compensation, reconstruction; the search uses 0..31)
 *   128..383    search split: the only labelled images the alpha/beta search scores
 *   1000..1499  held-out accuracy (the same 500 images as test/prune.test.ts)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Graph, graphMacs } from '../harness/model/graph.ts';
import { importOnnxFile } from '../harness/model/onnx-import.ts';
import { foldBatchNorm } from '../harness/model/fold.ts';
import { FASHION_MNIST_MODEL, evalInput, readEvalSet } from '../harness/model/fashion-mnist.ts';
import { channelScores } from '../harness/prune/criteria.ts';
import { type PruneOptions, pruneGraph } from '../harness/prune/prune.ts';
import { allocateMacs, groupQuantiles, normalizedScores, pruneToMacs } from '../harness/prune/budget.ts';
import { analyzeChannels } from '../harness/prune/groups.ts';
import { type GlobalSearchOptions, classify, globalImportance, searchGlobalImportance } from '../harness/prune/global.ts';
import { throwsInput } from './helpers.ts';

const folded = foldBatchNorm(importOnnxFile(FASHION_MNIST_MODEL)).graph;
const evalSet = readEvalSet();
const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);
const calibration = range(0, 128).map((i) => evalInput(evalSet, i));
const searchIdx = range(128, 256);
const heldIdx = range(1000, 500);
const searchInputs = searchIdx.map((i) => evalInput(evalSet, i));
const searchLabels = searchIdx.map((i) => evalSet.labels[i]!);
const heldInputs = heldIdx.map((i) => evalInput(evalSet, i));
const heldLabels = heldIdx.map((i) => evalSet.labels[i]!);
const [CONV1, CONV2, CONV3, CONV4, FC] = folded.nodes.filter((n) => n.op === 'conv').map((n) => n.name) as [string, string, string, string, string];
/** The MACs fraction uniform ratio 0.3 reaches (about 49 %): the budget every method gets. */
const UNIFORM = pruneGraph(folded, { criterion: 'l1', ratio: 0.3 });
const FRACTION = UNIFORM.macsAfter / UNIFORM.macsBefore;

const heldTop1 = (g: Graph): number => classify(g, heldInputs, heldLabels).top1;
const pct = (v: number): string => `${(100 * v).toFixed(1)} %`;
const keptCounts = (kept: Map<string, number[]>): number[] => [CONV1, CONV2, CONV3, CONV4, FC].map((n) => kept.get(n)!.length);


// --- budget.ts -----------------------------------------------------------------------------

test('allocator meets the MACs target: <= target, within one roundTo step, equal to graphMacs', () => {
  for (const fraction of [0.25, FRACTION, 0.7, 0.95])
    for (const roundTo of [1, 4, 8])
      for (const costAware of [true, false]) {
        const what = `fraction ${fraction.toFixed(4)} roundTo ${roundTo} costAware ${costAware}`;
        const r = pruneToMacs(folded, { criterion: 'l1', targetMacsFraction: fraction, roundTo, costAware });
        const { target, macsAfter, lastStep } = r.allocation;
        assert.ok(macsAfter <= target, `${what}: ${macsAfter} > target ${target}`);
        assert.is(r.macsAfter, macsAfter, `${what}: the allocator's MACs model`);
        assert.is(graphMacs(r.graph), macsAfter);
        assert.ok(lastStep !== null, `${what}: something was pruned`);
        assert.ok(macsAfter + lastStep!.saved > target, `${what}: undoing the last step (${lastStep!.saved} MACs) would still fit`);
        assert.ok(target - macsAfter < lastStep!.saved, `${what}: ${target - macsAfter} MACs short of the target, more than one step`);
        for (const [layer, keep] of Object.entries(r.allocation.keep)) {
          assert.ok(keep >= 1 && keep % roundTo === 0, `${what}: ${layer} keeps ${keep}`);
          assert.is(r.kept.get(layer)!.length, keep);
        }
        assert.is(r.kept.get(FC)!.length, 10, 'the protected fc keeps its outputs');
        assert.equal(r.kept.get(CONV3), r.kept.get(CONV4), 'the residual group is pruned alike');
      }
  const full = pruneToMacs(folded, { criterion: 'l1', targetMacsFraction: 1 });
  assert.is(full.macsAfter, full.macsBefore);
  assert.equal(full.allocation.ratio, {});
  assert.is(full.allocation.lastStep, null);
});

test('allocator never removes every channel; an unreachable target is an InputError', () => {
  // The fewest channels keep 0.4 % (roundTo 1) and 3.1 % (roundTo 4) of the MACs.
  for (const [roundTo, fraction] of [[1, 0.01], [4, 0.04]] as const) {
    const r = pruneToMacs(folded, { criterion: 'fpgm', targetMacsFraction: fraction, roundTo });
    assert.ok(r.macsAfter <= fraction * r.macsBefore);
    for (const layer of [CONV1, CONV2, CONV3, CONV4]) assert.ok(r.kept.get(layer)!.length >= roundTo, `roundTo ${roundTo}: ${layer} keeps ${r.kept.get(layer)!.length}`);
    classify(r.graph, heldInputs.slice(0, 2), heldLabels.slice(0, 2)); // it runs
  }
  throwsInput(() => pruneToMacs(folded, { criterion: 'l1', targetMacsFraction: 0.001 }), '0.001', 'cannot be met', 'keeps 0.0');
  throwsInput(() => pruneToMacs(folded, { criterion: 'l1', targetMacsFraction: 0.1, protect: [CONV1, CONV2, CONV3, FC] }), 'cannot be met');
});

test('with group quantiles and a plain threshold (costAware false) the allocation is the uniform one', () => {
  const r = pruneToMacs(folded, { criterion: 'l1', targetMacsFraction: FRACTION, costAware: false });
  assert.equal(keptCounts(r.kept), keptCounts(UNIFORM.kept));
  assert.equal(keptCounts(r.kept), [11, 22, 45, 45, 10]);
  // Group quantiles: conv3 and conv4 share a unit's quantile; each group's values are 1/n .. 1.
  const a = analyzeChannels(folded);
  const q = groupQuantiles(folded, a, channelScores(folded, 'l1'));
  assert.equal([...q.get(CONV3)!], [...q.get(CONV4)!]);
  assert.equal([...q.get(CONV1)!].sort((x, y) => x - y), range(1, 16).map((i) => i / 16));
  assert.ok(q.get(FC)!.every((v) => v === 1), 'fixed units get 1');
  const n = normalizedScores(channelScores(folded, 'l1'), 'max');
  assert.ok([...n.values()].every((v) => Math.max(...v) === 1));
  const g = globalImportance(q, { alpha: { [CONV1]: 2 }, beta: { [CONV1]: -0.5 } });
  assert.equal([...g.get(CONV1)!], [...q.get(CONV1)!].map((v) => 2 * v - 0.5));
  assert.equal([...g.get(CONV2)!], [...q.get(CONV2)!]);
});

// --- global.ts -----------------------------------------------------------------------------

const SEARCH: GlobalSearchOptions = {
  criterion: 'l1', targetMacsFraction: FRACTION, searchInputs, searchLabels, calibration: calibration.slice(0, 32),
  budget: 14, sigma: 1, seed: 3,
};

test('the alpha/beta search is deterministic for a fixed seed', () => {
  const small: GlobalSearchOptions = { ...SEARCH, searchInputs: searchInputs.slice(0, 48), searchLabels: searchLabels.slice(0, 48), budget: 5 };
  const [a, b] = [searchGlobalImportance(folded, small), searchGlobalImportance(folded, small)];
  assert.equal(a.coefficients, b.coefficients);
  assert.equal(a.allocation, b.allocation);
  assert.equal(a.trace, b.trace);
  assert.is(a.evaluations, 5);
  assert.ok(a.score <= a.startScore);
  for (let i = 1; i < a.trace.length; i++) assert.ok(a.trace[i]! <= a.trace[i - 1]!, 'the best score never gets worse');
});

test('searched allocation >= uniform ratios at equal MACs on held-out images (with and without reconstruction)', () => {
  const t0 = performance.now();
  const s = searchGlobalImportance(folded, SEARCH);
  const searchMs = performance.now() - t0;
  const common = { criterion: 'l1', targetMacsFraction: FRACTION, calibration } as const;
  const uniform = pruneGraph(folded, { criterion: 'l1', ratio: 0.3, calibration });
  const budgeted = pruneToMacs(folded, common);
  const searched = pruneToMacs(folded, { ...common, importance: s.importance, costAware: false });
  assert.equal(searched.allocation, s.allocation, 'pruneToMacs with the searched importance gives the searched allocation');
  for (const r of [budgeted, searched]) assert.ok(r.macsAfter <= uniform.macsAfter, `${r.macsAfter} > uniform ${uniform.macsAfter}`);
  const [u, b, g] = [heldTop1(uniform.graph), heldTop1(budgeted.graph), heldTop1(searched.graph)];
  const rec = (o: Pick<PruneOptions, 'ratio'>): number => heldTop1(pruneGraph(folded, { criterion: 'l1', calibration, reconstruct: true, ...o }).graph);
  const [ur, br, gr] = [rec({ ratio: 0.3 }), rec({ ratio: budgeted.allocation.ratio }), rec({ ratio: searched.allocation.ratio })];
  const mac = (r: { macsAfter: number; macsBefore: number }): string => pct(r.macsAfter / r.macsBefore);
  console.log(`  held-out top-1 (images 1000..1499), float ${pct(heldTop1(folded))}; l1, bias compensation / + reconstruction:\n` +
    `    uniform 0.3    ${keptCounts(uniform.kept).join('/')}  MACs ${mac(uniform)}: ${pct(u)} / ${pct(ur)}\n` +
    `    budgeted       ${keptCounts(budgeted.kept).join('/')}  MACs ${mac(budgeted)}: ${pct(b)} / ${pct(br)}\n` +
    `    searched       ${keptCounts(searched.kept).join('/')}  MACs ${mac(searched)}: ${pct(g)} / ${pct(gr)}\n` +
    `    search: ${s.evaluations} allocations, ${s.children} children, ${s.generations} generations, seed ${SEARCH.seed}, ${(searchMs / 1000).toFixed(1)} s; ` +
    `search-split error ${s.startScore.toFixed(4)} (uniform start) -> ${s.score.toFixed(4)}`);
  assert.ok(g >= u, `searched ${g} < uniform ${u} on held-out images`);
});

// --- errors --------------------------------------------------------------------------------

test('bad input is an InputError saying what is wrong', () => {
  const scores = channelScores(folded, 'l1');
  for (const f of [0, -0.5, 1.5, Number.NaN, '0.5' as never]) {
    throwsInput(() => pruneToMacs(folded, { criterion: 'l1', targetMacsFraction: f }), 'targetMacsFraction', '(0, 1]');
    throwsInput(() => allocateMacs(folded, { targetMacsFraction: f, scores }), 'targetMacsFraction');
    throwsInput(() => searchGlobalImportance(folded, { ...SEARCH, targetMacsFraction: f }), 'targetMacsFraction');
  }
  for (const budget of [-1, 0, 2.5]) throwsInput(() => searchGlobalImportance(folded, { ...SEARCH, budget }), 'budget', '>= 1');
  throwsInput(() => searchGlobalImportance(folded, { ...SEARCH, lambda: 0 }), 'lambda');
  throwsInput(() => searchGlobalImportance(folded, { ...SEARCH, sigma: -1 }), 'sigma');
  throwsInput(() => searchGlobalImportance(folded, { ...SEARCH, searchLabels: [1, 2] }), 'searchLabels', '256');
  throwsInput(() => searchGlobalImportance(folded, { ...SEARCH, searchInputs: [] }), 'searchInputs');
  throwsInput(() => searchGlobalImportance(folded, { ...SEARCH, objective: 'mse' as never }), 'objective');
  throwsInput(() => searchGlobalImportance(folded, { ...SEARCH, criterion: 'l3' as never }), "'l3'");
  throwsInput(() => pruneToMacs(folded, { criterion: 'l1', targetMacsFraction: 0.5, roundTo: 0 }), 'roundTo');
  throwsInput(() => pruneToMacs(folded, { criterion: 'l1', targetMacsFraction: 0.5, protect: ['nope'] }), "'nope'");
});

test.run();
