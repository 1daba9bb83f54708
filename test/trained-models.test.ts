/**
 * The committed trained models (models/fashion-mnist/lowbit), checked again without Python:
 * each imports with its own scales, runs bit for bit like onnxruntime-web on 100 test images,
 * every layer's packed-DSP plan equals the exact kernels, and its committed check agrees with
 * what is recomputed here (layers, widths, schemes, FPGA cycles, size, MACs).
 * Run: node --import tsx test/trained-models.test.ts
 */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readEvalSet } from '../harness/model/fashion-mnist.ts';
import { TRAINED_DIR, trainedModels, trainedSummary } from '../harness/pipelines/compression-points.ts';
import { type TrainedModelCheck, checkTrainedModel } from '../harness/pipelines/trained-model.ts';

const set = readEvalSet();
const models = trainedModels();

test('at least the W4A4 model is committed with its record and check', () => {
  assert.ok(models.some((m) => m.endsWith('/w4a4.onnx')), `models in ${TRAINED_DIR}: ${models.join(', ')}`);
});

for (const path of models) {
  const name = path.replace(/^.*\//, '');
  test(`${name}: = onnxruntime-web on 100 images, packed-DSP = exact, the committed check reproduced`, async () => {
    const committed = JSON.parse(readFileSync(path.replace(/\.onnx$/, '.check.json'), 'utf8')) as TrainedModelCheck;
    const c = await checkTrainedModel(path, { set, imageSet: 'eval-2000', images: 300, ortImages: 100, dspImages: 2 });
    assert.is(c.vsOrt!.unexplained, 0, `${c.vsOrt!.differing} of ${c.vsOrt!.codes} logit codes differ from onnxruntime-web, ${c.vsOrt!.ties} at rounding ties`);
    for (const l of c.layers) assert.is(l.dspDiffering, 0, `${l.name}: ${l.why}`);
    const strip = (x: TrainedModelCheck) => x.layers.map((l) => [l.name, l.weightBits, l.activationBits, l.scheme, l.chain]);
    assert.equal(strip(c), strip(committed));
    assert.equal([c.fpgaCycles, c.sizeBits, c.macs], [committed.fpgaCycles, committed.sizeBits, committed.macs]);
    assert.is(committed.vsTrainer!.unexplained, 0);
    assert.is(committed.vsOrt!.unexplained, 0);
    assert.ok(committed.vsTrainer!.images >= 1000 && committed.vsOrt!.images >= 1000);
    const s = trainedSummary(path);
    assert.is(s.images, 10000, 'the committed top-1 is on all 10,000 test images');
    assert.ok(Math.abs(s.wasmTop1 - s.trainerTop1) <= 0.0005, `WASM ${s.wasmTop1} vs PyTorch ${s.trainerTop1}`);
  });
}

test.run();
