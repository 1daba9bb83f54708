/**
 * The peak loops (assembly/peak/) compute what they claim, on this engine's optimized code: the
 * eight stored accumulators equal a JS computation of the same operand stream. And `fkb bench`
 * reports every kernel as a percentage of its path's peak measured in the same run. No timings
 * are asserted.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PEAK_OPERANDS, PEAK_RING, type PeakOperands, measurePeaks, peakExport, peakOperands, withPeaks } from '../harness/bench/peak.ts';
import { DSPCONV_VARIANTS } from '../harness/registry/dspconv.ts';
import { INSTRUCTION_PATHS, type InstructionPathInfo, pathOf } from '../harness/registry/paths.ts';
import { SPLITCONV_VARIANTS } from '../harness/registry/splitconv.ts';
import type { BenchReport, Measurement, PeakReport } from '../harness/results/index.ts';
import { loadModules } from '../harness/wasm/modules.ts';

const root = join(import.meta.dirname, '..');

/** One group's four int32 lanes, exactly as the path's instructions define them. */
function group(loop: InstructionPathInfo['loop'], x: DataView, xAt: number, w: DataView, wAt: number): number[] {
  return [0, 1, 2, 3].map((lane) => {
    let s = 0;
    if (loop === 'Dot16x8') {
      for (const j of [2 * lane, 2 * lane + 1]) s += x.getInt16(xAt + 2 * j, true) * w.getInt16(wAt + 2 * j, true);
    } else if (loop === 'Extmul8x16') {
      // extmul_low covers bytes 0..7, extmul_high 8..15; extadd_pairwise sums neighbouring products.
      for (const j of [2 * lane, 2 * lane + 1, 8 + 2 * lane, 9 + 2 * lane]) s += x.getInt8(xAt + j) * w.getInt8(wAt + j);
    } else {
      for (let j = 4 * lane; j < 4 * lane + 4; j++) s += x.getInt8(xAt + j) * w.getUint8(wAt + j);
    }
    return s;
  });
}

/**
 * The eight accumulators after `iters` iterations of the loop over `bytes`: x0, x1 from ring step
 * i % PEAK_RING, the weights from step 0 (resident) or step i % PEAK_RING (loads). `ring` false
 * models a loop that kept x at step 0, to show the test tells them apart.
 */
function reference(info: InstructionPathInfo, operands: PeakOperands, bytes: Uint8Array, iters: number, ring = true): Int32Array {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const acc = new Int32Array(32);
  for (let i = 0; i < iters; i++) {
    const s = ring ? i % PEAK_RING : 0;
    const ws = operands === 'resident' ? 0 : s;
    for (let m = 0; m < 2; m++) {
      for (let n = 0; n < 4; n++) {
        const g = group(info.loop, v, 32 * s + 16 * m, v, 32 * PEAK_RING + 64 * ws + 16 * n);
        for (let lane = 0; lane < 4; lane++) acc[16 * m + 4 * n + lane] = (acc[16 * m + 4 * n + lane]! + g[lane]!) | 0;
      }
    }
  }
  return acc;
}

/** The distinct loops this engine runs. */
const loops = [...new Map(Object.values(INSTRUCTION_PATHS).map((info) => [info.loop, info])).values()];
const status = loadModules();

for (const info of loops) {
  for (const operands of PEAK_OPERANDS) {
    test(`${peakExport(info, operands)} stores the accumulators of its operand stream (${info.group})`, () => {
      const kernel = status.get(info.module)?.kernel;
      if (!kernel) {
        console.log(`  skipped: ${status.get(info.module)?.reason}`);
        return;
      }
      const ex = kernel.instantiate();
      const run = ex[peakExport(info, operands)] as (ops: number, iters: number, out: number) => void;
      const ops = (ex.heapBase() + 15) & ~15;
      const out = ops + PEAK_RING * 96;
      for (const seed of [1, 2]) {
        const bytes = peakOperands(info, seed);
        new Uint8Array(ex.memory.buffer, ops, bytes.length).set(bytes);
        const want = new Map<number, number[]>();
        // Enough calls that the engine's optimizing tier runs the loop too; checked on every call.
        for (let call = 0; call < 300; call++) {
          const iters = [0, 1, 2, 3, 17, 1000][call % 6]! + (call % 7 === 6 ? 5000 : 0);
          run(ops, iters, out);
          const got = new Int32Array(ex.memory.buffer.slice(out, out + 128));
          if (!want.has(iters)) want.set(iters, [...reference(info, operands, bytes, iters)]);
          assert.equal([...got], want.get(iters), `seed ${seed}, call ${call}, ${iters} iterations`);
        }
      }
    });
  }
}

test('the reference tells a loop that walks the ring from one that stays at its first step', () => {
  const info = INSTRUCTION_PATHS.dot16x8;
  const bytes = peakOperands(info, 1);
  for (const operands of PEAK_OPERANDS) assert.not.equal([...reference(info, operands, bytes, 2)], [...reference(info, operands, bytes, 2, false)]);
});

test('every SIMD kernel has a path with a peak loop; the scalar loops have none', () => {
  for (const v of [...SPLITCONV_VARIANTS, ...DSPCONV_VARIANTS]) {
    const path = pathOf(v);
    if (v.module === 'scalar') assert.is(path, undefined, v.name);
    else {
      assert.ok(path && INSTRUCTION_PATHS[path], v.name);
      assert.is(INSTRUCTION_PATHS[path!].module === 'relaxed', v.module === 'relaxed', `${v.name}: ${path} is measured in another module`);
    }
  }
  assert.is(pathOf(SPLITCONV_VARIANTS.find((v) => v.strategy === 'rdot8x16split')!), 'rdot8x16split');
  assert.is(INSTRUCTION_PATHS.rdot8x16split.macsPerGroup * 2, INSTRUCTION_PATHS.rdot8x16.macsPerGroup);
});

test('measurePeaks reports each path of this engine once per operand source, or why not', () => {
  const r = measurePeaks({ timeMs: 10, sampleMs: 5, minSamples: 3 });
  for (const [path, info] of Object.entries(INSTRUCTION_PATHS)) {
    const rows = r.peaks.filter((p) => p.path === path);
    if (status.get(info.module)?.kernel) {
      assert.equal(rows.map((p) => p.operands), [...PEAK_OPERANDS], path);
      for (const p of rows) {
        assert.ok(Number.isFinite(p.gmacs) && p.gmacs > 0 && p.madGmacs >= 0, `${path} ${p.operands}: ${p.gmacs} ± ${p.madGmacs}`);
        assert.is(p.samples, 3);
      }
    } else {
      assert.is(rows.length, 0);
      assert.ok(r.skipped.some((s) => s.path === path && s.reason.includes(info.module)), path);
    }
  }
  // The split path is the relaxed dot's loop at half the MACs per instruction.
  const split = r.peaks.find((p) => p.path === 'rdot8x16split' && p.operands === 'resident');
  const rdot = r.peaks.find((p) => p.path === 'rdot8x16' && p.operands === 'resident');
  if (split && rdot) assert.ok(Math.abs(split.gmacs * 2 - rdot.gmacs) < 1e-9 * rdot.gmacs);
});

test('withPeaks: each kernel row gets its path and GMAC/s over that path\'s resident peak; peers get none', () => {
  const row = (kernel: string, module: string, gmacs: number): Measurement => ({
    layer: 'l', shape: 's', macs: 1e6, kernel, module, p50Ms: 1e6 / gmacs / 1e6, madMs: 0, samples: 5, gmacs, verifiedAgainst: 'x',
  });
  const dot = SPLITCONV_VARIANTS.find((v) => v.strategy === 'dot16x8')!.name;
  const ext = SPLITCONV_VARIANTS.find((v) => v.strategy === 'extmul8x16')!.name;
  const dsp = `${DSPCONV_VARIANTS[0]!.name} (int8x8, L=16, cascade)`;
  const report = {
    measurements: [row(dot, 'simd', 30), row(ext, 'simd', 12), row(dsp, 'simd', 20), row('onnxruntime-web QLinearConv (uint8)', 'onnxruntime-web', 25)],
  } as BenchReport;
  const peak = (path: string, operands: PeakOperands, gmacs: number) => ({
    path, group: '', macsPerGroup: 8, module: 'simd', operands, gmacs, madGmacs: 0, samples: 1, iterations: 1, sampleMs: 1,
  });
  const peaks: PeakReport = { peaks: [peak('dot16x8', 'resident', 40), peak('dot16x8', 'loads', 10), peak('extmul8x16', 'resident', 16)], skipped: [] };
  withPeaks(report, peaks);
  const [a, b, c, d] = report.measurements;
  assert.equal([a!.path, a!.pctOfPeak], ['dot16x8', 75]);
  assert.equal([b!.path, b!.pctOfPeak], ['extmul8x16', 75]);
  assert.equal([c!.path, c!.pctOfPeak], ['dot16x8', 50]);
  assert.equal([d!.path, d!.pctOfPeak], [undefined, undefined]);
  assert.is(report.peaks, peaks);
});

function fkb(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(root, 'bin', 'fkb.js'), ...args], { cwd: root });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

test('fkb bench: "% peak" of every SIMD row is its GMAC/s over the peak in the same report; --peak prints the table', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fkb-peak-'));
  const shapes = join(dir, 'small.json');
  const ref = { name: 'small', in_h: 10, in_w: 10, in_c: 16, out_c: 16, k_h: 3, k_w: 3, stride_h: 1, stride_w: 1, pad_top: 1, pad_bottom: 1, pad_left: 1, pad_right: 1 };
  writeFileSync(shapes, JSON.stringify({ reference: ref }));
  const r = await fkb(['bench', '--reference', '--shapes', shapes, '--filter', 'dot16x8', '--no-ort', '--time', '20', '--json']);
  assert.is(r.code, 0, r.err);
  const report = JSON.parse(r.out) as BenchReport;
  assert.ok(report.peaks && report.peaks.peaks.length >= 4);
  const simd = report.measurements.filter((m) => m.module === 'simd');
  assert.ok(simd.length >= 5, 'the dot16x8 tiles and the packed-DSP kernels');
  for (const m of simd) {
    assert.is(m.path, 'dot16x8', m.kernel);
    const peak = report.peaks!.peaks.find((p) => p.path === 'dot16x8' && p.operands === 'resident')!;
    assert.ok(Math.abs(m.pctOfPeak! - (100 * m.gmacs) / peak.gmacs) < 1e-9, m.kernel);
  }
  assert.is(report.measurements.find((m) => m.module === 'scalar')!.pctOfPeak, undefined);

  const t = await fkb(['bench', '--peak', '--time', '20']);
  assert.is(t.code, 0, t.err);
  assert.match(t.out, /instruction path/);
  assert.match(t.out, /dot16x8 .*i32x4\.dot_i16x8_s \+ i32x4\.add/);
  assert.match(t.out, /extmul8x16/);
  assert.ok(/rdot8x16/.test(t.out), t.out);
});

test.run();
