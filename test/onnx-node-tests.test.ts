/**
 * ONNX's own operator tests for the quantization operators (Debian's libonnx-testdata,
 * /usr/share/libonnx-testdata/data/node/<test>/: model.onnx and test_data_set_0/{input,output}_N.pb),
 * through harness/qonnx/ and the integer arithmetic, compared element by element with the
 * expected outputs:
 *  - QuantizeLinear / DequantizeLinear: qdq-math.ts (what the importer evaluates constants with:
 *    round half to even, saturate; f32 arithmetic), per tensor and per axis;
 *  - ConvInteger, MatMulInteger: importQuantizedLayer's ConvProblem in requantization 'raw' (the
 *    int32 accumulators) on the reference convolution and on every split-convolution kernel in
 *    every WASM module this engine runs;
 *  - QLinearConv, QLinearMatMul (2-D, 3-D): their weights are uint8 with zero point 255 (w = 0:
 *    -255) and 114 (b = 244: 130, up to 255: 141); minus the zero point they are not int8, so the kernels
 *    cannot take them: both importers refuse them with an InputError naming the node, the value
 *    and the zero point, and that is what is asserted here.
 * Every input but the data input is bound as an initializer, as a model stores its parameters.
 * Run: node --import tsx test/onnx-node-tests.test.ts
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DT, normalizeGraph, readConstant } from '../harness/model/onnx-decode.ts';
import { importQuantizedOnnx } from '../harness/qonnx/onnx-quant.ts';
import { importQuantizedLayer } from '../harness/qonnx/layer.ts';
import { dequantizeLinear, quantizeLinear } from '../harness/qonnx/qdq-math.ts';
import { referenceConv } from '../harness/reference/conv.ts';
import { SPLITCONV_VARIANTS } from '../harness/registry/splitconv.ts';
import { KernelRunner, modulesFor } from '../harness/wasm/kernel-runner.ts';
import { throwsInput } from './helpers.ts';

const { onnx } = onnxProto;
const ROOT = '/usr/share/libonnx-testdata/data/node';

interface NodeTest {
  name: string;
  model: onnxProto.onnx.ModelProto;
  inputs: Array<onnxProto.onnx.TensorProto>;
  outputs: Array<onnxProto.onnx.TensorProto>;
}

function load(name: string): NodeTest {
  const dir = join(ROOT, name);
  assert.ok(existsSync(join(dir, 'model.onnx')), `${dir}/model.onnx is missing: apt-get install libonnx-testdata`);
  const model = onnx.ModelProto.decode(readFileSync(join(dir, 'model.onnx')));
  const read = (kind: string, n: number) => onnx.TensorProto.decode(readFileSync(join(dir, 'test_data_set_0', `${kind}_${n}.pb`)));
  return {
    name, model,
    inputs: model.graph!.input!.map((_, i) => read('input', i)),
    outputs: model.graph!.output!.map((_, i) => read('output', i)),
  };
}

/** The model with every graph input but `keep` bound as an initializer (the test's data). */
function bind(t: NodeTest, keep: string[]): Uint8Array {
  const m = onnx.ModelProto.decode(onnx.ModelProto.encode(t.model).finish());
  const g = m.graph!;
  g.input!.forEach((inp, i) => {
    if (keep.includes(inp.name!)) return;
    g.initializer!.push(Object.assign(onnx.TensorProto.create(t.inputs[i]!), { name: inp.name }));
  });
  g.input = g.input!.filter((i) => keep.includes(i.name!));
  return onnx.ModelProto.encode(m).finish();
}

function values(t: onnxProto.onnx.ITensorProto, what: string): { dims: number[]; data: ArrayLike<number> } {
  return readConstant(t, what);
}

/** Element by element; a failure names the test, the index, got and want. */
function sameElements(test: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
  assert.is(got.length, want.length, `${test}: ${got.length} outputs, want ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i]) && got[i] !== want[i]) assert.unreachable(`${test}: element ${i}: got ${got[i]}, want ${want[i]}`);
  }
}

// --- QuantizeLinear / DequantizeLinear ---------------------------------------------------------

function axisOf(t: NodeTest): number | null {
  const a = normalizeGraph(t.model.graph!).node[0]!.attribute.find((x) => x.name === 'axis');
  return a ? Number(a.i) : 1;
}

for (const name of ['test_quantizelinear', 'test_quantizelinear_axis']) {
  test(`${name}: round half to even, saturate, ${name.endsWith('axis') ? 'per axis' : 'per tensor'}`, () => {
    const t = load(name);
    const x = values(t.inputs[0]!, 'x');
    const s = values(t.inputs[1]!, 'y_scale');
    const z = values(t.inputs[2]!, 'y_zero_point');
    const type = t.inputs[2]!.dataType === DT.INT8 ? 'int8' : 'uint8';
    const got = quantizeLinear(x.data, x.dims, s.data, z.data, type, s.data.length > 1 ? axisOf(t) : null);
    sameElements(name, got, values(t.outputs[0]!, 'y').data);
  });
}

for (const name of ['test_dequantizelinear', 'test_dequantizelinear_axis']) {
  test(`${name}: (x - zero point) * scale in f32, ${name.endsWith('axis') ? 'per axis' : 'per tensor'}`, () => {
    const t = load(name);
    const x = values(t.inputs[0]!, 'x');
    const s = values(t.inputs[1]!, 'x_scale');
    const z = values(t.inputs[2]!, 'x_zero_point');
    const got = dequantizeLinear(x.data, x.dims, s.data, z.data, s.data.length > 1 ? axisOf(t) : null);
    sameElements(name, got, values(t.outputs[0]!, 'y').data);
  });
}

// --- ConvInteger, MatMulInteger: the int32 accumulators -----------------------------------------

/** Runs a layer's problem on the reference and every split-convolution kernel of every usable module. */
function runEverywhere(name: string, layer: ReturnType<typeof importQuantizedLayer>, input: Int8Array, want: ArrayLike<number>): number {
  const problem = { ...layer.problem, input };
  sameElements(`${name} [reference]`, layer.fromProblemOutput(referenceConv(problem)), want);
  let runs = 0;
  for (const v of SPLITCONV_VARIANTS) {
    const [lo, hi] = v.weightRange;
    if (problem.weights.some((w) => w < lo || w > hi)) continue;
    for (const kernel of modulesFor(v)) {
      const r = new KernelRunner(v, kernel, problem);
      r.run();
      assert.equal(r.guardViolations(), [], `${name} [${v.name} in ${kernel.name}]: writes past a buffer`);
      sameElements(`${name} [${v.name} in ${kernel.name}]`, layer.fromProblemOutput(r.output()), want);
      runs++;
    }
  }
  return runs;
}

const LAYERS: Array<[string, string]> = [
  ['test_basic_convinteger', 'x'],
  ['test_convinteger_with_padding', 'x'],
  ['test_convinteger_without_padding', 'x'],
  ['test_matmulinteger', 'A'],
];

for (const [name, data] of LAYERS) {
  test(`${name}: requantization 'raw' on the reference and the WASM kernels equals the int32 outputs`, () => {
    const t = load(name);
    const layer = importQuantizedLayer(bind(t, [data]), name);
    assert.is(layer.problem.requant.mode, 'raw');
    assert.is(layer.output.type, 'int32');
    const x = values(t.inputs[0]!, data);
    const want = values(t.outputs[0]!, 'y').data;
    const runs = runEverywhere(name, layer, layer.toProblemInput(x.data), want);
    assert.ok(runs >= 2, `${name}: only ${runs} kernel runs (is the WASM built? npm run build)`);
  });
}

// --- QLinearConv, QLinearMatMul: refused, and why ------------------------------------------------

test('test_qlinearconv: uint8 weight 0 with zero point 255 is -255, not int8: InputError naming the node, from both importers', () => {
  const t = load('test_qlinearconv');
  const bytes = bind(t, ['x']);
  throwsInput(() => importQuantizedLayer(bytes, 'test_qlinearconv'), "node 'QLinearConv #0 -> y'", 'is -255', 'zero point 255', 'outside [-128, 127]');
  throwsInput(() => importQuantizedOnnx(bytes, 'test_qlinearconv'), "node 'QLinearConv #0 -> y'", 'is -255', 'zero point 255', 'outside [-127, 127]');
});

for (const name of ['test_qlinearmatmul_2D', 'test_qlinearmatmul_3D']) {
  test(`${name}: uint8 b = 244 with zero point 114 is 130 (255: 141), not int8: InputError naming the node, from both importers`, () => {
    const t = load(name);
    const bytes = bind(t, ['a']);
    throwsInput(() => importQuantizedLayer(bytes, name), "node 'QLinearMatMul #0 -> y'", 'weight 2 is 130', 'zero point 114');
    throwsInput(() => importQuantizedOnnx(bytes, name), "node 'QLinearMatMul #0 -> y'", 'weight 2 is 130', 'zero point 114');
  });
}

// --- the QLinear arithmetic itself, on the test's own scales with weights the kernels take ----

test("test_qlinearconv's scales and zero points with int8-representable weights: 'fp32' on every kernel equals onnxruntime's formula", () => {
  // The node test's x, x/y scales and zero points; weights 0..8 with zero point 4 (so -4..4):
  // the expected codes follow ONNX's QLinearConv definition as onnxruntime computes it,
  // written out here per element: saturate(rne(f32(acc) * f32(f32(xs * ws) / ys)) + y_zp).
  const t = load('test_qlinearconv');
  const m = onnx.ModelProto.decode(onnx.ModelProto.encode(t.model).finish());
  const w = Uint8Array.from({ length: 9 }, (_, i) => i);
  const inputs = t.inputs.map((x) => onnx.TensorProto.create(x));
  inputs[3] = onnx.TensorProto.create({ dataType: DT.UINT8, dims: [1, 1, 3, 3], rawData: w });
  inputs[5] = onnx.TensorProto.create({ dataType: DT.UINT8, dims: [1], rawData: Uint8Array.of(4) });
  m.graph!.node![0]!.attribute = [{ name: 'pads', type: onnx.AttributeProto.AttributeType.INTS, ints: [1, 1, 1, 1] }];
  const layer = importQuantizedLayer(bind({ ...t, model: m, inputs }, ['x']), 'qlinearconv-3x3');
  const x = values(t.inputs[0]!, 'x').data;
  const [xs, xz, ws, ys, yz] = [1, 2, 4, 6, 7].map((i) => values(t.inputs[i]!, `input ${i}`).data[0]!);
  const f32 = Math.fround;
  const mult = f32(f32(f32(xs!) * f32(ws!)) / f32(ys!));
  const want: number[] = [];
  for (let oy = 0; oy < 7; oy++)
    for (let ox = 0; ox < 7; ox++) {
      let acc = 0;
      for (let ky = 0; ky < 3; ky++)
        for (let kx = 0; kx < 3; kx++) {
          const iy = oy + ky - 1;
          const ix = ox + kx - 1;
          if (iy >= 0 && iy < 7 && ix >= 0 && ix < 7) acc += (x[iy * 7 + ix]! - xz!) * (w[ky * 3 + kx]! - 4);
        }
      const f = f32(f32(acc) * mult);
      const r = Math.floor(f);
      const rne = f - r > 0.5 ? r + 1 : f - r < 0.5 ? r : r % 2 === 0 ? r : r + 1;
      want.push(Math.min(255, Math.max(0, rne + yz!)));
    }
  const runs = runEverywhere('qlinearconv-3x3', layer, layer.toProblemInput(x), want);
  assert.ok(runs >= 2);
});

test.run();
