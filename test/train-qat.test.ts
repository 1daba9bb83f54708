/**
 * tools/train/qat.py, the quantization-aware training driver (Debian's /usr/bin/python3 with
 * torch and onnx): its self-check, a smoke QAT run (W4A4, 512 training images, 1 epoch, 200 test
 * images, codes of 20) whose record, QDQ ONNX and codes dump are checked here, and bad input
 * (exit 2 naming the option, file or node). Nothing is skipped: without torch the tests fail
 * with the apt-get line that installs it.
 * Run: node --import tsx test/train-qat.test.ts
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readEvalSet } from '../harness/model/fashion-mnist.ts';
import { DT, type INode, normalizeGraph, onnx, readConstant } from '../harness/model/onnx-decode.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PYTHON = '/usr/bin/python3';
const SCRIPT = join(root, 'tools', 'train', 'qat.py');
const INSTALL = 'apt-get install -y python3-torch python3-onnx dataset-fashion-mnist';
const work = mkdtempSync(join(tmpdir(), 'fkb-train-qat-'));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  events: Array<Record<string, unknown>>;
}

/** The Python environment's problem, or null when torch, onnx and numpy import. */
function pythonProblem(): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing: ${INSTALL}`;
  const r = spawnSync(PYTHON, ['-c', 'import torch, onnx, numpy'], { encoding: 'utf8' });
  return r.status === 0 ? null : `${PYTHON} cannot import torch/onnx/numpy (${r.stderr.trim().split('\n').pop()}): ${INSTALL}`;
}
const problem = pythonProblem();

function qat(...args: string[]): Run {
  if (problem) assert.unreachable(problem);
  const r = spawnSync(PYTHON, [SCRIPT, ...args], { cwd: root, encoding: 'utf8', timeout: 300_000, maxBuffer: 64 * 1024 * 1024 });
  const events = (r.stdout ?? '').split('\n').filter((l) => l.trim()).map((l, i) => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      throw new Error(`stdout line ${i + 1} is not JSON: ${l}`);
    }
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', events };
}

test('python3 has torch, onnx and numpy (else: apt-get install -y python3-torch python3-onnx dataset-fashion-mnist)', () => {
  assert.is(problem, null, problem ?? '');
});

test('--selftest: rounding ties, code ranges at 2..8 bits, LSQ gradients, QDQ export = fake-quant forward', () => {
  const r = qat('--selftest');
  assert.is(r.status, 0, r.stderr + r.stdout);
  const summary = r.events.at(-1)!;
  assert.is(summary.event, 'selftest');
  assert.is(summary.ok, true);
  const checks = summary.checks as Array<{ check: string; ok: boolean; detail: Record<string, unknown> }>;
  assert.is(summary.passed, checks.length);
  for (const name of ['round-half-away-ties', 'code-ranges-2..8-bits', 'lsq-gradients', 'qdq-equals-fake-quant-synthetic',
    'qdq-equals-fake-quant-cnn-w4a4', 'qdq-equals-fake-quant-cnn-w2a3', 'unsupported-op-named', 'codes-bin-roundtrip']) {
    const c = checks.find((x) => x.check === name);
    assert.ok(c?.ok, `${name}: ${JSON.stringify(c)}`);
  }
  const w4 = checks.find((x) => x.check === 'qdq-equals-fake-quant-cnn-w4a4')!.detail;
  assert.equal(w4.mismatches, {});
  assert.is(w4.logitsBitExact, true);
  assert.ok((w4.codes as number) > 100_000, 'the comparison covered the codes of every quantized tensor');
});

// --- the smoke run ---------------------------------------------------------------------------

const smokeDir = join(work, 'smoke');
let smoke: Run | undefined;
function smokeRun(): Run {
  smoke ??= qat('--wbits', '4', '--abits', '4', '--train-images', '512', '--epochs', '1', '--eval-images', '200',
    '--dump-codes', '20', '--out-dir', smokeDir, '--name', 'smoke');
  return smoke;
}

test('smoke QAT W4A4: JSON lines on stdout, exit 0, the record', () => {
  const r = smokeRun();
  assert.is(r.status, 0, r.stderr);
  const kinds = new Set(r.events.map((e) => e.event));
  for (const k of ['progress', 'epoch', 'done']) assert.ok(kinds.has(k), `no '${k}' event in ${r.stdout}`);
  assert.ok(r.events.some((e) => e.event === 'progress' && e.stage === 'train' && typeof e.loss === 'number' && e.steps === 4));
  const done = r.events.at(-1)!;
  assert.is(done.event, 'done');
  assert.is(done.onnx, join(smokeDir, 'smoke.onnx'));
  assert.is(done.codes, join(smokeDir, 'smoke.codes.bin'));
  const rec = JSON.parse(readFileSync(done.record as string, 'utf8'));
  assert.is(rec.mode, 'qat');
  assert.is(rec.scales, 'lsq');
  assert.equal(rec.defaults, { weightBits: 4, activationBits: 4, keep8bit: ['first', 'last'] });
  assert.is(rec.epochs, 1);
  assert.is(rec.seed, 1);
  assert.is(rec.threads, 2);
  assert.equal(rec.evalImages, { count: 200, set: 't10k', indices: [0, 199] });
  assert.equal(rec.trainImages, { count: 512, set: 'train', indices: [0, 511] });
  assert.is(rec.calibration.count, 1000);
  assert.is(rec.history.length, 1);
  assert.ok(rec.history[0].top1 > 0.5 && rec.history[0].loss > 0, JSON.stringify(rec.history));
  assert.ok(rec.teacherTop1 > 0.85, `teacher ${rec.teacherTop1}`);
  assert.ok(rec.top1 > 0.7 && rec.top1 <= 1, `W4A4 top-1 ${rec.top1}`);
  assert.is(rec.correct, Math.round(rec.top1 * 200));
  assert.ok(typeof rec.torch === 'string' && rec.trainSeconds > 0);
  assert.equal(rec.layers.map((l: { weightBits: number }) => l.weightBits), [8, 4, 4, 4, 8]);
  const act = Object.fromEntries(rec.activations.map((a: { tensor: string; bits: number }) => [a.tensor, a.bits]));
  assert.is(act.input, 8);
  assert.is(act.logits, 8);
  assert.is(act['/Relu_output_0'], 4);
  assert.is(act['/Relu_3_output_0'], 8, "the classifier's input is kept at 8 bits");
  for (const a of rec.activations) {
    assert.ok(a.zeroPoint >= a.qmin && a.zeroPoint <= a.qmax && a.scale > 0, JSON.stringify(a));
    if (a.unsigned) assert.is(a.zeroPoint, a.qmin, `${a.tensor}: a ReLU output has an unsigned grid`);
  }
  const bytes = readFileSync(done.onnx as string);
  assert.is(rec.onnx.sha256, createHash('sha256').update(bytes).digest('hex'));
  assert.is(rec.onnx.bytes, bytes.length);
});

test('smoke QAT: the ONNX decodes as QDQ, per-channel weight scales, Clips on the 4-bit tensors', () => {
  const r = smokeRun();
  assert.is(r.status, 0, r.stderr);
  const model = onnx.ModelProto.decode(readFileSync(join(smokeDir, 'smoke.onnx')));
  assert.is(Number(model.opsetImport?.find((o) => !o.domain)?.version), 13);
  const meta = Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key, p.value]));
  assert.is(meta['fkb.format'], 'qdq-v1');
  const g = normalizeGraph(model.graph!);
  assert.equal(g.input.map((i) => i.name), ['input']);
  assert.equal(g.output.map((o) => o.name), ['logits']);
  const ops = new Set(g.node.map((n) => n.opType));
  for (const op of ['QuantizeLinear', 'DequantizeLinear', 'Clip', 'Conv', 'Gemm', 'Add', 'MaxPool', 'Flatten']) assert.ok(ops.has(op), `no ${op}`);
  assert.not.ok(ops.has('BatchNormalization'), 'batch norms are folded');
  const inits = new Map(g.initializer.map((t) => [t.name, t]));
  const producer = new Map<string, INode>(g.node.map((n) => [n.output[0]!, n]));
  const axisOf = (n: INode) => Number(n.attribute.find((a) => a.name === 'axis')?.i ?? 1);
  const layers = g.node.filter((n) => n.opType === 'Conv' || n.opType === 'Gemm');
  assert.is(layers.length, 5);
  for (const layer of layers) {
    const bits = Number(meta[`fkb.weight_bits.${layer.name}`]);
    assert.ok(bits === 4 || bits === 8, `${layer.name}: weight bits ${meta[`fkb.weight_bits.${layer.name}`]}`);
    const wdq = producer.get(layer.input[1]!)!;
    assert.is(wdq.opType, 'DequantizeLinear', `${layer.name} weight`);
    assert.is(axisOf(wdq), 0);
    const codes = inits.get(wdq.input[0]!)!;
    const scale = inits.get(wdq.input[1]!)!;
    const zp = inits.get(wdq.input[2]!)!;
    assert.is(codes.dataType, DT.INT8);
    assert.is(zp.dataType, DT.INT8);
    const c = readConstant(codes, codes.name);
    const s = readConstant(scale, scale.name);
    const outC = c.dims[0]!;
    assert.equal(s.dims, [outC], `${layer.name}: one weight scale per output channel`);
    assert.ok([...s.data].every((x) => x > 0));
    assert.ok((readConstant(zp, zp.name).data as number[]).every((x) => x === 0));
    assert.is(c.dims.length, layer.opType === 'Conv' ? 4 : 2);
    if (layer.opType === 'Gemm') assert.is(Number(layer.attribute.find((a) => a.name === 'transB')?.i), 1);
    const qmax = 2 ** (bits - 1) - 1;
    assert.ok((c.data as number[]).every((x) => x >= -qmax && x <= qmax), `${layer.name}: codes outside ±${qmax}`);
    const bdq = producer.get(layer.input[2]!)!;
    assert.is(bdq.opType, 'DequantizeLinear', `${layer.name} bias`);
    assert.is(inits.get(bdq.input[0]!)!.dataType, DT.INT32);
    assert.equal(readConstant(inits.get(bdq.input[1]!)!, 'bias scale').dims, [outC]);
  }
  // Every quantized activation: Q -> DQ with a scalar scale and int8 zero point, bits in the metadata.
  const quants = g.node.filter((n) => n.opType === 'QuantizeLinear');
  assert.is(quants.length, 7);
  for (const q of quants) {
    const t = q.output[0]!.replace(/_quantized$/, '');
    const bits = Number(meta[`fkb.activation_bits.${t}`]);
    assert.ok(bits >= 2 && bits <= 8, `${t}: bits ${meta[`fkb.activation_bits.${t}`]}`);
    const zp = readConstant(inits.get(q.input[2]!)!, 'zp').data[0]!;
    const s = readConstant(inits.get(q.input[1]!)!, 'scale').data[0]!;
    const [qmin, qmax] = [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1];
    assert.ok(zp >= qmin && zp <= qmax);
    const before = producer.get(q.input[0]!);
    if (bits < 8) {
      assert.is(before?.opType, 'Clip', `${t} (${bits} bits) has no Clip before its QuantizeLinear`);
      const lo = readConstant(inits.get(before!.input[1]!)!, 'min').data[0]!;
      const hi = readConstant(inits.get(before!.input[2]!)!, 'max').data[0]!;
      assert.ok(Math.abs(lo - s * (qmin - zp)) <= 1e-6 * Math.abs(s * qmax) && Math.abs(hi - s * (qmax - zp)) <= 1e-6 * s * 256, `${t}: Clip [${lo}, ${hi}]`);
    }
  }
  assert.is(meta['fkb.activation_bits.logits'], '8');
  assert.is(producer.get('logits')!.opType, 'DequantizeLinear');
});

test('smoke QAT: codes.bin header, labels = the first t10k labels, every code inside its b-bit range', () => {
  const r = smokeRun();
  assert.is(r.status, 0, r.stderr);
  const bytes = readFileSync(join(smokeDir, 'smoke.codes.bin'));
  assert.is(bytes.subarray(0, 8).toString('latin1'), 'FKBCODE1');
  const h = bytes.readUInt32LE(8);
  const header = JSON.parse(bytes.subarray(12, 12 + h).toString('utf8'));
  const body = bytes.subarray(12 + h);
  assert.is(header.format, 'fkb-codes-v1');
  assert.is(header.images, 20);
  assert.equal(header.imageIndices, [0, 19]);
  const evalSet = readEvalSet();
  assert.equal([...body.subarray(0, 20)], [...evalSet.labels.subarray(0, 20)]);
  const names = header.tensors.map((t: { name: string }) => t.name);
  assert.is(names[0], 'input');
  assert.is(names.at(-1), 'logits');
  assert.is(names.length, 7);
  let end = 20;
  for (const t of header.tensors) {
    const per = t.shape.reduce((a: number, b: number) => a * b, 1);
    assert.is(t.bytes, 20 * per);
    assert.is(t.offset, end, `${t.name} follows the previous tensor`);
    end += t.bytes;
    assert.equal([t.qmin, t.qmax], [-(2 ** (t.bits - 1)), 2 ** (t.bits - 1) - 1]);
    const codes = new Int8Array(body.buffer, body.byteOffset + t.offset, t.bytes);
    const bad = codes.findIndex((c) => c < t.qmin || c > t.qmax);
    assert.is(bad, -1, `${t.name}: code ${codes[bad]} outside [${t.qmin}, ${t.qmax}]`);
  }
  assert.is(end, body.length);
  // The 8-bit input on the grid 1/255 with zero point -128 holds pixel - 128, image after image (NCHW).
  const input = header.tensors[0];
  assert.equal(input.shape, [1, 28, 28]);
  assert.is(input.zeroPoint, -128);
  const inCodes = new Int8Array(body.buffer, body.byteOffset + input.offset, input.bytes);
  assert.ok(inCodes.every((c, i) => c === evalSet.images[i]! - 128), 'input codes are pixel - 128');
  assert.equal(header.tensors.at(-1).shape, [10]);
});

// --- bad input -------------------------------------------------------------------------------

function assertUsage(r: Run, ...needles: string[]): void {
  assert.is(r.status, 2, `exit ${r.status}: ${r.stderr}`);
  const err = r.events.find((e) => e.event === 'error');
  assert.ok(err && err.code === 2, `no error event on stdout: ${r.stdout}`);
  for (const n of needles) assert.ok(r.stderr.includes(n) && String(err!.message).includes(n), `'${r.stderr.trim()}' does not mention ${n}`);
  assert.not.ok(r.stderr.includes('Traceback'), 'a usage error prints no stack trace');
}

test('bad options exit 2 naming the option', () => {
  assertUsage(qat('--wbits', '9', '--out-dir', join(work, 'bad')), '--wbits', '[2, 8]', '9');
  assertUsage(qat('--mode', 'int3'), '--mode', 'int3');
  assertUsage(qat('--layer-wbits', '/nope/Conv=4', '--epochs', '0', '--out-dir', join(work, 'bad')), '--layer-wbits', '/nope/Conv');
  assertUsage(qat('--no-such-option'), '--no-such-option');
  assert.not.ok(existsSync(join(work, 'bad', 'cnn-w4a4.onnx')), 'nothing is written on a usage error');
});

test('a missing model file and an unsupported op exit 2 naming the file, the node and the op', () => {
  assertUsage(qat('--model', join(work, 'missing.onnx')), '--model', 'missing.onnx');
  const { onnx: o } = { onnx };
  const bad = o.ModelProto.encode({
    irVersion: 7, opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'bad',
      node: [{ name: 'the_softmax', opType: 'Softmax', input: ['input'], output: ['logits'] }],
      input: [{ name: 'input', type: { tensorType: { elemType: DT.FLOAT, shape: { dim: [{ dimValue: 1 }, { dimValue: 1 }, { dimValue: 28 }, { dimValue: 28 }] } } } }],
      output: [{ name: 'logits', type: { tensorType: { elemType: DT.FLOAT, shape: { dim: [{ dimValue: 1 }, { dimValue: 10 }] } } } }],
    },
  }).finish();
  const path = join(work, 'softmax.onnx');
  writeFileSync(path, bad);
  assertUsage(qat('--model', path, '--epochs', '0', '--out-dir', join(work, 'bad')), 'the_softmax', 'Softmax');
});

test.after(() => rmSync(work, { recursive: true, force: true }));

test.run();
