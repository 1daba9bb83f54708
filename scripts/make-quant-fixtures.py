#!/usr/bin/python3
"""Writes the quantized ONNX fixtures of test/onnx-quant-import.test.ts to test/fixtures/quant-onnx/.

    /usr/bin/python3 scripts/make-quant-fixtures.py      (Debian's python3-onnx 1.12 and numpy)

Each model is small (conv + relu + pool + add + concat + global pool + gemm) with known integer
weights, biases, scales and zero points, and expected.json holds, per model, a few float inputs
(NCHW) and the output codes the integer arithmetic of harness/quant/int-graph.ts gives them,
computed here in numpy / Python integers, independently of the TypeScript:

  input        the model's own QuantizeLinear (f32 division, round half to even, saturate), or
               QONNX Quant (ROUND)
  conv, gemm   exact integer accumulation, then the 'fp32' requantization (onnxruntime's):
               f32(acc) * M in f32, clamped to [lo - zp, hi - zp], round half to even, + zp, with
               M = f32(f32(x_scale * w_scale[o]) / y_scale) (onnxruntime's QLinearConv multiplier)
               for QDQ and QOperator, M = f32(x_scale * w_scale[o] / y_scale in f64) for QONNX
  maxpool      max of codes
  add          TFLite's int8 Add (left shift 20, QuantizeMultiplier, MultiplyByQuantizedMultiplier)
  concat       inputs requantized like a one-operand add
  global pool  the sum of codes / n rounded half away from zero, on the integer graph's codes
Codes are kept in the integer graph's domain (uint8 and unsigned QONNX codes move down by
2^(b-1)), so that the average pool rounds as the integer graph does; expected.json stores the
output codes in the source model's own domain.

Models:
  qdq-u8.onnx    QDQ, uint8 activations (zero point 128 at the input), int8 per-channel weights,
                 int32 biases; a MaxPool with its own Q/DQ (equal quantizer)
  qdq-4bit.onnx  QDQ as tools/train/qdq_export.py writes it: int8 codes narrowed to 4 bits by a
                 Clip before each QuantizeLinear (one uint8 4-bit tensor), 4-bit weights, and the
                 fkb.activation_bits / fkb.weight_bits metadata
  qonnx.onnx     QONNX: Quant on the input, 4-bit narrow per-channel weights, unsigned 4-bit ReLU
                 output, bipolar weights, a signed narrow 8-bit activation, float bias
  qop-u8.onnx    QOperator: uint8 input, QLinearConv with uint8 weights (zero point 128), MaxPool,
                 QLinearConv 1x1, DequantizeLinear output
"""
import json
import math
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'quant-onnx')
rng = np.random.RandomState(20240611)
f32 = np.float32


# --- the integer arithmetic (int-graph.ts), in numpy and Python integers ---------------------

def rhaz(x):
    """std::round: half away from zero."""
    return math.copysign(math.floor(abs(x) + 0.5), x)


def quantize_multiplier(real):
    """TFLite QuantizeMultiplier (gemmlowp form)."""
    if real == 0:
        return 0, 0
    q, e = math.frexp(real)
    qf = int(rhaz(q * 2 ** 31))
    if qf == 2 ** 31:
        qf //= 2
        e += 1
    if e < -31:
        return 0, 0
    return qf, e


def wrap32(x):
    x &= 0xFFFFFFFF
    return x - 2 ** 32 if x >= 2 ** 31 else x


def srdhm(a, b):
    if a == b == -2 ** 31:
        return 2 ** 31 - 1
    ab = a * b
    nudge = 2 ** 30 if ab >= 0 else 1 - 2 ** 30
    n = ab + nudge
    return abs(n) // 2 ** 31 * (1 if n >= 0 else -1)  # C++ division truncates toward zero


def rdbpot(x, e):
    mask = (1 << e) - 1
    rem = x & mask
    thr = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if rem > thr else 0)


def mulq(x, qm):
    m, shift = qm
    left, right = max(shift, 0), max(-shift, 0)
    return rdbpot(srdhm(wrap32(x << left), m), right)


class T:
    """A quantized tensor: codes (NCHW, int64) in the integer graph's domain, its quantizer and clamp range."""

    def __init__(self, codes, scale, zp, bits, off, name):
        self.codes, self.scale, self.zp, self.bits, self.off, self.name = codes, f32(scale), int(zp), bits, off, name

    @property
    def qmin(self):
        return -(2 ** (self.bits - 1))

    @property
    def qmax(self):
        return 2 ** (self.bits - 1) - 1


def conv_acc(x, w, bias, pad):
    """Exact integer accumulators of a stride-1 convolution: x (C,H,W) codes minus zero point, w (O,C,kh,kw)."""
    c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    oh, ow = h + 2 * pad - kh + 1, wd + 2 * pad - kw + 1
    acc = np.zeros((o, oh, ow), np.int64)
    for a in range(o):
        for y in range(oh):
            for z in range(ow):
                acc[a, y, z] = int((xp[:, y:y + kh, z:z + kw] * w[a]).sum()) + int(bias[a])
    return acc


def requant_fp32(acc, m, zp, lo, hi):
    """f32(acc) * M (per output channel), clamp in float to [lo - zp, hi - zp], round half to even, + zp."""
    f = (acc.astype(np.float32) * m.reshape((-1,) + (1,) * (acc.ndim - 1)).astype(np.float32)).astype(np.float32)
    f = np.minimum(np.maximum(f, f32(lo - zp)), f32(hi - zp))
    return np.rint(f).astype(np.int64) + zp


def ort_multiplier(xs, ws, ys):
    return (f32(xs) * ws.astype(np.float32)).astype(np.float32) / f32(ys)


def add_tflite(a, b, out_scale, out_zp, lo, hi):
    twice = 2 * max(float(a.scale), float(b.scale))
    ma, mb = quantize_multiplier(float(a.scale) / twice), quantize_multiplier(float(b.scale) / twice)
    mo = quantize_multiplier(twice / (2 ** 20 * float(out_scale)))
    y = np.zeros_like(a.codes)
    for i, (qa, qb) in enumerate(zip(a.codes.flat, b.codes.flat)):
        s = mulq((int(qa) - a.zp) * 2 ** 20, ma) + mulq((int(qb) - b.zp) * 2 ** 20, mb)
        y.flat[i] = min(hi, max(lo, mulq(s, mo) + out_zp))
    return y


def requant_concat(t, out):
    if t.scale == out.scale and t.zp == out.zp:
        return t.codes.copy()
    m = quantize_multiplier(float(t.scale) / (2 ** 20 * float(out.scale)))
    return np.vectorize(lambda q: min(out.qmax, max(out.qmin, mulq((int(q) - t.zp) * 2 ** 20, m) + out.zp)))(t.codes)


def maxpool2(x):
    c, h, w = x.shape
    return x.reshape(c, h // 2, 2, w // 2, 2).max(axis=(2, 4))


def gap(x):
    c, h, w = x.shape
    n = h * w
    s = x.reshape(c, n).sum(axis=1)
    return np.array([int((v + n // 2) / n) if v >= 0 else -int((-v + n // 2) / n) for v in s], np.int64).reshape(c, 1, 1)


def q_input(x, s, zp, lo, hi):
    """ONNX QuantizeLinear: f32 division, round half to even, saturate."""
    return np.clip(np.rint(x.astype(np.float32) / f32(s)) + zp, lo, hi).astype(np.int64)


def scale_for(real_lo, real_hi, levels):
    return f32(max(real_hi - real_lo, 1e-3) / levels)


# --- ONNX building -----------------------------------------------------------------------------

class B:
    def __init__(self):
        self.nodes, self.inits, self.meta = [], [], {}

    def init(self, name, arr):
        self.inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def node(self, op, ins, out, name=None, domain='', **attrs):
        self.nodes.append(helper.make_node(op, ins, [out], name=name or out + '_' + op, domain=domain, **attrs))
        return out

    def qdq(self, x, name, scale, zp, dtype):
        """x -> QuantizeLinear -> DequantizeLinear; returns the DequantizeLinear output."""
        s = self.init(f'{name}_scale', f32(scale))
        z = self.init(f'{name}_zp', np.array(zp, dtype))
        q = self.node('QuantizeLinear', [x, s, z], f'{name}_q')
        return self.node('DequantizeLinear', [q, s, z], name)

    def weights(self, name, codes, scale, axis=0, dtype=np.int8, zp=None):
        self.init(f'{name}_codes', codes.astype(dtype))
        self.init(f'{name}_wscale', scale.astype(np.float32))
        self.init(f'{name}_wzp', (np.zeros(len(scale)) if zp is None else zp).astype(dtype))
        return self.node('DequantizeLinear', [f'{name}_codes', f'{name}_wscale', f'{name}_wzp'], name, axis=axis)

    def bias(self, name, codes, scale):
        self.init(f'{name}_codes', codes.astype(np.int32))
        self.init(f'{name}_bscale', scale.astype(np.float32))
        self.init(f'{name}_bzp', np.zeros(len(scale), np.int32))
        return self.node('DequantizeLinear', [f'{name}_codes', f'{name}_bscale', f'{name}_bzp'], name, axis=0)

    def model(self, name, in_dims, in_type, out_name, out_dims, out_type=TensorProto.FLOAT, opsets=(('', 13),)):
        g = helper.make_graph(self.nodes, name, [helper.make_tensor_value_info('input', in_type, in_dims)],
                              [helper.make_tensor_value_info(out_name, out_type, out_dims)], self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets], producer_name='scripts/make-quant-fixtures.py')
        m.ir_version = 7
        if self.meta:
            helper.set_model_props(m, self.meta)
        return m


def wcodes(o, i, k, bits):
    q = 2 ** (bits - 1) - 1
    return rng.randint(-q, q + 1, size=(o, i, k, k)).astype(np.int64)


def wscale(o, bits):
    return (rng.uniform(0.5, 1.5, o) / (2 ** (bits - 1) - 1) * 0.5).astype(np.float32)


# --- QDQ, uint8 activations ----------------------------------------------------------------

def qdq_u8(inputs):
    """Returns (model, function input (C,H,W) float -> output codes in the source's uint8/int8 domain)."""
    b = B()
    s_in, zp_in = f32(2 / 255), 128
    w1, ws1 = wcodes(8, 3, 3, 8), wscale(8, 8)
    bias1 = rng.randint(-3000, 3000, 8)
    w2, ws2 = wcodes(8, 8, 3, 8), wscale(8, 8)
    bias2 = rng.randint(-3000, 3000, 8)
    w3, ws3 = wcodes(8, 8, 1, 8), wscale(8, 8)
    bias3 = rng.randint(-1000, 1000, 8)
    wf, wsf = rng.randint(-127, 128, (10, 16)).astype(np.int64), wscale(10, 8)
    biasf = rng.randint(-2000, 2000, 10)
    params = {}

    def run(x, fix=None):
        """The integer arithmetic; with fix=None, chooses the output scales from this input (first call)."""
        p = params if fix is None else fix
        t = T(q_input(x, s_in, zp_in, 0, 255) - 128, s_in, zp_in - 128, 8, -128, 'input')
        acc = conv_acc(t.codes - t.zp, w1, bias1, 1)
        p.setdefault('s1', scale_for(0, float(acc.max() * s_in * ws1.max()), 255))
        m = ort_multiplier(s_in, ws1, p['s1'])
        c1 = T(requant_fp32(acc, m, -128, -128, 127), p['s1'], -128, 8, -128, 'c1')
        mp = T(maxpool2(c1.codes), c1.scale, c1.zp, 8, -128, 'mp')
        acc2 = conv_acc(mp.codes - mp.zp, w2, bias2, 1)
        real2 = acc2 * float(mp.scale) * ws2.reshape(-1, 1, 1)
        p.setdefault('s2', scale_for(float(real2.min()), float(real2.max()), 255))
        p.setdefault('z2', int(np.clip(round(-128 - float(real2.min()) / float(p['s2'])), -128, 127)))
        c2 = T(requant_fp32(acc2, ort_multiplier(mp.scale, ws2, p['s2']), p['z2'], -128, 127), p['s2'], p['z2'], 8, -128, 'c2')
        acc3 = conv_acc(mp.codes - mp.zp, w3, bias3, 0)
        real3 = acc3 * float(mp.scale) * ws3.reshape(-1, 1, 1)
        p.setdefault('s3', scale_for(float(real3.min()), float(real3.max()), 255))
        p.setdefault('z3', int(np.clip(round(-128 - float(real3.min()) / float(p['s3'])), -128, 127)))
        c3 = T(requant_fp32(acc3, ort_multiplier(mp.scale, ws3, p['s3']), p['z3'], -128, 127), p['s3'], p['z3'], 8, -128, 'c3')
        p.setdefault('s4', f32(float(c2.scale) * 1.3))
        add = T(add_tflite(c2, c3, p['s4'], -128, -128, 127), p['s4'], -128, 8, -128, 'add')
        p.setdefault('s5', f32(max(float(add.scale), float(mp.scale)) * 1.1))
        out5 = T(None, p['s5'], -128, 8, -128, 'cat')
        cat = T(np.concatenate([requant_concat(add, out5), requant_concat(mp, out5)]), p['s5'], -128, 8, -128, 'cat')
        g = T(gap(cat.codes), cat.scale, cat.zp, 8, -128, 'gap')
        accf = wf @ (g.codes.reshape(16) - g.zp) + biasf
        realf = accf * float(g.scale) * wsf
        p.setdefault('s6', scale_for(1.6 * float(realf.min()), 1.6 * float(realf.max()), 255))
        p.setdefault('z6', int(np.clip(round(-128 - float(realf.min()) / float(p['s6'])), -128, 127)))
        y = requant_fp32(accf, ort_multiplier(g.scale, wsf, p['s6']), p['z6'], -128, 127)
        return y  # int8 output: source domain = integer graph domain

    for x in inputs:
        run(x)
    # the model
    xin = b.qdq('input', 'input_dq', s_in, zp_in, np.uint8)
    b.weights('w1', w1, ws1)
    b.bias('b1', bias1, (f32(s_in) * ws1).astype(np.float32))
    c1 = b.node('Conv', [xin, 'w1', 'b1'], 'c1_pre', 'conv1', kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    r1 = b.node('Relu', [c1], 'c1_relu', 'relu1')
    c1 = b.qdq(r1, 'c1', params['s1'], 0, np.uint8)
    mp = b.node('MaxPool', [c1], 'mp_pre', 'pool', kernel_shape=[2, 2], strides=[2, 2])
    mp = b.qdq(mp, 'mp', params['s1'], 0, np.uint8)
    b.weights('w2', w2, ws2)
    b.bias('b2', bias2, (params['s1'] * ws2).astype(np.float32))
    c2 = b.qdq(b.node('Conv', [mp, 'w2', 'b2'], 'c2_pre', 'conv2', kernel_shape=[3, 3], pads=[1, 1, 1, 1]), 'c2', params['s2'], params['z2'] + 128, np.uint8)
    b.weights('w3', w3, ws3)
    b.bias('b3', bias3, (params['s1'] * ws3).astype(np.float32))
    c3 = b.qdq(b.node('Conv', [mp, 'w3', 'b3'], 'c3_pre', 'conv3', kernel_shape=[1, 1]), 'c3', params['s3'], params['z3'] + 128, np.uint8)
    add = b.node('Relu', [b.node('Add', [c2, c3], 'add_pre', 'add')], 'add_relu', 'relu_add')
    add = b.qdq(add, 'add', params['s4'], 0, np.uint8)
    cat = b.qdq(b.node('Concat', [add, mp], 'cat_pre', 'concat', axis=1), 'cat', params['s5'], 0, np.uint8)
    g = b.qdq(b.node('GlobalAveragePool', [cat], 'gap_pre', 'gap'), 'gap', params['s5'], 0, np.uint8)
    fl = b.node('Flatten', [g], 'flat', 'flatten', axis=1)
    b.init('wf_codes', wf.astype(np.int8))
    b.init('wf_wscale', wsf)
    b.init('wf_wzp', np.zeros(10, np.int8))
    b.node('DequantizeLinear', ['wf_codes', 'wf_wscale', 'wf_wzp'], 'wf', axis=0)
    b.bias('bf', biasf, (params['s5'] * wsf).astype(np.float32))
    fc = b.node('Gemm', [fl, 'wf', 'bf'], 'fc_pre', 'fc', transB=1)
    s = b.init('logits_scale', f32(params['s6']))
    z = b.init('logits_zp', np.array(params['z6'], np.int8))
    b.node('DequantizeLinear', [b.node('QuantizeLinear', [fc, s, z], 'logits_q'), s, z], 'logits')
    m = b.model('qdq-u8', [1, 3, 8, 8], TensorProto.FLOAT, 'logits', [1, 10])
    return m, lambda x: run(x, params)


# --- QDQ at 4 bits, as tools/train/qdq_export.py writes it -----------------------------------

def qdq_4bit(inputs):
    b = B()
    s_in, zp_in = f32(1 / 255), -128                  # 8-bit input, [0, 1]
    w1, ws1 = wcodes(6, 3, 3, 4), wscale(6, 4)
    bias1 = rng.randint(-60, 60, 6)
    w2, ws2 = wcodes(6, 6, 3, 4), wscale(6, 4)
    wf, wsf = rng.randint(-127, 128, (5, 6)).astype(np.int64), wscale(5, 8)
    biasf = rng.randint(-500, 500, 5)
    p = {}

    def run(x, fix=None):
        q = p if fix is None else fix
        t = T(q_input(x, s_in, zp_in, -128, 127), s_in, zp_in, 8, 0, 'input')
        acc = conv_acc(t.codes - t.zp, w1, bias1, 1)
        q.setdefault('s1', scale_for(0, float(acc.max() * s_in * ws1.max()) * 0.7, 15))
        # Relu as Clip(0, s * (7 - (-8))), int8 zero point -8: codes [-8, 7]
        c1 = T(requant_fp32(acc, ort_multiplier(s_in, ws1, q['s1']), -8, -8, 7), q['s1'], -8, 4, 0, 'c1')
        mp = T(maxpool2(c1.codes), c1.scale, c1.zp, 4, 0, 'mp')
        acc2 = conv_acc(mp.codes - mp.zp, w2, np.zeros(6, np.int64), 1)
        real2 = acc2 * float(mp.scale) * ws2.reshape(-1, 1, 1)
        q.setdefault('s2', scale_for(0, float(np.abs(real2).max()) * 0.6, 7))
        # signed 4-bit, zero point 0: Clip(s * -8, s * 7)
        c2 = T(requant_fp32(acc2, ort_multiplier(mp.scale, ws2, q['s2']), 0, -8, 7), q['s2'], 0, 4, 0, 'c2')
        q.setdefault('s3', f32(float(max(c2.scale, mp.scale)) * 3))
        # uint8 zero point 0 clipped to [0, 15]: a 4-bit unsigned tensor, codes moved down by 8
        add = T(add_tflite(c2, mp, q['s3'], -8, -8, 7), q['s3'], -8, 4, -8, 'add')
        g = T(gap(add.codes), add.scale, add.zp, 4, -8, 'gap')
        accf = wf @ (g.codes.reshape(6) - g.zp) + biasf
        realf = accf * float(g.scale) * wsf
        q.setdefault('s4', scale_for(1.6 * float(realf.min()), 1.6 * float(realf.max()), 255))
        q.setdefault('z4', int(np.clip(round(-128 - float(realf.min()) / float(q['s4'])), -128, 127)))
        return requant_fp32(accf, ort_multiplier(g.scale, wsf, q['s4']), q['z4'], -128, 127)

    for x in inputs:
        run(x)
    b.meta = {'fkb.format': 'qdq-v1', 'fkb.activation_bits.input': '8', 'fkb.activation_bits.c1': '4', 'fkb.activation_bits.c2': '4',
              'fkb.activation_bits.add': '4', 'fkb.activation_bits.logits': '8', 'fkb.weight_bits.conv1': '4', 'fkb.weight_bits.conv2': '4',
              'fkb.weight_bits.fc': '8'}
    xin = b.qdq('input', 'input_dequantized', s_in, zp_in, np.int8)
    b.weights('w1', w1, ws1)
    b.bias('b1', bias1, (s_in * ws1).astype(np.float32))
    c1 = b.node('Conv', [xin, 'w1', 'b1'], 'c1_preclip', 'conv1', kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    s1 = p['s1']
    b.init('c1_clip_min', f32(0))
    b.init('c1_clip_max', f32(float(s1) * 15))
    c1 = b.qdq(b.node('Clip', [c1, 'c1_clip_min', 'c1_clip_max'], 'c1_float', 'relu1'), 'c1', s1, -8, np.int8)
    mp = b.node('MaxPool', [c1], 'mp', 'pool', kernel_shape=[2, 2], strides=[2, 2])
    b.weights('w2', w2, ws2)
    c2 = b.node('Conv', [mp, 'w2'], 'c2_preclip', 'conv2', kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    b.init('c2_clip_min', f32(float(p['s2']) * -8))
    b.init('c2_clip_max', f32(float(p['s2']) * 7))
    c2 = b.qdq(b.node('Clip', [c2, 'c2_clip_min', 'c2_clip_max'], 'c2_float', 'c2_Clip'), 'c2', p['s2'], 0, np.int8)
    add = b.node('Add', [c2, mp], 'add_preclip', 'add')
    b.init('add_clip_min', f32(0))
    b.init('add_clip_max', f32(float(p['s3']) * 15))
    add = b.qdq(b.node('Clip', [add, 'add_clip_min', 'add_clip_max'], 'add_float', 'add_Clip'), 'add', p['s3'], 0, np.uint8)
    g = b.node('GlobalAveragePool', [add], 'gap', 'gap')
    fl = b.node('Flatten', [g], 'flat', 'flatten', axis=1)
    b.weights('wf', wf, wsf)
    b.bias('bf', biasf, (p['s3'] * wsf).astype(np.float32))
    fc = b.node('Gemm', [fl, 'wf', 'bf'], 'logits_float', 'fc', transB=1)
    s = b.init('logits_scale', f32(p['s4']))
    z = b.init('logits_zp', np.array(p['z4'], np.int8))
    b.node('DequantizeLinear', [b.node('QuantizeLinear', [fc, s, z], 'logits_quantized'), s, z], 'logits')
    return b.model('qdq-4bit', [1, 3, 8, 8], TensorProto.FLOAT, 'logits', [1, 5]), lambda x: run(x, p)


# --- QONNX ---------------------------------------------------------------------------------

QD = 'qonnx.custom_op.general'


def qonnx_model(inputs):
    b = B()

    def quant(x, name, scale, zp, bits, signed, narrow, mode='ROUND'):
        s = b.init(f'{name}_scale', np.asarray(scale, np.float32))
        z = b.init(f'{name}_zeropt', np.asarray(zp, np.float32))
        w = b.init(f'{name}_bitwidth', np.asarray(bits, np.float32))
        return b.node('Quant', [x, s, z, w], name, domain=QD, signed=signed, narrow=narrow, rounding_mode=mode)

    s_in = f32(1 / 64)
    # conv1: 4-bit narrow signed weights from float weights, per-channel scale [O,1,1,1]
    w1f = rng.normal(0, 0.3, (6, 2, 3, 3)).astype(np.float32)
    ws1 = (np.abs(w1f).reshape(6, -1).max(axis=1) / 7).astype(np.float32)
    w1 = np.clip(np.rint(w1f / ws1.reshape(-1, 1, 1, 1)), -7, 7).astype(np.int64)  # Quant, ROUND, narrow: [-7, 7]
    assert (w1 == np.clip(np.rint((w1f / ws1.reshape(-1, 1, 1, 1)).astype(np.float32)), -7, 7)).all()
    bias1 = rng.normal(0, 0.2, 6).astype(np.float32)
    # conv2: bipolar weights with a per-channel scale
    w2f = rng.normal(0, 1, (4, 6, 1, 1)).astype(np.float32)
    w2 = np.where(w2f >= 0, 1, -1).astype(np.int64)
    ws2 = rng.uniform(0.05, 0.2, 4).astype(np.float32)
    # fc: 8-bit narrow signed weights, per-tensor scale
    wff = rng.normal(0, 0.5, (3, 64)).astype(np.float32)
    wsf = f32(np.abs(wff).max() / 127)
    wf = np.clip(np.rint(wff / wsf), -127, 127).astype(np.int64)
    p = {}

    def run(x, fix=None):
        q = p if fix is None else fix
        xin = np.clip(np.rint(np.clip((x.astype(np.float32) / s_in).astype(np.float32), -128, 127)), -128, 127).astype(np.int64)
        t = T(xin, s_in, 0, 8, 0, 'input')
        bq = np.array([rhaz(float(bias1[o]) / (float(s_in) * float(ws1[o]))) for o in range(6)], np.int64)
        acc = conv_acc(t.codes, w1, bq, 1)
        q.setdefault('s1', scale_for(0, float(acc.max() * s_in * ws1.max()) * 0.8, 15))
        m1 = np.array([f32(float(s_in) * float(ws1[o]) / float(q['s1'])) for o in range(6)], np.float32)
        c1 = T(requant_fp32(acc, m1, -8, -8, 7), q['s1'], -8, 4, -8, 'c1')   # unsigned 4-bit ReLU output, codes moved down by 8
        mp = T(maxpool2(c1.codes), c1.scale, c1.zp, 4, -8, 'mp')
        acc2 = conv_acc(mp.codes - mp.zp, w2, np.zeros(4, np.int64), 0)
        real2 = acc2 * float(mp.scale) * ws2.reshape(-1, 1, 1)
        q.setdefault('s2', scale_for(0, float(np.abs(real2).max()) * 0.9, 127))
        m2 = np.array([f32(float(mp.scale) * float(ws2[o]) / float(q['s2'])) for o in range(4)], np.float32)
        c2 = T(requant_fp32(acc2, m2, 0, -127, 127), q['s2'], 0, 8, 0, 'c2')  # signed narrow 8-bit: [-127, 127]
        accf = wf @ c2.codes.reshape(64)  # Flatten of [4, 4, 4]: c, y, x order
        realf = accf * float(c2.scale) * float(wsf)
        q.setdefault('s3', scale_for(0, 1.6 * float(np.abs(realf).max()), 127))
        mf = np.full(3, f32(float(c2.scale) * float(wsf) / float(q['s3'])), np.float32)
        return requant_fp32(accf, mf, 0, -128, 127)

    for x in inputs:
        run(x)
    xq = quant('input', 'input_q', s_in, 0, 8, 1, 0)
    b.init('w1_float', w1f)
    w1q = quant('w1_float', 'w1', ws1.reshape(6, 1, 1, 1), 0, 4, 1, 1)
    b.init('b1', bias1)
    c1 = b.node('Conv', [xq, w1q, 'b1'], 'c1', 'conv1', kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    r1 = b.node('Relu', [c1], 'r1', 'relu1')
    a1 = quant(r1, 'a1', p['s1'], 0, 4, 0, 0)
    mp = b.node('MaxPool', [a1], 'mp', 'pool', kernel_shape=[2, 2], strides=[2, 2])
    b.init('w2_float', w2f)
    b.init('w2_scale', ws2.reshape(4, 1, 1, 1))
    w2q = b.node('BipolarQuant', ['w2_float', 'w2_scale'], 'w2', domain=QD)
    c2 = b.node('Conv', [mp, w2q], 'c2', 'conv2', kernel_shape=[1, 1])
    a2 = quant(c2, 'a2', p['s2'], 0, 8, 1, 1)
    fl = b.node('Flatten', [a2], 'flat', 'flatten', axis=1)
    b.init('wf_float', wff)
    wfq = quant('wf_float', 'wf', wsf, 0, 8, 1, 1)
    fc = b.node('Gemm', [fl, wfq], 'fc', 'fc', transB=1)
    quant(fc, 'logits', p['s3'], 0, 8, 1, 0)
    m = b.model('qonnx', [1, 2, 8, 8], TensorProto.FLOAT, 'logits', [1, 3], opsets=(('', 13), (QD, 1)))
    return m, lambda x: run(x, p)


# --- QOperator, uint8 --------------------------------------------------------------------------

def qop_u8(inputs):
    """inputs are uint8 codes here (the model's input is uint8)."""
    b = B()
    s_in, zp_in = f32(0.02), 100
    w1u = rng.randint(1, 256, (4, 2, 3, 3)).astype(np.int64)      # uint8 weights, zero point 128: w - 128 in [-127, 127]
    ws1 = f32(0.01)
    bias1 = rng.randint(-4000, 4000, 4).astype(np.int64)
    w2u = rng.randint(1, 256, (3, 4, 1, 1)).astype(np.int64)
    ws2 = rng.uniform(0.005, 0.02, 3).astype(np.float32)
    p = {'s1': f32(0.05), 'z1': 10, 's2': f32(0.04), 'z2': 140}

    def run(xu):
        x = xu.astype(np.int64) - 128
        acc = conv_acc(x - (zp_in - 128), w1u - 128, bias1, 1)
        m1 = np.full(4, ort_multiplier(s_in, np.array([ws1]), p['s1'])[0], np.float32)
        c1 = requant_fp32(acc, m1, p['z1'] - 128, -128, 127)
        mp = maxpool2(c1)
        acc2 = conv_acc(mp - (p['z1'] - 128), w2u - 128, np.zeros(3, np.int64), 0)
        c2 = requant_fp32(acc2, ort_multiplier(p['s1'], ws2, p['s2']), p['z2'] - 128, -128, 127)
        return c2 + 128

    def c(name, v, t):
        return b.init(name, np.asarray(v, t))
    b.init('w1', w1u.astype(np.uint8))
    b.init('b1', bias1.astype(np.int32))
    b.node('QLinearConv', ['input', c('x_s', s_in, np.float32), c('x_z', zp_in, np.uint8), 'w1', c('w1_s', ws1, np.float32), c('w1_z', 128, np.uint8),
                           c('y1_s', p['s1'], np.float32), c('y1_z', p['z1'], np.uint8), 'b1'], 'c1', 'conv1', kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    b.node('MaxPool', ['c1'], 'mp', 'pool', kernel_shape=[2, 2], strides=[2, 2])
    b.init('w2', w2u.astype(np.uint8))
    b.node('QLinearConv', ['mp', 'y1_s', 'y1_z', 'w2', c('w2_s', ws2, np.float32), c('w2_z', np.full(3, 128), np.uint8),
                           c('y2_s', p['s2'], np.float32), c('y2_z', p['z2'], np.uint8)], 'c2', 'conv2', kernel_shape=[1, 1])
    b.node('DequantizeLinear', ['c2', 'y2_s', 'y2_z'], 'out', 'dequantize')
    return b.model('qop-u8', [1, 2, 6, 6], TensorProto.UINT8, 'out', [1, 3, 3, 3], opsets=(('', 13),)), run


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {}

    def write(name, model, inputs, fn, kind='float'):
        onnx.checker.check_model(model)
        onnx.save(model, os.path.join(OUT, name))
        outs = [fn(x) for x in inputs]
        expected[name] = {
            'inputDims': [1] + list(inputs[0].shape),
            'inputs': [[float(v) if kind == 'float' else int(v) for v in x.flatten()] for x in inputs],
            'outputs': [[int(v) for v in np.asarray(y).flatten()] for y in outs],
        }
        print(f'{name}: {os.path.getsize(os.path.join(OUT, name))} bytes, outputs {expected[name]["outputs"][0][:8]}...')

    ins = [rng.uniform(-1, 1, (3, 8, 8)).astype(np.float32) for _ in range(4)]
    m, fn = qdq_u8(ins)
    write('qdq-u8.onnx', m, ins, fn)
    ins = [rng.uniform(0, 1, (3, 8, 8)).astype(np.float32) for _ in range(4)]
    ins[0].flat[:4] = [0.5 / 255, 1.5 / 255, 2.5 / 255, 1.0]      # ties of the input quantizer
    m, fn = qdq_4bit(ins)
    write('qdq-4bit.onnx', m, ins, fn)
    ins = [rng.uniform(-1.5, 2.5, (2, 8, 8)).astype(np.float32) for _ in range(4)]
    m, fn = qonnx_model(ins)
    write('qonnx.onnx', m, ins, fn)
    ins = [rng.randint(0, 256, (2, 6, 6)).astype(np.uint8) for _ in range(3)]
    m, fn = qop_u8(ins)
    write('qop-u8.onnx', m, ins, fn, kind='uint8')
    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=None, separators=(',', ':'))
        f.write('\n')


if __name__ == '__main__':
    main()
