/**
 * Design-space sweep (harness/fpga/sweep.ts) and Pareto fronts (harness/fpga/pareto.ts):
 * fronts are non-dominated and complete against a brute force on small spaces, infeasible
 * configurations are counted by reason, results are deterministic, the fast path (model cores)
 * gives the generic path's numbers, and the FINN folding rule picks the cheapest folding that
 * meets each target. No timing test: the speed is measured and reported, not asserted.
 */
import { Command } from 'commander';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatSweep, parseRanges, registerSweepCommand, runSweep } from '../harness/cli/commands/sweep.ts';
import { getDevice, type Device } from '../harness/fpga/devices.ts';
import { MODELS, modelEvaluator, type LayerSpec } from '../harness/fpga/models/index.ts';
import { dominates, paretoFront } from '../harness/fpga/pareto.ts';
import { sweep, type SweepLayer, type SweepPoint, type SweepResult } from '../harness/fpga/sweep.ts';
import { InputError } from '../harness/util/errors.ts';
import { Rng } from '../harness/util/rng.ts';

function layer(s: Partial<LayerSpec> & Pick<LayerSpec, 'inH' | 'inW' | 'inC' | 'outC'>, name?: string): SweepLayer {
  return {
    kH: 1, kW: 1, strideH: 1, strideW: 1, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0,
    groups: 1, wBits: 8, aBits: 8, ...s, ...(name ? { name } : {}),
  };
}

const pad1 = { kH: 3, kW: 3, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 };
/** Three layers, two of the same shape (merged with multiplicity 2). */
const tiny = {
  name: 'tiny',
  layers: [
    layer({ inH: 8, inW: 8, inC: 16, outC: 32, ...pad1 }, 'c1'),
    layer({ inH: 8, inW: 8, inC: 32, outC: 32, ...pad1 }, 'c2'),
    layer({ inH: 8, inW: 8, inC: 32, outC: 32, ...pad1 }, 'c3'),
    layer({ inH: 1, inW: 1, inC: 2048, outC: 10 }, 'fc'),
  ],
};

/** Every configuration of `dims` evaluated layer by layer through the public model API. */
function bruteForce(id: 'b' | 'e', dims: Record<string, (number | string)[]>, device: Device, mhz: number) {
  const names = Object.keys(dims);
  const configs: Record<string, number | string>[] = [{}];
  for (const n of names) {
    const next: Record<string, number | string>[] = [];
    for (const c of configs) for (const v of dims[n]!) next.push({ ...c, [n]: v });
    configs.splice(0, configs.length, ...next);
  }
  const feasible: { fps: number; dsp: number; bram: number }[] = [];
  const reasons: Record<string, number> = {};
  for (const c of configs) {
    const ev = modelEvaluator(MODELS[id], c, device, mhz);
    try {
      const est = tiny.layers.map((l) => ev.evaluate(l));
      const cycles = est.reduce((a, e) => a + e.cycles, 0);
      feasible.push({ fps: (mhz * 1e6) / cycles, dsp: Math.max(...est.map((e) => e.dsp)), bram: Math.max(...est.map((e) => e.bram)) });
    } catch (e) {
      const reason = (e as { reason?: string }).reason ?? 'invalid';
      reasons[reason] = (reasons[reason] ?? 0) + 1;
    }
  }
  return { configs, feasible, reasons };
}

/** Non-dominated objective vectors by the definition, O(n^2). */
function nonDominated(points: { fps: number; dsp: number; bram: number }[], costs: ('dsp' | 'bram')[]): Set<string> {
  const key = (p: (typeof points)[number]) => `${p.fps}|${costs.includes('dsp') ? p.dsp : '-'}|${costs.includes('bram') ? p.bram : '-'}`;
  const out = new Set<string>();
  for (const p of points) {
    const beaten = points.some((q) => q.fps >= p.fps && costs.every((c) => q[c] <= p[c]) && (q.fps > p.fps || costs.some((c) => q[c] < p[c])));
    if (!beaten) out.add(key(p));
  }
  return out;
}

function frontKeys(front: SweepPoint[], costs: ('dsp' | 'bram')[]): string[] {
  return front.map((p) => `${p.fps}|${costs.includes('dsp') ? p.dsp : '-'}|${costs.includes('bram') ? p.bram : '-'}`);
}

// --- pareto.ts -----------------------------------------------------------------------------

test('paretoFront: non-dominated and complete on random points with many ties', () => {
  const rng = new Rng(7);
  const rnd = () => rng.next();
  for (let trial = 0; trial < 20; trial++) {
    const n = 1 + Math.floor(rnd() * 300);
    // few distinct values: ties and exact duplicates are common
    const value = Float64Array.from({ length: n }, () => Math.floor(rnd() * 12));
    const a = Float64Array.from({ length: n }, () => Math.floor(rnd() * 12));
    const b = Float64Array.from({ length: n }, () => Math.floor(rnd() * 12));
    const front = paretoFront(n, value, [a, b]);
    const inFront = new Set(front);
    for (let p = 0; p < n; p++) {
      const beaten = Array.from({ length: n }, (_, q) => q).some((q) => dominates(q, p, value, [a, b]));
      const vec = `${value[p]},${a[p]},${b[p]}`;
      const represented = front.some((f) => `${value[f]},${a[f]},${b[f]}` === vec);
      assert.is(represented, !beaten, `trial ${trial}, point ${p} (${vec})`);
      if (inFront.has(p)) {
        assert.not.ok(beaten, `front point ${p} is dominated`);
        // the representative of equal vectors is the first in input order
        assert.ok(Array.from({ length: p }, (_, q) => q).every((q) => `${value[q]},${a[q]},${b[q]}` !== vec), `point ${p} is not the first of its vector`);
      }
    }
    for (let k = 1; k < front.length; k++) assert.ok(value[front[k - 1]!]! >= value[front[k]!]!, 'front is sorted by value');
  }
});

test('paretoFront: one cost gives the staircase; no points gives an empty front', () => {
  const value = [10, 9, 8, 7, 10, 5];
  const dsp = [100, 50, 60, 10, 120, 10];
  assert.equal(paretoFront(6, value, [dsp]), [0, 1, 3]);
  assert.equal(paretoFront(0, [], [[]]), []);
});

// --- the sweep against a brute force ----------------------------------------------------------

test('sweep model e on a small space: every front equals the brute-force non-dominated set', () => {
  const dims = { R: [1, 2, 3, 4, 6, 8, 12, 16], C: [1, 2, 4, 5, 8, 16], packing: [1, 2] };
  const device = getDevice('ultra96');
  const r = sweep({ model: 'e', device, network: tiny, clockMHz: 200, ranges: dims });
  const bf = bruteForce('e', dims, device, 200);
  assert.is(r.space, 8 * 6 * 2);
  assert.is(r.evaluated, r.space);
  assert.is(r.feasible, bf.feasible.length);
  assert.equal(new Set(frontKeys(r.front, ['dsp', 'bram'])), nonDominated(bf.feasible, ['dsp', 'bram']));
  assert.equal(new Set(frontKeys(r.frontDsp, ['dsp'])), nonDominated(bf.feasible, ['dsp']));
  assert.equal(new Set(frontKeys(r.frontBram, ['bram'])), nonDominated(bf.feasible, ['bram']));
  assert.is(new Set(frontKeys(r.front, ['dsp', 'bram'])).size, r.front.length, 'one point per objective vector');
  // each front point's parameters reproduce its numbers through `fkb model`'s evaluator
  for (const p of r.front) {
    const ev = modelEvaluator(MODELS.e, p.params, device, 200);
    const cycles = tiny.layers.reduce((a, l) => a + ev.evaluate(l).cycles, 0);
    assert.is(p.cyclesPerFrame, cycles);
    assert.is(p.fps, 200e6 / cycles);
  }
});

test('sweep model b on a small space: the front equals the brute force (tiles, BRAM budget)', () => {
  const dims = { Tm: [4, 8, 16, 32], Tn: [1, 2, 4, 8], Tr: [1, 2, 4, 8], Tc: [2, 8] };
  const device = getDevice('pynq-z2');
  const r = sweep({ model: 'b', device, network: tiny, clockMHz: 100, ranges: dims });
  const bf = bruteForce('b', dims, device, 100);
  assert.is(r.feasible, bf.feasible.length);
  assert.equal(new Set(frontKeys(r.front, ['dsp', 'bram'])), nonDominated(bf.feasible, ['dsp', 'bram']));
});

test('infeasible configurations are counted by reason with an example naming the limit', () => {
  // PYNQ-Z2: 220 DSP48E1, no packing. R*C > 220 is 'dsp'; packing 2 and 4 are 'packing'.
  const R = [1, 8, 15, 16, 30];
  const C = [1, 14, 15, 16];
  const r = sweep({ model: 'e', device: getDevice('pynq-z2'), network: tiny, clockMHz: 100, ranges: { R, C, packing: [1, 2, 4] } });
  const count = (reason: string) => r.infeasible.reasons.find((x) => x.reason === reason)?.count ?? 0;
  const tooMany = R.flatMap((a) => C.map((b) => a * b)).filter((d) => d > 220).length;
  assert.is(count('packing'), 2 * R.length * C.length, 'packing 2 and 4 on DSP48E1, checked before the DSPs');
  assert.is(count('dsp'), tooMany);
  assert.is(r.infeasible.total, r.evaluated - r.feasible);
  assert.is(r.feasible, R.length * C.length - tooMany);
  assert.match(r.infeasible.reasons.find((x) => x.reason === 'dsp')!.example, /R\*C \(\d+\*\d+\) = \d+ DSPs exceeds the 220 DSP slices of xc7z020/);
  assert.match(r.infeasible.reasons.find((x) => x.reason === 'packing')!.example, /DSP48E1/);
  // a BRAM budget makes the larger tiles infeasible for 'bram'
  const b = sweep({ model: 'b', device: getDevice('zcu102'), network: tiny, clockMHz: 300, ranges: { Tm: [8, 64], Tn: [4], Tr: [1, 8], Tc: [8] }, fixed: { bramBudget: 30 } });
  assert.equal(b.infeasible.reasons.map((x) => x.reason), ['bram']);
  assert.match(b.infeasible.reasons[0]!.example, /bramBudget of 30/);
});

test('sweep results are deterministic (everything but the elapsed time)', () => {
  const strip = (r: SweepResult) => ({ ...r, elapsedMs: 0 });
  const opts = { model: 'a', device: getDevice('zcu104'), network: tiny, clockMHz: 250, ranges: { L: [4, 8, 16], Po: [1, 2, 3, 4, 5, 6, 7, 8], Pp: [1, 2, 4] } };
  assert.equal(strip(sweep(opts)), strip(sweep(opts)));
  const c = { model: 'c', device: getDevice('zcu102'), network: tiny, clockMHz: 200 };
  assert.equal(strip(sweep(c)), strip(sweep(c)));
});

test('fast path (model cores) and generic path (model.evaluate) give the same results for b, d, e', () => {
  const strip = (r: SweepResult) => ({ ...r, elapsedMs: 0 });
  const net = { name: 'mix', layers: [...tiny.layers, layer({ inH: 8, inW: 8, inC: 32, outC: 32, ...pad1, groups: 32 }, 'dw')] };
  const cases: { model: string; ranges: Record<string, (number | string)[]> }[] = [
    { model: 'b', ranges: { Tm: [8, 16, 64], Tn: [2, 7], Tr: [2, 8], Tc: [4, 8] } },
    { model: 'd', ranges: {} },
    { model: 'e', ranges: { R: [2, 8, 60], C: [3, 16, 50], packing: [1, 2, 4] } },
  ];
  for (const { model, ranges } of cases) {
    const base = { model, device: { ...getDevice('zcu104'), offChipGBps: 0.5 }, network: net, clockMHz: 300, ranges };
    assert.equal(strip(sweep(base)), strip(sweep({ ...base, generic: true })), `model ${model}`);
  }
});

test('--limit samples a larger space at an even stride, deterministically', () => {
  const opts = { model: 'e', device: getDevice('zcu102'), network: tiny, clockMHz: 300, ranges: { R: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], C: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], packing: [2] } };
  const r = sweep({ ...opts, limit: 7 });
  assert.is(r.space, 100);
  assert.is(r.evaluated, 7);
  assert.is(r.feasible + r.infeasible.total, 7);
  // stride 100/7: indices 0, 14, 28, 42, 57, 71, 85 -> R = index / 10 + 1, C = index % 10 + 1
  const sampled = ['1x1', '2x5', '3x9', '5x3', '6x8', '8x2', '9x6'];
  for (const p of r.frontDsp) assert.ok(sampled.includes(`${p.config['R']}x${p.config['C']}`), `${p.config['R']}x${p.config['C']}`);
  assert.equal({ ...r, elapsedMs: 0 }, { ...sweep({ ...opts, limit: 7 }), elapsedMs: 0 });
});

test('model d: cores multiply throughput and DSPs and share the bandwidth', () => {
  const one = layer({ inH: 56, inW: 56, inC: 64, outC: 64, ...pad1 }, 'conv');
  const net = { name: 'one', layers: [one] };
  const device = getDevice('zcu104');
  const r = sweep({ model: 'd', device, network: net, clockMHz: 300, ranges: { arch: ['B1024'], cores: [1, 2] } });
  const [c2, c1] = [...r.frontDsp].sort((a, b) => b.cores - a.cores);
  const single = modelEvaluator(MODELS.d, { arch: 'B1024' }, device, 300).evaluate(one);
  assert.is(c1!.fps, 300e6 / single.cycles);
  assert.is(c1!.dsp, single.dsp);
  assert.is(c2!.dsp, 2 * single.dsp);
  assert.is(c2!.fps, 2 * c1!.fps, 'compute-bound: twice the frames');
  // with little bandwidth the layer is memory-bound and a second core adds nothing
  const slow = { ...device, offChipGBps: 0.1 };
  const s = sweep({ model: 'd', device: slow, network: net, clockMHz: 300, ranges: { arch: ['B1024'], cores: [1, 2] } });
  const fps = s.frontDsp.map((p) => p.fps);
  assert.ok(Math.abs(fps[0]! - (fps[1] ?? fps[0]!)) / fps[0]! < 1e-3 || s.frontDsp.length === 1, `${fps}`);
  assert.is(s.frontDsp.length, 1, 'two cores are dominated: same frames/s, twice the DSPs');
});

// --- FINN ------------------------------------------------------------------------------------

test('FINN folding rule: per layer the fewest multipliers meeting the target; throughput f / slowest layer', () => {
  const device = getDevice('zcu102');
  const net = {
    name: 'w1a1',
    layers: [
      layer({ inH: 10, inW: 10, inC: 3, outC: 16, kH: 3, kW: 3, wBits: 1, aBits: 1 }, 'c1'),
      layer({ inH: 8, inW: 8, inC: 16, outC: 32, kH: 3, kW: 3, wBits: 1, aBits: 1 }, 'c2'),
      layer({ inH: 1, inW: 1, inC: 128, outC: 10, wBits: 1, aBits: 1 }, 'fc'),
    ],
  };
  const r = sweep({ model: 'c', device, network: net, clockMHz: 100 });
  assert.equal(r.dims.map((d) => d.name), ['packing', 'targetCycles']);
  assert.ok(r.front.length > 3);
  for (const p of r.front) {
    const target = Number(p.config['targetCycles']);
    assert.ok(p.foldings!.length === 3);
    let slowest = 0;
    p.foldings!.forEach((f, i) => {
      const l = net.layers[i]!;
      const out = l.inH - l.kH + 1;
      const MH = l.outC;
      const MW = l.inC * l.kH * l.kW;
      assert.is(MH % f.PE, 0);
      assert.is(MW % f.SIMD, 0);
      assert.is(f.cycles, out * out * (MH / f.PE) * (MW / f.SIMD));
      assert.ok(f.cycles <= target, `${f.layer} meets the target`);
      // no legal folding with fewer multipliers meets the target
      for (let pe = 1; pe <= MH; pe++) {
        for (let simd = 1; simd <= MW; simd++) {
          if (MH % pe || MW % simd || pe * simd >= f.PE * f.SIMD) continue;
          assert.ok(out * out * (MH / pe) * (MW / simd) > target, `${f.layer}: ${pe}x${simd} is cheaper and meets ${target}`);
        }
      }
      slowest = Math.max(slowest, f.cycles);
    });
    assert.is(p.cyclesPerFrame, slowest);
    assert.is(p.fps, 100e6 / slowest);
    assert.is(p.dsp, 0, 'W1A1: LUT multipliers');
  }
});

test('FINN: non-depthwise grouped layers make every configuration infeasible (grouping)', () => {
  const net = { name: 'g', layers: [layer({ inH: 4, inW: 4, inC: 8, outC: 8, groups: 2 }, 'g2')] };
  const r = sweep({ model: 'c', device: getDevice('zcu102'), network: net, clockMHz: 100 });
  assert.is(r.feasible, 0);
  assert.equal(r.infeasible.reasons.map((x) => x.reason), ['grouping']);
  assert.is(r.infeasible.total, r.evaluated);
  assert.match(r.infeasible.reasons[0]!.example, /^g2: FINN model: groups=2/);
  assert.equal(r.front, []);
});

// --- bad input and the CLI ------------------------------------------------------------------

function rejects(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof InputError && re.test((e as Error).message), re.source);
}

test('bad input is an InputError naming the option', () => {
  const base = { arch: 'b', device: 'zcu102', network: 'alexnet' };
  rejects(() => runSweep({ ...base, arch: 'q' }), /--arch must be one of/);
  rejects(() => runSweep({ ...base, device: 'nope' }), /unknown device 'nope'/);
  rejects(() => runSweep({ ...base, network: 'lenet' }), /neither a built-in network/);
  rejects(() => runSweep({ ...base, clockMhz: '0' }), /--clock-mhz/);
  rejects(() => runSweep({ ...base, limit: 'many' }), /--limit must be a non-negative integer/);
  rejects(() => runSweep({ ...base, limit: '0' }), /--limit must be at least 1/);
  rejects(() => runSweep({ ...base, range: ['Tq=1,2'] }), /--range Tq: model b \(tiled\) has no parameter 'Tq'/);
  rejects(() => runSweep({ ...base, range: ['Tm=0,4'] }), /Tm=0 is below its minimum 1/);
  rejects(() => runSweep({ ...base, range: ['Tm=4'], set: ['Tm=8'] }), /both swept \(--range\) and fixed \(--set\)/);
  rejects(() => runSweep({ ...base, set: ['Zz=1'] }), /unknown parameter 'Zz'/);
  rejects(() => runSweep({ ...base, arch: 'c', set: ['PE=2'] }), /FINN's PE and SIMD are chosen per layer/);
  rejects(() => runSweep({ ...base, arch: 'd', range: ['arch=B9999'] }), /arch must be one of/);
  rejects(() => parseRanges(['Tm']), /--range expects key=values/);
  rejects(() => parseRanges(['Tm=8..4']), /lo <= hi/);
});

test('parseRanges: lists, ranges with steps, and names', () => {
  assert.equal(parseRanges(['Tm=4..16:4', 'Tn=1,3,5..6', 'arch=B1024,B4096']), { Tm: [4, 8, 12, 16], Tn: [1, 3, 5, 6], arch: ['B1024', 'B4096'] });
});

test('fkb sweep prints the front as a table, or the result as JSON', async () => {
  const out: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  try {
    for (const args of [
      ['sweep', '--arch', 'd', '--device', 'zcu102', '--network', 'alexnet'],
      ['sweep', '--arch', 'e', '--device', 'zcu102', '--network', 'resnet18', '--range', 'R=4..32:4', '--range', 'C=4..32:4', '--json'],
    ]) {
      const program = new Command('fkb').exitOverride();
      registerSweepCommand(program);
      await program.parseAsync(['node', 'fkb', ...args]);
    }
  } finally {
    console.log = log;
  }
  assert.match(out[0]!, /sweep model d \(dpu\) on xczu9eg \(ZCU102\) at 300 MHz, network alexnet/);
  assert.match(out[0]!, /space 32 configurations \(arch 8 x cores 4\)/);
  assert.match(out[0]!, /│\s+1 │ arch=B4096\s+│\s+\d │/);
  const json = JSON.parse(out[1]!) as SweepResult;
  assert.is(json.space, 8 * 8 * 3);
  assert.ok(json.front.length > 0 && json.front.every((p) => p.dsp <= 2520));
});

test('formatSweep: an empty front says so; long fronts are thinned evenly', () => {
  const r = runSweep({ arch: 'c', device: 'zcu102', network: 'vgg16' });
  assert.is(r.feasible, 0);
  assert.match(formatSweep(r), /Pareto front \(throughput vs DSP and BRAM\): empty/);
  const b = runSweep({ arch: 'b', device: 'zcu102', network: 'alexnet', range: ['Tr=13', 'Tc=13'] });
  const text = formatSweep(b, 'all', 5);
  assert.match(text, new RegExp(`${b.front.length} points, showing 5`));
  assert.match(text, new RegExp(`│\\s+${b.front.length} │`), 'the last point is shown');
});

test.run();
