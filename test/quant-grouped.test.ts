/**
 * Grouped and depthwise convolutions, concat and zero channel padding in the integer graph
 * (harness/quant/int-graph.ts), and BlazeFace quantized end to end (harness/quant/fidelity.ts,
 * `fkb quantize`).
 * Run: node --import tsx test/quant-grouped.test.ts
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { outputSize } from '../harness/conv/layer.ts';
import { runGraph } from '../harness/model/float-infer.ts';
import { type ConvNode, type Graph, type Pads, inferShapes } from '../harness/model/graph.ts';
import { BLAZEFACE_CALIBRATION_IMAGES, BLAZEFACE_INPUTS, BLAZEFACE_MODEL, BLAZEFACE_RANGE, readUint8Images } from '../harness/model/image-inputs.ts';
import { importOnnxFile } from '../harness/model/onnx-import.ts';
import { calibrate, dequantizeValue, quantizeTensor } from '../harness/quant/calibrate.ts';
import { measureFidelity } from '../harness/quant/fidelity.ts';
import { type IntConv, type IntGraph, type IntNode, buildIntGraph, calibratedTensors, runIntGraphTensors } from '../harness/quant/int-graph.ts';
import { referenceConv } from '../harness/reference/conv.ts';
import { requantize } from '../harness/reference/requant.ts';
import { findVariant } from '../harness/registry/splitconv.ts';
import { Rng } from '../harness/util/rng.ts';
import { KernelRunner, modulesFor } from '../harness/wasm/kernel-runner.ts';
import { KernelTester } from '../harness/testers/kernel-tester.ts';
import { throwsInput } from './helpers.ts';

const SEED = 2026;

/** got equals want code for code; the message names `what`, the first differing index and both codes. */
function assertSameCodes(got: Int8Array, want: Int8Array, what: string): void {
  const i = want.findIndex((v, j) => v !== got[j]);
  assert.is(i, -1, `${what}: index ${i} got ${got[i]}, want ${want[i]}`);
}

/** Every tensor the integer graph computes on `backend` equals the reference backend's. */
function assertBackendsAgree(ig: IntGraph, q: Int8Array, what: string): void {
  const ref = runIntGraphTensors(ig, q, 'reference');
  for (const backend of ['wasm', 'dsp'] as const) {
    const got = runIntGraphTensors(ig, q, backend);
    for (const [name, want] of ref) assertSameCodes(got.get(name)!, want, `${backend}, ${what}, tensor ${name}`);
  }
}

/**
 * x 7x6x6 -> dw (depthwise 3x3, stride 2, asymmetric pads) -> relu -> gc (2 groups, 6 -> 4, 1x1)
 * -> concat with 2 zero channels (one live input) -> concat with the relu output (two live
 * inputs, requantized); and x -> dm (groups 6, channel multiplier 2, 3x3 pad 1).
 */
function groupedGraph(seed = SEED): Graph {
  const rng = new Rng(seed);
  const rnd = (): number => rng.next() * 2 - 1;
  const conv = (name: string, input: string, output: string, inC: number, outC: number, k: number, groups: number, stride: number, pads: Pads): ConvNode => ({
    op: 'conv', name, inputs: [input], output, kH: k, kW: k, strideH: stride, strideW: stride, pads, groups, inC, outC,
    weights: Float32Array.from({ length: (outC * k * k * inC) / groups }, rnd), bias: Float32Array.from({ length: outC }, () => rnd() * 0.2), fc: false,
  });
  return {
    name: 'grouped',
    input: { name: 'x', sourceName: 'x', shape: { h: 7, w: 6, c: 6 }, sourceLayout: 'nhwc', sourceDims: [1, 7, 6, 6] },
    outputs: [
      { name: 'cat2', sourceName: 'cat2', shape: { h: 4, w: 3, c: 12 }, sourceLayout: 'nhwc', sourceDims: [1, 4, 3, 12] },
      { name: 'dmo', sourceName: 'dmo', shape: { h: 7, w: 6, c: 12 }, sourceLayout: 'nhwc', sourceDims: [1, 7, 6, 12] },
    ],
    nodes: [
      conv('dw', 'x', 'dwo', 6, 6, 3, 6, 2, { top: 1, left: 0, bottom: 1, right: 1 }),
      { op: 'relu', name: 'dw_relu', inputs: ['dwo'], output: 'dwr' },
      conv('gc', 'dwr', 'gco', 6, 4, 1, 2, 1, { top: 0, left: 0, bottom: 0, right: 0 }),
      { op: 'zeros', name: 'pad', inputs: [], output: 'z', shape: { h: 4, w: 3, c: 2 } },
      { op: 'concat', name: 'cat_pad', inputs: ['gco', 'z'], output: 'cat1' },
      { op: 'concat', name: 'cat_two', inputs: ['dwr', 'cat1'], output: 'cat2' },
      conv('dm', 'x', 'dmo', 6, 12, 3, 6, 1, { top: 1, left: 1, bottom: 1, right: 1 }),
    ],
  };
}

function inputs(n: number, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: 7 * 6 * 6 }, () => rng.next() * 4 - 2));
}

function build(seed = SEED): { g: Graph; ig: IntGraph } {
  const g = groupedGraph(seed);
  return { g, ig: buildIntGraph(g, calibrate(g, inputs(40, seed + 1), {}, calibratedTensors(g))) };
}

/** A grouped convolution straight from its definition, on int8 codes (independent of perGroup). */
function directGroupedConv(node: IntConv, x: Int8Array): Int8Array {
  const p = node.problem;
  const s = p.shape;
  const r = p.requant;
  if (r.mode === 'raw') throw new Error('raw');
  const { outH, outW } = outputSize(s);
  const inPer = s.inC / node.groups;
  const outPer = s.outC / node.groups;
  const y = new Int8Array(outH * outW * s.outC);
  for (let oy = 0; oy < outH; oy++)
    for (let ox = 0; ox < outW; ox++)
      for (let o = 0; o < s.outC; o++) {
        const g = Math.floor(o / outPer);
        let acc = p.bias[o]!;
        for (let ky = 0; ky < s.kH; ky++)
          for (let kx = 0; kx < s.kW; kx++) {
            const iy = oy * s.strideH + ky - s.padTop;
            const ix = ox * s.strideW + kx - s.padLeft;
            if (iy < 0 || iy >= s.inH || ix < 0 || ix >= s.inW) continue;
            for (let i = 0; i < inPer; i++) {
              acc += (x[(iy * s.inW + ix) * s.inC + g * inPer + i]! - p.inputZeroPoint) * p.weights[((o * s.kH + ky) * s.kW + kx) * inPer + i]!;
            }
          }
        y[(oy * outW + ox) * s.outC + o] = requantize(acc, { mode: r.mode, scale: r.scale[o]!, outputZeroPoint: r.outputZeroPoint, outputMin: r.outputMin, outputMax: r.outputMax });
      }
  return y;
}

test('grouped graph: the integer nodes, zeros emitted with the concat zero point, one concat copies and one requantizes', () => {
  const { ig } = build();
  assert.equal(ig.nodes.map((n) => `${n.op}:${n.name}`), ['conv:dw', 'conv:gc', 'zeros:cat_pad/z', 'concat:cat_pad', 'concat:cat_two', 'conv:dm']);
  const [dw, gc, z, cat1, cat2, dm] = ig.nodes as [IntNode, IntNode, IntNode, IntNode, IntNode, IntNode];
  assert.ok(dw.op === 'conv' && dw.groups === 6 && dw.perGroup.length === 6 && dw.fused === 'relu');
  assert.ok(gc.op === 'conv' && gc.groups === 2 && gc.perGroup.every((p) => p.shape.inC === 3 && p.shape.outC === 2));
  assert.ok(dm.op === 'conv' && dm.perGroup.every((p) => p.shape.inC === 1 && p.shape.outC === 2));
  const q = (t: string) => ig.tensors.get(t)!.params;
  assert.equal(q('cat1'), q('gco'), 'one live input: the concat keeps its quantizer');
  assert.ok(z.op === 'zeros' && z.code === q('cat1').zeroPoint);
  assert.ok(cat1.op === 'concat' && cat1.requant.every((r) => r === undefined));
  assert.ok(cat2.op === 'concat' && cat2.requant.length === 2);
  assert.ok(q('cat2').scale !== q('dwr').scale || q('cat2').scale !== q('cat1').scale, 'two live inputs: the concat output is calibrated');
});

test(`grouped graph: WASM and packed-DSP equal the reference on every tensor (seed ${SEED}, 24 inputs)`, () => {
  const { ig } = build();
  for (const [k, x] of inputs(24, SEED + 7).entries()) {
    assertBackendsAgree(ig, quantizeTensor(x, ig.input.params), `input ${k} (seed ${SEED})`);
  }
});

test('grouped convolutions (depthwise, multiplier 2, 2 groups): the reference run per group equals the direct definition', () => {
  const { ig } = build();
  for (const x of inputs(6, SEED + 11)) {
    const t = runIntGraphTensors(ig, quantizeTensor(x, ig.input.params), 'reference');
    for (const node of ig.nodes) {
      if (node.op !== 'conv') continue;
      assertSameCodes(t.get(node.output)!, directGroupedConv(node, t.get(node.inputs[0]!)!), `${node.name} (groups ${node.groups})`);
    }
  }
});

test('grouped graph: every tensor within a few quantization steps of float on calibration inputs; zero padding is exactly 0', () => {
  const { g, ig } = build();
  const shapes = inferShapes(g);
  // Calibration inputs: min/max ranges cover them, so nothing clips (elsewhere clipping upstream
  // would dominate the comparison).
  for (const x of inputs(40, SEED + 1).slice(0, 10)) {
    const f = runGraph(g, x, { keepAll: true }, shapes);
    const t = runIntGraphTensors(ig, quantizeTensor(x, ig.input.params), 'wasm');
    for (const name of ['dwr', 'gco', 'cat1', 'cat2', 'dmo']) {
      const p = ig.tensors.get(name)!.params;
      const want = f.get(name)!;
      const got = t.get(name)!;
      for (let i = 0; i < want.length; i++) {
        const steps = Math.abs(dequantizeValue(got[i]!, p) - want[i]!) / p.scale;
        assert.ok(steps <= 3, `${name}[${i}]: int ${dequantizeValue(got[i]!, p)} vs float ${want[i]} (${steps.toFixed(2)} steps)`);
      }
    }
    // cat1 = [gco (4 channels), zeros (2)]: the padded channels dequantize to exactly 0.
    const cat1 = t.get('cat1')!;
    const p = ig.tensors.get('cat1')!.params;
    for (let px = 0; px < 12; px++) for (const c of [4, 5]) assert.is(dequantizeValue(cat1[px * 6 + c]!, p), 0);
  }
});

test('concat requantization: each code within half a step of the exact rescaling, clamped to int8', () => {
  const { ig } = build();
  const pOut = ig.tensors.get('cat2')!.params;
  for (const x of inputs(6, SEED + 5)) {
    const t = runIntGraphTensors(ig, quantizeTensor(x, ig.input.params), 'reference');
    const out = t.get('cat2')!;
    for (const [k, name] of ['dwr', 'cat1'].entries()) {
      const pin = ig.tensors.get(name)!.params;
      const src = t.get(name)!;
      for (let px = 0; px < 12; px++)
        for (let c = 0; c < 6; c++) {
          const exact = pOut.zeroPoint + ((src[px * 6 + c]! - pin.zeroPoint) * pin.scale) / pOut.scale;
          const got = out[px * 12 + k * 6 + c]!;
          const want = Math.max(-128, Math.min(127, exact));
          assert.ok(Math.abs(got - want) <= 0.5 + 1e-6, `cat2 pixel ${px} channel ${k * 6 + c}: got ${got}, exact ${exact}`);
        }
    }
  }
});

test('zeros read by anything but a concat, a concat of zeros only, softmax: InputError naming the node', () => {
  const g = groupedGraph();
  const cal = calibrate(g, inputs(2, 1));
  const bad: Graph = { ...g, nodes: g.nodes.map((n) => (n.name === 'cat_pad' ? { op: 'add', name: 'zadd', inputs: ['z', 'z'], output: 'cat1' } : n)) };
  // cat1 now has 2 channels: keep the shapes consistent by also padding cat_two's other input.
  const badShapes: Graph = {
    ...bad,
    outputs: [{ ...g.outputs[0]!, shape: { h: 4, w: 3, c: 8 }, sourceDims: [1, 4, 3, 8] }, g.outputs[1]!],
  };
  throwsInput(() => buildIntGraph(badShapes, calibrate(badShapes, inputs(2, 1))), "'pad'", 'zeros', "'zadd'");
  const onlyZeros: Graph = {
    ...g,
    outputs: [{ ...g.outputs[0]!, name: 'zz', shape: { h: 4, w: 3, c: 2 }, sourceDims: [1, 4, 3, 2] }, g.outputs[1]!],
    nodes: [...g.nodes, { op: 'concat', name: 'cat_zeros', inputs: ['z'], output: 'zz' }],
  };
  throwsInput(() => buildIntGraph(onlyZeros, calibrate(onlyZeros, inputs(2, 1))), "'cat_zeros'", 'every input is zeros');
  const sm: Graph = { ...g, outputs: [{ ...g.outputs[0]!, name: 'p' }, g.outputs[1]!], nodes: [...g.nodes, { op: 'softmax', name: 'probs', inputs: ['cat2'], output: 'p' }] };
  throwsInput(() => buildIntGraph(sm, cal), "'probs'", 'softmax');
});

test('KernelRunner.setWeights: the next group gives what a fresh runner gives; another shape is an InputError', () => {
  const v = findVariant('qs8_splitconv_minmax_2x4c8__wasmsimd_dot16x8')!;
  const kernel = modulesFor(v).find((k) => k.name === 'simd')!;
  const a = new KernelTester().image(5).channels(3, 4).kernel(3).pad(1).mode('gemmlowp').seed(1).problem();
  const b = new KernelTester().image(5).channels(3, 4).kernel(3).pad(1).mode('gemmlowp').seed(2).problem();
  const r = new KernelRunner(v, kernel, a);
  r.setWeights(b);
  r.setInput(b.input);
  r.run();
  assert.equal([...r.output()], [...referenceConv(b)]);
  const other = new KernelTester().image(5).channels(3, 8).kernel(3).pad(1).mode('gemmlowp').problem();
  throwsInput(() => r.setWeights(other), "runner's shape");
});

// --- BlazeFace ---------------------------------------------------------------------------------

const blazeface = importOnnxFile(BLAZEFACE_MODEL);
const photos = readUint8Images(BLAZEFACE_INPUTS, blazeface.input.shape, BLAZEFACE_RANGE);

test('BlazeFace int8: WASM and packed-DSP equal the reference on every tensor; SQNR per output; detection agrees with float', () => {
  assert.is(photos.length, 16);
  const cal = photos.slice(0, BLAZEFACE_CALIBRATION_IMAGES);
  const measured = photos.slice(BLAZEFACE_CALIBRATION_IMAGES);
  const r = measureFidelity(blazeface, cal, measured, { backends: ['wasm', 'dsp'], scoreOutputs: ['Identity:0', 'Identity_1:0'], scoreThreshold: Math.log(3) });
  const g = r.intGraph;
  assert.is(g.nodes.filter((n) => n.op === 'conv' && n.groups > 1).length, 16, 'depthwise layers');
  assert.is(g.nodes.filter((n) => n.op === 'zeros').length, 11);
  // Bit-exactness on every tensor, reference against both kernels, on two measured photos.
  for (const k of [0, 5]) {
    assertBackendsAgree(g, quantizeTensor(measured[k]!, g.input.params), `BlazeFace photo ${BLAZEFACE_CALIBRATION_IMAGES + k}`);
  }
  assert.is(r.differingFromReference.dsp, 0, 'packed-DSP output codes differing from the exact kernels');
  const line = r.outputs.map((o) => `${o.name} ${o.byBackend.wasm!.sqnrDb.toFixed(2)} dB`).join(', ');
  console.log(`  BlazeFace int8 (minmax, ${cal.length} calibration photos, ${measured.length} measured): ${line}`);
  for (const o of r.outputs) {
    // Int8 per-tensor activations through 37 convolutions: about 12..26 dB here; a broken
    // graph (a wrong requantization, a misplaced channel) falls to 0 dB or below.
    assert.ok(o.byBackend.wasm!.sqnrDb > 10, `${o.name}: SQNR ${o.byBackend.wasm!.sqnrDb} dB`);
  }
  const s = r.scores!;
  console.log(`  detection at score 0.75: float positive on ${s.floatPositives}/${measured.length}, int8 same decision on ${s.byBackend.wasm!.decisionAgree}, same best anchor on ${s.byBackend.wasm!.bestAgree}`);
  // The measured photos: 6 with a face (astronaut x4, cameraman x2), a motorcycle and a cat.
  assert.is(s.floatPositives, 6);
  assert.ok(s.byBackend.wasm!.decisionAgree >= 7, `same decision on ${s.byBackend.wasm!.decisionAgree} of 8`);
});

// --- fkb quantize ------------------------------------------------------------------------------

function fkb(...args: string[]) {
  return spawnSync(process.execPath, ['bin/fkb.js', 'quantize', ...args], { encoding: 'utf8' });
}

test('fkb quantize --json: BlazeFace on the WASM kernels, four outputs, detection summary', () => {
  const r = fkb('--backends', 'wasm', '--json');
  assert.is(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { outputs: Array<{ name: string; byBackend: { wasm: { sqnrDb: number } } }>; scores: { floatPositives: number }; measuredInputs: number; calibrationInputs: number };
  assert.equal(j.outputs.map((o) => o.name), ['Identity:0', 'Identity_1:0', 'Identity_2:0', 'Identity_3:0']);
  assert.ok(j.outputs.every((o) => o.byBackend.wasm.sqnrDb > 10));
  assert.is(j.calibrationInputs, 8);
  assert.is(j.measuredInputs, 8);
  assert.is(j.scores.floatPositives, 6);
});

test('fkb quantize bad input: exit 2 naming the option or file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fkb-quantize-'));
  const short = join(dir, 'short.u8');
  writeFileSync(short, new Uint8Array(1000));
  const cases: Array<[string[], string]> = [
    [['--model', BLAZEFACE_MODEL], '--inputs is needed'],
    [['--inputs', short], 'short.u8'],
    [['--backends', 'wasm,gpu'], '--backends'],
    [['--min-score', '1.5'], '--min-score'],
    [['--calibration-inputs', '16'], '--calibration-inputs'],
    [['--scores', 'nope'], "'nope'"],
  ];
  for (const [args, needle] of cases) {
    const r = fkb(...args);
    assert.is(r.status, 2, `${args.join(' ')}: exit ${r.status}, stderr ${r.stderr}`);
    assert.ok(r.stderr.includes(needle), `${args.join(' ')}: '${r.stderr.trim()}' does not mention ${needle}`);
  }
});

test.run();
