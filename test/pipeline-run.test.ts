/**
 * The main job end to end (harness/pipelines/run.ts) with short timings: every step returns its
 * results, the requantization mode given reaches the benchmark, and the report is rendered from
 * the results alone.
 */
import { REPORTED_SETTINGS, trainedModels } from '../harness/pipelines/compression-points.ts';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadNetwork } from '../harness/networks/index.ts';
import { runMainJob } from '../harness/pipelines/run.ts';
import { writeReport } from '../harness/report/html.ts';
import { collectReportData } from '../harness/report/report-data.ts';
import { ensureBuilt } from '../harness/wasm/build.ts';

test('runMainJob: verification, benchmark, packed-DSP exactness, FPGA model, compression and BlazeFace from one call', async () => {
  ensureBuilt();
  const steps = new Set<string>();
  const r = await runMainJob({ timeMs: 20, images: 60, requantMode: 'single', onProgress: (step) => steps.add(step) });
  assert.equal([...steps].sort(), ['bench', 'compress', 'verify']);
  assert.ok(r.verification.length > 0 && r.verification.every((v) => v.ok), 'every check passes');
  assert.is(r.verifiedLayers.length, 1 + 5, 'the reference layer and the embedded model\'s five layers (four convolutions and the classifier as a 1x1 convolution)');
  assert.is(r.benchmark.options.mode, 'single', 'the mode reaches the benchmark');
  assert.ok(r.benchmark.measurements.some((m) => m.module === 'simd'));
  const convs = loadNetwork('resnet18').layers.filter((l) => l.groups === 1).length;
  assert.equal(r.dspExactness.map((d) => [d.operands, d.rows.length]), [['random', convs], ['extremes', convs]]);
  assert.ok(r.dspExactness[0]!.rows.every((row) => row.outputsDiffering === 0), 'random operands stay within the bound');
  assert.is(r.fpga.layers.length, r.fpgaModel.layers.length);
  assert.ok(r.fpga.layers.some((l) => l.wasm), 'the reference layer shape occurs in ResNet-18 and was measured');
  assert.equal(r.compression.points.map((p) => p.setting)[0], 'float32');
  assert.is(r.compression.points.length, 1 + REPORTED_SETTINGS.length + trainedModels().length);
  assert.ok(r.compression.points.some((p) => p.origin === 'trained'), 'the committed trained models are measured');
  assert.is(r.compression.trained?.length, trainedModels().length);
  assert.ok(r.compression.points.slice(1).every((p) => p.fpgaCycles! > 0 && p.pareto !== undefined), 'every quantized setting has FPGA cycles and a Pareto mark');
  const w4a4 = r.compression.points.find((p) => p.setting === 'W4A4, classifier 8-bit')!;
  assert.ok(w4a4.fpgaCycles! < 0.6 * r.compression.points.find((p) => p.setting === 'int8 per-channel')!.fpgaCycles!, 'W4A4 packs four products per DSP');
  assert.is(r.compression.dataset, 'Fashion-MNIST test images 200..259');
  assert.is(r.quantized.outputs.length, 4);

  const dir = mkdtempSync(join(tmpdir(), 'fkb-run-'));
  try {
    const data = collectReportData({ run: r, dspConv: r.dspExactness.map((d) => ({ label: d.operands, rows: d.rows })), fpga: r.fpga, compression: r.compression, quantized: r.quantized });
    const files = writeReport(dir, data);
    const json = JSON.parse(readFileSync(files.json, 'utf8')) as typeof data;
    assert.equal(json.compression, r.compression);
    assert.is(json.verification!.failed, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
