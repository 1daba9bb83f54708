/**
 * Model fidelity where real arrays differ from the ideal (issue 13, item 7): channel padding to
 * each array's granularity, tile load phases (double-buffered or serialized), and the DPU model
 * against a published per-layer latency table of a real DPU (harness/fpga/validation/
 * dpu-zcu102-vitis-ai-1.2.json: Xilinx Vitis AI Tutorials, "Profiling a CNN Using DNNDK or VART
 * with Vitis AI", branch 1.2, DNNDK fine-grained profiles of AlexNet and FCN8 on a ZCU102
 * B4096). Every expected number here is worked out by hand from the formulas of
 * harness/fpga/models/ (common.ts header) or transcribed from that table.
 * Run: node --import tsx test/fpga-fidelity.test.ts
 */
import { Command } from 'commander';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatMeasured, registerCompareCommand, runMeasured } from '../harness/cli/commands/compare.ts';
import { measuredLayer, readMeasuredTable, validateMeasured } from '../harness/fpga/compare.ts';
import { getDevice } from '../harness/fpga/devices.ts';
import { roofline } from '../harness/fpga/models/common.ts';
import { MODELS, modelEvaluator, type LayerSpec } from '../harness/fpga/models/index.ts';
import { loadNetwork } from '../harness/networks/index.ts';
import { InputError } from '../harness/util/errors.ts';
import type { MeasuredValidation } from '../harness/results/index.ts';

function layer(s: Partial<LayerSpec> & Pick<LayerSpec, 'inH' | 'inW' | 'inC' | 'outC'>): LayerSpec {
  return { kH: 1, kW: 1, strideH: 1, strideW: 1, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0, groups: 1, wBits: 8, aBits: 8, ...s };
}

function run(id: keyof typeof MODELS, l: LayerSpec, params: Record<string, unknown>, device = 'zcu104', mhz = 300) {
  return modelEvaluator(MODELS[id], params, getDevice(device), mhz).evaluate(l);
}

// --- the combination of compute and transfers ------------------------------------------------

test('roofline: no exposed bytes is max(compute, memory); all exposed is compute + memory; bound by what sets the cycles', () => {
  const at = (C: number, B: number, E: number, port = 0) => ({ ...roofline({ computeCycles: C, offChipBytes: B, exposedBytes: E, portBytesPerCycle: port }, 10) });
  assert.equal(at(1000, 5000, 0), { bytesPerCycle: 10, memoryCycles: 500, loadCycles: 0, cycles: 1000, bound: 'compute' });
  assert.equal(at(1000, 20000, 0), { bytesPerCycle: 10, memoryCycles: 2000, loadCycles: 1000, cycles: 2000, bound: 'memory' });
  // serialized: 1000 + 500
  assert.equal(at(1000, 5000, 5000), { bytesPerCycle: 10, memoryCycles: 500, loadCycles: 500, cycles: 1500, bound: 'compute' });
  assert.is(at(1000, 15000, 15000).bound, 'memory', '1500 transfer cycles > 1000 compute');
  // double-buffered, 3000 B exposed (300 cycles) + 12000 B overlapped (1200 > 1000): memory-bound,
  // cycles = max(1000 + 300, 1500)
  assert.equal(at(1000, 15000, 3000), { bytesPerCycle: 10, memoryCycles: 1500, loadCycles: 500, cycles: 1500, bound: 'memory' });
  // 9000 B overlapped (900 <= 1000), 300 exposed: compute-bound, 1300 cycles
  assert.equal(at(1000, 12000, 3000), { bytesPerCycle: 10, memoryCycles: 1200, loadCycles: 300, cycles: 1300, bound: 'compute' });
  // an engine port of 4 B/cycle below the device's 10 caps the bandwidth
  assert.equal(at(1000, 5000, 0, 4), { bytesPerCycle: 4, memoryCycles: 1250, loadCycles: 250, cycles: 1250, bound: 'memory' });
});

// --- channel padding ---------------------------------------------------------------------------

test('padding: a 3-channel layer on an array taking input channels in groups of 4 pays for 4 (a: L = 4, b: Tn = 4)', () => {
  const l3 = layer({ inH: 16, inW: 16, inC: 3, outC: 8, kH: 3, kW: 3, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 });
  const l4 = { ...l3, inC: 4 };
  for (const [id, p] of [['a', { L: 4, Po: 4 }], ['b', { Tm: 8, Tn: 4, Tr: 16, Tc: 16 }]] as const) {
    const r3 = run(id, l3, p);
    const r4 = run(id, l4, p);
    assert.is(r3.computeCycles, r4.computeCycles, `model ${id}: 3 channels cost what 4 do`);
    assert.is(r3.paddedInC, 4, `model ${id}`);
    assert.ok(Math.abs(r3.utilization - 0.75) < 1e-3 || r3.utilization < 0.75, `model ${id}: 3 of 4 lanes busy at best (${r3.utilization})`);
  }
  // a: Tc = ceil(3/4) = 1, To = ceil(8/(4*2)) = 1, Tp = 256, 9 taps: 2304 issues + fill 3 + 4 + 1
  assert.is(run('a', l3, { L: 4, Po: 4 }).computeCycles, 2304 + 8);
  // b: ceil(8/8) * ceil(3/4) * 256 px * 9 taps
  assert.is(run('b', l3, { Tm: 8, Tn: 4, Tr: 16, Tc: 16 }).computeCycles, 2304);
});

test('padding: DPU B512 (ICP = OCP = 8) pays for 8 input channels of 3 and 16 output channels of 12; systolic pads output lanes only', () => {
  const l = layer({ inH: 8, inW: 8, inC: 3, outC: 12, kH: 3, kW: 3, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 });
  const d = run('d', l, { arch: 'B512' });
  // 8 rows * ceil(8/4) * ceil(3/8) * ceil(12/8) * 9 taps
  assert.is(d.computeCycles, 8 * 2 * 1 * 2 * 9);
  assert.equal([d.paddedInC, d.paddedOutC], [8, 16]);
  assert.is(d.computeCycles, run('d', { ...l, inC: 8, outC: 16 }, { arch: 'B512' }).computeCycles);
  // systolic R = 8, C = 2, pack 2: output tiles of 4 channels, 12 -> 12; 13 -> 16; K = 3 * 9 is not padded
  const e = run('e', { ...l, outC: 13 }, { R: 8, C: 2 });
  assert.equal([e.paddedInC, e.paddedOutC], [3, 16]);
  assert.is(e.detail['K'], 27);
});

test('padding: depthwise on engine (a) uses 1 of L cascade lanes; FINN pads nothing and rejects a SIMD that does not divide', () => {
  const dw = layer({ inH: 8, inW: 8, inC: 32, outC: 32, kH: 3, kW: 3, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, groups: 32 });
  assert.equal([run('a', dw, { L: 8, Po: 2 }).paddedInC, run('a', dw, { L: 8, Po: 2 }).paddedOutC], [8, 4]);
  const first = layer({ inH: 32, inW: 32, inC: 3, outC: 64, kH: 3, kW: 3 });
  const c = run('c', first, { PE: 16, SIMD: 3 });
  assert.equal([c.paddedInC, c.paddedOutC, c.loadCycles, c.cycles], [3, 64, 0, c.computeCycles]);
  assert.throws(() => run('c', first, { PE: 16, SIMD: 4 }), (e: unknown) => e instanceof InputError && /SIMD=4 must divide MW = in_c\*k_h\*k_w = 27/.test((e as Error).message));
});

test('padding: the Fashion-MNIST first conv (28x28x1 -> 16, 3x3) on engine (a) pays for 16 input channels of 1', () => {
  const l = layer({ inH: 28, inW: 28, inC: 1, outC: 16, kH: 3, kW: 3, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 });
  const r = run('a', l, {});
  // L = 16, Po = 8, int8x8 (2 channels x 1 pixel): Tc = 1, To = 1, Tp = 784, 9 taps: 7056 + 20
  assert.is(r.computeCycles, 7076);
  assert.equal([r.paddedInC, r.paddedOutC], [16, 16]);
  assert.ok(Math.abs(r.utilization - 7056 / 16 / 7076) < 1e-12, `1/16 of the cascade: ${r.utilization}`);
  assert.is(r.computeCycles, run('a', { ...l, inC: 16 }, {}).computeCycles, 'as 16 channels would');
  // load phases (double-buffered): input 784 B + first weight tile 16*1*9 = 144 B + last pixel
  // tile 1 px * 16 ch = 16 B -> 944 B at 19.2 GB/s / 300 MHz = 64 B/cycle: 15 cycles
  assert.equal([r.exposedBytes, r.loadCycles, r.cycles, r.bound], [944, 15, 7091, 'compute']);
});

// --- load phases -------------------------------------------------------------------------------

test('load phases: a strided 1x1 layer on engine (a) is memory-bound with serialized loads, compute-bound double-buffered', () => {
  // 28x28x64 -> 128, 1x1 stride 2 (a ResNet projection, small): 196 output pixels of 784 loaded.
  const l = layer({ inH: 28, inW: 28, inC: 64, outC: 128, strideH: 2, strideW: 2 });
  const p = { L: 16, Po: 8, Pp: 8 };
  const db = run('a', l, { ...p, doubleBuffer: 'on' });
  const ser = run('a', l, { ...p, doubleBuffer: 'off' });
  // Tc = 4, To = ceil(128/16) = 8, Tp = ceil(196/8) = 25, 1 tap: 800 issues + fill 20
  assert.is(db.computeCycles, 820);
  assert.is(ser.computeCycles, 820);
  // weights 128*64 = 8,192 + input 28*28*64 = 50,176 + output 196*128 = 25,088 = 83,456 B;
  // 64 B/cycle: 1,304 memory cycles
  assert.equal([db.offChipBytes, db.memoryCycles], [83456, 1304]);
  // serialized: load then compute: 820 + 1,304, the transfers set more of it
  assert.equal([ser.exposedBytes, ser.loadCycles, ser.cycles, ser.bound, ser.doubleBuffered], [83456, 1304, 2124, 'memory', false]);
  // double-buffered: input 50,176 (on chip before cycle 0) + first weight tile 16*64 = 1,024 +
  // last pixel tile 8 px * 16 ch = 128 -> 51,328 B = 802 cycles exposed; the other 32,128 B
  // (502 cycles) load under 820 cycles of compute: compute-bound, 820 + 802
  assert.equal([db.exposedBytes, db.loadCycles, db.cycles, db.bound, db.doubleBuffered], [51328, 802, 1622, 'compute', true]);
});

test('load phases: the same layer on a DPU B4096 is memory-bound either way; double buffering hides compute under the transfers', () => {
  const l = layer({ inH: 28, inW: 28, inC: 64, outC: 128, strideH: 2, strideW: 2 });
  const db = run('d', l, { arch: 'B4096' }, 'zcu102');
  const ser = run('d', l, { arch: 'B4096', doubleBuffer: 'off' }, 'zcu102');
  // 14 rows * ceil(14/8) * ceil(64/16) * ceil(128/16) = 896 cycles; 83,456 B at 32 B/cycle (the
  // core's two 128-bit AXI ports; the board's 17 GB/s would be 56.7) = 2,608 cycles
  assert.equal([db.computeCycles, db.memoryCycles, db.bandwidthGBps], [896, 2608, 9.6]);
  assert.equal([ser.cycles, ser.bound], [896 + 2608, 'memory']);
  assert.equal([db.cycles, db.bound], [2608, 'memory']);
  // without the port cap the board's bandwidth applies: ceil(83,456 / (17000 / 300))
  assert.is(run('d', l, { arch: 'B4096', portBytes: 0 }, 'zcu102').memoryCycles, Math.ceil((83456 * 300) / 17000));
});

test('load phases: every reused-engine model exposes compute, load and total cycles consistently on every VGG16 layer', () => {
  const dev = 'zcu102';
  for (const [id, p] of [['a', {}], ['b', {}], ['d', {}], ['e', {}]] as const) {
    for (const db of ['on', 'off']) {
      for (const l of loadNetwork('vgg16').layers) {
        const r = run(id, l, { ...p, doubleBuffer: db }, dev);
        assert.is(r.cycles, r.computeCycles + r.loadCycles!, `${id} ${l.name}`);
        assert.ok(r.cycles >= Math.max(r.computeCycles, r.memoryCycles), `${id} ${l.name}: at least the roofline`);
        if (db === 'off') assert.is(r.cycles, r.computeCycles + r.memoryCycles, `${id} ${l.name}: serialized`);
        assert.ok(r.exposedBytes! <= r.offChipBytes && r.paddedInC! >= 1 && r.paddedOutC! >= 1);
      }
    }
  }
});

// --- validation against the published DPU table --------------------------------------------------

const table = readMeasuredTable('dpu-zcu102');
const v: MeasuredValidation = validateMeasured(table);

test('validation table: 25 layers transcribed; every shape reproduces the profile\'s workload (2 * MACs) to its printed digits', () => {
  assert.is(v.layers.length, 25);
  assert.equal(table.tables.map((t) => t.layers.length), [8, 17]);
  for (const t of table.tables) {
    for (const r of t.layers) {
      const macs = run('d', measuredLayer(r), { arch: 'B4096' }, 'zcu102').macs;
      // printed with 3 decimals: equal to within half the last digit
      assert.ok(Math.abs((2 * macs) / 1e6 - r.workloadMOP) <= 0.0005 + 1e-9, `${r.name}: ${(2 * macs) / 1e6} vs ${r.workloadMOP} MOP`);
      // the profile's Perf(GOPS) = workload / runtime, as printed (3 significant figures)
      if (r.workloadMOP > 1) assert.ok(Math.abs(r.workloadMOP / r.runtimeMs / r.perfGOPS! - 1) < 0.01, r.name);
    }
  }
  assert.is(v.excluded.length, 4, 'three transposed convolutions and an add');
  assert.is(v.clockMHz, 300);
  assert.equal(v.params, { arch: 'B4096', portBytes: 32, doubleBuffer: 'on' });
});

test('validation: DPU model (d) vs the measured ZCU102 B4096 table: median |error| 9.8 %, worst 88.1 % (fc8), 7 memory-bound layers', () => {
  const lines = v.layers.map((l) => `${l.layer} ${(100 * l.error).toFixed(1)} % ${l.bound}`);
  console.log(`  model d vs DNNDK profile (ZCU102 B4096): ${lines.join('; ')}`);
  // Stated bounds (docs/model-fidelity.md): median within [5 %, 12 %], worst below 90 %.
  assert.ok(v.medianAbsError > 0.05 && v.medianAbsError < 0.12, `median ${v.medianAbsError}`);
  assert.ok(v.worstAbsError < 0.9, `worst ${v.worstAbsError} (${v.worstLayer})`);
  assert.match(v.worstLayer, /fc8$/);
  // The layers the model calls memory-bound are exactly the seven the profile shows at <= 25 %
  // utilisation for a reason other than channel padding (conv1 and block1_conv1, 3 input
  // channels on ICP = 16, run at 16-19 % and are compute-bound, padding included).
  assert.equal(v.memoryBound.names, ['fc6', 'fc7', 'fc8', 'pool4_11_convolution', 'pool3_11_convolution', 'conv6_convolution', 'conv7_convolution']);
  for (const l of v.layers) {
    if (l.bound === 'memory') assert.ok(l.measuredUtilizationPct! <= 25.1, `${l.layer}: ${l.measuredUtilizationPct} %`);
  }
  // Compute-bound layers: the model is faster than the hardware, by 0 to 15 % (no per-layer
  // overhead or pipeline stalls are modelled); the 3-channel first layers within 12 % thanks to
  // the padding (16 of 3 channels).
  for (const l of v.layers.filter((x) => x.bound === 'compute')) assert.ok(l.error <= 0 && l.error > -0.15, `${l.layer}: ${l.error}`);
  assert.ok(v.computeBound.medianAbsError < 0.1, `compute-bound median ${v.computeBound.medianAbsError}`);
  // Memory-bound layers: the model is too fast (the measured DDR rate on fc6/fc7 is ~5 GB/s,
  // half the ports' 9.6 GB/s): nothing is fitted to close that gap.
  for (const l of v.layers.filter((x) => x.bound === 'memory')) assert.ok(l.error < -0.4, `${l.layer}: ${l.error}`);
});

test('validation: without the load phases and port cap (the old roofline) the error is larger and conv6, conv7 and fc8 pass as compute-bound', () => {
  // The old model: cycles = max(compute, ceil(bytes / (17 GB/s / 300 MHz))), nothing exposed.
  const errs: number[] = [];
  const oldMemory: string[] = [];
  for (const t of table.tables) {
    for (const r of t.layers) {
      const e = run('d', measuredLayer(r), { arch: 'B4096' }, 'zcu102');
      const old = Math.max(e.computeCycles, Math.ceil((e.offChipBytes * 300) / 17000));
      if (old > e.computeCycles) oldMemory.push(r.name);
      errs.push(Math.abs(old / 300 / 1e3 / r.runtimeMs - 1));
    }
  }
  errs.sort((a, b) => a - b);
  assert.ok(errs[12]! > v.medianAbsError && errs[24]! > v.worstAbsError, `old median ${errs[12]}, worst ${errs[24]}`);
  assert.equal(oldMemory, ['fc6', 'fc7', 'pool4_11_convolution', 'pool3_11_convolution']);
});

test('fkb compare --measured prints the table, flags memory-bound layers, and refuses --bench with it', async () => {
  const text = formatMeasured(runMeasured({ measured: 'dpu-zcu102' }));
  assert.match(text, /median \|error\| 9\.8 %, worst 88\.1 %/);
  assert.match(text, /│ fc6\s+│ 1x1x9216->4096 k1x1 s1,1 p0,0,0,0\s+│\s+37\.7 │\s+7\.485 │\s+3\.934 │ -47\.4 % │ MEMORY/);
  assert.match(text, /Xilinx\/Vitis-AI-Tutorials/);
  assert.throws(() => runMeasured({ measured: 'dpu-zcu102', bench: 'latest' }), (e: unknown) => e instanceof InputError && /drop --bench/.test((e as Error).message));
  assert.throws(() => runMeasured({ measured: '/nonexistent.json' }), (e: unknown) => e instanceof InputError);
  const off = runMeasured({ measured: 'dpu-zcu102', set: ['doubleBuffer=off'] });
  assert.is(off.params['doubleBuffer'], 'off');
  const out: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  try {
    const program = new Command('fkb').exitOverride();
    registerCompareCommand(program);
    await program.parseAsync(['node', 'fkb', 'compare', '--measured', 'dpu-zcu102', '--json']);
  } finally {
    console.log = log;
  }
  const json = JSON.parse(out.join('\n')) as MeasuredValidation;
  assert.is(json.layers.length, 25);
  assert.is(json.memoryBound.layers, 7);
});

test.run();
