/**
 * Measured vs modeled (harness/fpga/compare.ts, `fkb compare`): a synthetic BenchReport of two
 * shapes against model d (B1024: PP = ICP = OCP = 8) on a ZCU102 (17 GB/s) at 300 MHz. Every
 * expected number below is worked out by hand from the DPU formulas of harness/fpga/models/dpu.ts.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type BenchReport, type Measurement } from '../harness/results/index.ts';
import { formatCompare, registerCompareCommand, runCompare } from '../harness/cli/commands/compare.ts';
import { describeShape } from '../harness/conv/layer.ts';
import { asBenchReport, compareBench, latestBenchReport, parseShape } from '../harness/fpga/compare.ts';
import { getDevice } from '../harness/fpga/devices.ts';
import { InfeasibleError } from '../harness/fpga/models/index.ts';
import { InputError } from '../harness/util/errors.ts';

const CONV = '56x56x64->64 k3x3 s1,1 p1,1,1,1';
const FC = '1x1x4096->4096 k1x1 s1,1 p0,0,0,0';

function m(shape: string, macs: number, kernel: string, module: Measurement['module'], gmacs: number, layer = 'L'): Measurement {
  return { layer, shape, macs, kernel, module, p50Ms: macs / gmacs / 1e6, madMs: 0, samples: 10, gmacs, verifiedAgainst: 'test' };
}

function report(date = '2026-01-01T00:00:00.000Z'): BenchReport {
  return {
    date,
    machine: { cpu: 'test cpu', cores: 2, avxVnni: false, node: 'v20', v8: '11' },
    options: {} as BenchReport['options'],
    modules: [],
    measurements: [
      m(CONV, 115605504, 'scalar', 'scalar', 1.1, 'reference'),
      m(CONV, 115605504, 'simd_fast', 'simd', 40, 'reference'),
      m(CONV, 115605504, 'simd_slow', 'simd', 25, 'reference'),
      m(CONV, 115605504, 'onnxruntime-web QLinearConv (uint8)', 'onnxruntime-web', 30, 'reference'),
      m(FC, 16777216, 'fc_kernel', 'simd', 2, 'vgg16/fc7'),
      m('7x7x8->8 k1x1 s1,1 p0,0,0,0', 392 * 8, 'onnxruntime-web QLinearConv (int8)', 'onnxruntime-web', 1, 'ort only'),
    ],
  };
}

const dev = getDevice('zcu102');

function compare(r = report()) {
  return compareBench({ report: r, model: 'd', device: dev, clockMHz: 300, params: { arch: 'B1024' } });
}

test('parseShape inverts describeShape; malformed shapes are rejected', () => {
  for (const s of [CONV, FC, '224x224x3->64 k7x7 s2,2 p3,3,3,3', '8x9x10->11 k3x1 s2,1 p0,1,2,0']) assert.is(describeShape(parseShape(s)), s);
  assert.throws(() => parseShape('56x56x64 k3'), (e: unknown) => e instanceof InputError && /not of the form/.test((e as Error).message));
});

test('3x3 conv, compute-bound: 225,792 compute + 494 load cycles, 153.3 GMAC/s, 3.83x the best WASM variant', () => {
  const row = compare().rows.find((r) => r.shape === CONV)!;
  // cycles = out_h * ceil(out_w/PP) * ceil(C_in/ICP) * ceil(C_out/OCP) * k^2 = 56 * 7 * 8 * 8 * 9
  assert.is(row.fpga.computeCycles, 225792);
  // off-chip: weights 64*64*9 + input 56*56*64 + output 56*56*64 bytes = 438,272
  assert.is(row.fpga.offChipBytes, 438272);
  // One DPU core moves at most 32 B/cycle (two 128-bit AXI masters, PG338), below the ZCU102's
  // 17 GB/s at 300 MHz (56.67 B/cycle): 9.6 GB/s, ceil(438,272 / 32) = 13,696 < 225,792
  assert.is(row.fpga.bandwidthGBps, 9.6);
  assert.is(row.fpga.memoryCycles, 13696);
  assert.is(row.fpga.bound, 'compute');
  // Double-buffered: the first tile's weights (OCP = 8 channels * 64 * 9 = 4,608 B) and input
  // rows (3 * 56 * 64 = 10,752 B) and the last output row (56 * 8 = 448 B) wait:
  // 15,808 B -> ceil(15,808 / 32) = 494 load cycles
  assert.is(row.fpga.loadCycles, 494);
  assert.is(row.fpga.cycles, 225792 + 494);
  assert.ok(Math.abs(row.fpga.timeMs - 226286 / 300 / 1e3) < 1e-12, `${row.fpga.timeMs}`);
  // 115,605,504 MACs / 754.29 us = 153.26 GMAC/s (the array alone: 512 MACs/cycle * 300 MHz = 153.6)
  assert.ok(Math.abs(row.fpga.gmacs - 115605504 / (226286 / 0.3)) < 1e-9);
  assert.ok(Math.abs(row.fpga.gops - 2 * row.fpga.gmacs) < 1e-9);
  assert.is(row.fpga.utilization, 1);
  // the best of our variants is simd_fast at 40 GMAC/s; onnxruntime (30) is listed apart
  assert.equal([row.wasm.kernel, row.wasm.gmacs, row.wasm.variants], ['simd_fast', 40, 3]);
  assert.is(row.ort!.gmacs, 30);
  assert.ok(Math.abs(row.ratio - row.fpga.gmacs / 40) < 1e-9);
  // roofline: I = 2 * 115,605,504 / 438,272 = 527.55 ops/B; ridge = 307.2 GOPS / 9.6 GB/s = 32
  assert.ok(Math.abs(row.fpga.opsPerByte! - 231211008 / 438272) < 1e-9);
  assert.ok(Math.abs(row.fpga.ridgeOpsPerByte - 32) < 1e-9);
  assert.ok(Math.abs(row.fpga.effectiveRidgeOpsPerByte - 32) < 1e-9, 'fully used engine: effective ridge = ridge');
  assert.ok(row.fpga.opsPerByte! > row.fpga.ridgeOpsPerByte);
});

test('4096x4096 fully connected, memory-bound: 524,544 cycles at the 9.6 GB/s of one core, 4.8x a 2 GMAC/s kernel', () => {
  const row = compare().rows.find((r) => r.shape === FC)!;
  // 1 row * ceil(1/8) * ceil(4096/8) * ceil(4096/8) * 1 tap = 262,144 compute cycles (1 of 8 pixel lanes)
  assert.is(row.fpga.computeCycles, 262144);
  assert.is(row.fpga.utilization, 0.125);
  // weights 4096*4096 + input 4096 + output 4096 = 16,785,408 B; ceil(16,785,408 / 32) = 524,544
  assert.is(row.fpga.offChipBytes, 16785408);
  assert.is(row.fpga.memoryCycles, 524544);
  assert.is(row.fpga.bound, 'memory');
  // the overlapped weight stream outlasts compute: cycles = memory cycles, 262,400 of them load
  assert.is(row.fpga.cycles, 524544);
  assert.is(row.fpga.loadCycles, 524544 - 262144);
  const timeNs = (524544 * 1e3) / 300;
  assert.ok(Math.abs(row.fpga.gmacs - 16777216 / timeNs) < 1e-9, `${row.fpga.gmacs}`); // 9.60 GMAC/s
  assert.ok(Math.abs(row.ratio - 16777216 / timeNs / 2) < 1e-9); // 4.80
  // I = 2 * 16,777,216 / 16,785,408 = 1.999 ops/B, below the ridge (32) and the effective
  // ridge: compute rate 2 * 16,777,216 / (262,144 / 300 MHz) = 38.4 GOPS -> 38.4 / 9.6 = 4 ops/B
  assert.ok(Math.abs(row.fpga.opsPerByte! - 33554432 / 16785408) < 1e-12);
  assert.ok(Math.abs(row.fpga.effectiveRidgeOpsPerByte - 4) < 1e-9);
  assert.ok(row.fpga.opsPerByte! < row.fpga.effectiveRidgeOpsPerByte);
});

test('totals, shapes measured only by onnxruntime, and the table', () => {
  const r = compare();
  assert.is(r.rows.length, 2, 'the onnxruntime-only shape has nothing of ours to compare');
  assert.equal(r.params, { arch: 'B1024', portBytes: 32, doubleBuffer: 'on' });
  const fpgaMs = 226286 / 300 / 1e3 + 524544 / 300 / 1e3;
  const wasmMs = 115605504 / 40 / 1e6 + 16777216 / 2 / 1e6;
  assert.ok(Math.abs(r.totals.fpgaTimeMs - fpgaMs) < 1e-12);
  assert.ok(Math.abs(r.totals.wasmTimeMs - wasmMs) < 1e-12);
  assert.ok(Math.abs(r.totals.ratio - wasmMs / fpgaMs) < 1e-9);
  assert.is(r.totals.memoryBoundLayers, 1);
  const text = formatCompare(r);
  assert.match(text, /model d \(dpu\) on xczu9eg \(ZCU102\) at 300 MHz \(17 GB\/s\); params: arch=B1024 portBytes=32 doubleBuffer=on/);
  assert.match(text, /simd_fast\s+│\s+40\.00 │\s+153\.3 │\s+306\.5 │\s+3\.8x │ compute/);
  assert.match(text, /│ memory\s+│\s+2\.0 │/);
  assert.match(text, /│\s+494 │/, 'load cycles column');
});

test('reports: a run file (benchmark field) is accepted, malformed ones rejected, latest by date', () => {
  const r = report();
  assert.is(asBenchReport({ verification: [], benchmark: r }).measurements.length, r.measurements.length);
  const bad = (json: unknown, re: RegExp) =>
    assert.throws(() => asBenchReport(json, 'x.json'), (e: unknown) => e instanceof InputError && re.test((e as Error).message), re.source);
  bad({ date: 'd' }, /x\.json: not a benchmark report/);
  bad({ measurements: [{ ...r.measurements[0], gmacs: 0 }] }, /measurements\[0\]\.gmacs must be a positive number/);
  bad({ measurements: [{ ...r.measurements[0], shape: 3 }] }, /measurements\[0\]\.shape must be a string/);

  const dir = mkdtempSync(join(tmpdir(), 'fkb-compare-'));
  writeFileSync(join(dir, 'splitconv-old.json'), JSON.stringify(report('2026-01-01T00:00:00.000Z')));
  writeFileSync(join(dir, 'run-new.json'), JSON.stringify({ verification: [], benchmark: report('2026-03-01T00:00:00.000Z') }));
  writeFileSync(join(dir, 'other.json'), JSON.stringify({ hello: 1 }));
  writeFileSync(join(dir, 'notes.txt'), 'not json');
  const latest = latestBenchReport(dir);
  assert.is(latest.file, join(dir, 'run-new.json'));
  const viaCli = runCompare({ bench: 'latest', arch: 'dpu', device: 'zcu102', set: ['arch=B1024'] }, dir);
  assert.is(viaCli.bench.date, '2026-03-01T00:00:00.000Z');
  assert.is(viaCli.rows.find((x) => x.shape === CONV)!.fpga.computeCycles, 225792);
  const empty = mkdtempSync(join(tmpdir(), 'fkb-compare-empty-'));
  assert.throws(() => latestBenchReport(empty), (e: unknown) => e instanceof InputError && /fkb bench --reference/.test((e as Error).message));
});

test('bad input is an InputError naming what is wrong', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fkb-compare-bad-'));
  const file = join(dir, 'r.json');
  writeFileSync(file, JSON.stringify(report()));
  const rejects = (fn: () => unknown, re: RegExp) =>
    assert.throws(fn, (e: unknown) => e instanceof InputError && re.test((e as Error).message), re.source);
  rejects(() => runCompare({ bench: file, arch: 'x', device: 'zcu102' }), /--arch must be one of/);
  rejects(() => runCompare({ bench: file, arch: 'd', device: 'nope' }), /unknown device 'nope'/);
  rejects(() => runCompare({ bench: join(dir, 'missing.json'), arch: 'd', device: 'zcu102' }), /cannot read bench report/);
  rejects(() => runCompare({ bench: file, arch: 'd', device: 'zcu102', set: ['arch=B7'] }), /arch must be one of/);
  rejects(() => runCompare({ bench: file, arch: 'd', device: 'zcu102', clockMhz: 'fast' }), /--clock-mhz/);
  // DPU on a DSP48E1 part: infeasible, and the message names the layer and shape
  assert.throws(
    () => runCompare({ bench: file, arch: 'd', device: 'vc707' }),
    (e: unknown) => e instanceof InfeasibleError && e.reason === 'device' && /^layer reference \(56x56x64->64 k3x3 s1,1 p1,1,1,1\): arch=B4096: the DPUCZDX8G needs DSP48E2/.test((e as Error).message),
  );
  // FINN: PE must divide out_c
  rejects(() => runCompare({ bench: file, arch: 'c', device: 'zcu102', set: ['PE=3'] }), /PE=3 must divide MH/);
});

test('fkb compare --json prints the report', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fkb-compare-cli-'));
  const file = join(dir, 'r.json');
  writeFileSync(file, JSON.stringify(report()));
  const out: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  try {
    const program = new Command('fkb').exitOverride();
    registerCompareCommand(program);
    await program.parseAsync(['node', 'fkb', 'compare', '--bench', file, '--arch', 'e', '--device', 'zcu104', '--set', 'R=8', '--json']);
  } finally {
    console.log = log;
  }
  const json = JSON.parse(out.join('\n')) as ReturnType<typeof compare>;
  assert.is(json.rows.length, 2);
  assert.is(json.params['R'], 8);
  assert.is(json.bench.file, file);
});

test.run();
