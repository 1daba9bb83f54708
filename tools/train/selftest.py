"""qat.py --selftest: fast checks without the dataset (random inputs), a JSON summary on stdout.

 1. round half away from zero on ties (+-0.5, +-1.5, +-2.5) and next to them, torch/numpy/python;
 2. the code ranges at every bit width 2..8: weights in [-qmax, qmax] (never -2^(b-1)), signed and
    unsigned (zp = qmin) activations in [qmin, qmax], TFLite ChooseQuantizationParams vectors;
 3. the LSQ gradients of one small tensor against the formula by hand;
 4. BatchNormalization folding: the folded module against the unfolded ONNX graph;
 5. the exported QDQ model, run by run_onnx (onnx_torch.py: QuantizeLinear/DequantizeLinear in
    numpy per the ONNX specification, float ops in torch), gives the fake-quant forward's codes at
    every quantized tensor and its logits bit for bit, on a synthetic graph with every supported
    op class and mixed 3..8-bit widths and on models/fashion-mnist/cnn.onnx at W4A4 and W2A3;
    the float export likewise equals the float module;
 6. an unsupported op is refused naming the node and the op; codes.bin encodes and decodes.
"""
import json
import math
import os
import sys

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

import codes_dump
from onnx_torch import ModelError, QModel, ir_from_model, run_onnx
from qdq_export import build_onnx
from quantizers import (ActQuant, WeightQuant, act_range, choose_qparams, round_half_away, round_half_away_np,
                        round_half_away_py, weight_qmax)

HERE = os.path.dirname(os.path.abspath(__file__))
CNN = os.path.join(os.path.dirname(os.path.dirname(HERE)), 'models', 'fashion-mnist', 'cnn.onnx')


def check_rounding():
    xs = [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49999997, -0.49999997, 2.4999998, -2.5000002, 0.0, 127.5, -128.5]
    want = [-3, -2, -1, 1, 2, 3, 0, 0, 2, -3, 0, 128, -129]
    t = round_half_away(torch.tensor(xs, dtype=torch.float32)).tolist()
    n = round_half_away_np(np.array(xs, np.float32)).tolist()
    p = [round_half_away_py(float(np.float32(x))) for x in xs]
    ok = t == want and n == want and p == want
    return ok, {'inputs': xs, 'want': want, 'torch': t, 'numpy': n, 'python': p}


def check_ranges():
    bad = []
    x = torch.linspace(-1000, 1000, 20001)
    for bits in range(2, 9):
        qmin, qmax = act_range(bits)
        if (qmin, qmax) != (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1):
            bad.append(f'act_range({bits})')
        for unsigned in (False, True):
            q = ActQuant('t', bits, unsigned=unsigned)
            q.set_from_range(-0.3 if not unsigned else 0.0, 0.7)
            q.mode = 'quant'
            c = q.codes(x)
            if int(c.min()) != qmin or int(c.max()) != qmax:
                bad.append(f'activation {bits} bits unsigned={unsigned}: codes [{int(c.min())}, {int(c.max())}]')
            if unsigned and q.zp != qmin:
                bad.append(f'unsigned zp {q.zp} != {qmin}')
            y = q(x)
            grid = (y / q.scale.detach()).round() + q.zp
            if grid.min() < qmin or grid.max() > qmax:
                bad.append(f'activation {bits} bits: fake-quant values off the code range')
        wq = WeightQuant(3, bits)
        w = torch.randn(3, 4, 3, 3) * torch.tensor([1.0, 0.0, 5.0]).view(3, 1, 1, 1)
        wq.init_from(w)
        c = wq.codes(w)
        m = weight_qmax(bits)
        if int(c.min()) < -m or int(c.max()) > m or int(c[0].abs().max()) != m or float(wq.scale[1]) != 1.0:
            bad.append(f'weights {bits} bits: codes [{int(c.min())}, {int(c.max())}], qmax {m}')
        big = wq.codes(w * 100)
        if int(big.min()) != -m or int(big.max()) != m:
            bad.append(f'weights {bits} bits: clamp gives [{int(big.min())}, {int(big.max())}]')
    # calibrate.ts test vectors
    s, zp = choose_qparams(0, 2.55, 8)
    if zp != -128 or abs(s - 0.01) > 1e-15:
        bad.append(f'choose(0, 2.55) = {s}, {zp}')
    if choose_qparams(-1, 1.55, 8)[1] != -28 or choose_qparams(-3, -1, 8)[1] != 127 or choose_qparams(0, 0, 8) != (1.0, 0):
        bad.append('choose_qparams vectors')
    return not bad, {'bits': list(range(2, 9)), 'problems': bad}


def check_lsq_gradients():
    from quantizers import _ActFQ, _WeightFQ
    x = torch.tensor([-3.0, -0.26, 0.1, 0.74, 2.0, 9.0], requires_grad=True)
    s = torch.tensor(0.5, requires_grad=True)
    zp, qmin, qmax, g = -2.0, -4.0, 3.0, 0.25
    y = _ActFQ.apply(x, s, qmin - zp, qmax - zp, g)
    y.sum().backward()
    xs = x.detach() / 0.5
    r = round_half_away(xs)
    inside = (xs + zp >= qmin) & (xs + zp <= qmax)
    q = torch.clamp(r + zp, qmin, qmax)
    want_gs = float(torch.where(inside, r - xs, q - zp).sum()) * g
    want_y = ((q - zp) * 0.5).tolist()
    ok = y.tolist() == want_y and x.grad.tolist() == inside.float().tolist() and abs(float(s.grad) - want_gs) < 1e-6
    w = torch.tensor([[0.3, -1.2, 0.05], [2.0, 0.0, -0.1]], requires_grad=True)
    sw = torch.tensor([0.4, 1.0], requires_grad=True)
    yw = _WeightFQ.apply(w, sw, 1.0, 1.0)
    yw.sum().backward()
    ws = w.detach() / sw.detach().view(-1, 1)
    rw = round_half_away(ws)
    inw = ws.abs() <= 1
    want_sw = torch.where(inw, rw - ws, torch.clamp(rw, -1, 1)).sum(1)
    ok = ok and torch.allclose(sw.grad, want_sw) and w.grad.tolist() == inw.float().tolist()
    return ok, {'activationStepGrad': float(s.grad), 'want': want_gs, 'weightStepGrads': sw.grad.tolist()}


# --- synthetic models --------------------------------------------------------------------------

def _init(name, a):
    return numpy_helper.from_array(np.asarray(a), name)


def synthetic_model(rng):
    """input [N,1,12,12] -> conv+BN+relu (8) -> maxpool -> two branches: conv+relu, conv+clip(0,6)
    -> concat -> conv (no act, bias) + residual add + relu -> conv 1x1 +BN (standalone BN after add)
    -> flatten -> gemm (transB 0) -> logits."""
    f = lambda *s: (rng.standard_normal(s) * 0.4).astype(np.float32)
    inits = [
        _init('c1.w', f(8, 1, 3, 3)), _init('bn.g', (1 + 0.1 * rng.standard_normal(8)).astype(np.float32)),
        _init('bn.b', f(8)), _init('bn.m', f(8)), _init('bn.v', (0.5 + rng.random(8)).astype(np.float32)),
        _init('a.w', f(6, 8, 3, 3)), _init('a.b', f(6)), _init('b.w', f(2, 8, 1, 1)), _init('b.b', f(2)),
        _init('clip.lo', np.array(0.0, np.float32)), _init('clip.hi', np.array(6.0, np.float32)),
        _init('d.w', f(8, 8, 3, 3)), _init('d.b', f(8)),
        _init('bn2.g', (1 + 0.1 * rng.standard_normal(8)).astype(np.float32)), _init('bn2.b', f(8)), _init('bn2.m', f(8)),
        _init('bn2.v', (0.5 + rng.random(8)).astype(np.float32)),
        _init('fc.w', f(8 * 36, 5)), _init('fc.b', f(5)),
    ]
    N = helper.make_node
    nodes = [
        N('Conv', ['input', 'c1.w'], ['c1'], name='c1', pads=[1, 1, 1, 1]),
        N('BatchNormalization', ['c1', 'bn.g', 'bn.b', 'bn.m', 'bn.v'], ['bn1'], name='bn1'),
        N('Relu', ['bn1'], ['r1'], name='relu1'),
        N('MaxPool', ['r1'], ['p1'], name='pool1', kernel_shape=[2, 2], strides=[2, 2]),
        N('Conv', ['p1', 'a.w', 'a.b'], ['ca'], name='ca', pads=[1, 1, 1, 1]),
        N('Relu', ['ca'], ['ra'], name='relua'),
        N('Conv', ['p1', 'b.w', 'b.b'], ['cb'], name='cb'),
        N('Clip', ['cb', 'clip.lo', 'clip.hi'], ['rb'], name='clipb'),
        N('Concat', ['ra', 'rb'], ['cat'], name='cat', axis=1),
        N('Conv', ['cat', 'd.w', 'd.b'], ['cd'], name='cd', pads=[0, 1, 2, 1]),
        N('Add', ['cd', 'p1'], ['sum'], name='add'),
        N('BatchNormalization', ['sum', 'bn2.g', 'bn2.b', 'bn2.m', 'bn2.v'], ['bn2'], name='bn2'),
        N('Relu', ['bn2'], ['r2'], name='relu2'),
        N('Flatten', ['r2'], ['flat'], name='flatten'),
        N('Gemm', ['flat', 'fc.w', 'fc.b'], ['logits'], name='fc'),
    ]
    g = helper.make_graph(nodes, 'synthetic', [helper.make_tensor_value_info('input', TensorProto.FLOAT, ['N', 1, 12, 12])],
                          [helper.make_tensor_value_info('logits', TensorProto.FLOAT, ['N', 5])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)])
    onnx.checker.check_model(m)
    return m


def _calibrate_random(model, x, rng, perturb):
    model.set_observe()
    with torch.no_grad():
        model(x)
    for q in model.aq:
        if q.tensor == model.ir.input:
            q.set_from_range(0.0, 1.0)
        else:
            q.set_from_range(q.observed[0], q.observed[1])
        if perturb:  # stand-in for learned step sizes: arbitrary float32 scales
            with torch.no_grad():
                q.scale.mul_(float(0.6 + 0.8 * rng.random()))
    for i, q in enumerate(model.wq):
        q.init_from(model.weights[i])
        if perturb:
            with torch.no_grad():
                q.scale.mul_(torch.from_numpy((0.7 + 0.6 * rng.random(q.scale.numel())).astype(np.float32)))
    model.set_quant(True)


def compare_qdq(proto, wbits_of, abits_of, x, rng, label):
    """Fake-quant codes and logits vs. the exported QDQ model run by run_onnx."""
    ir = ir_from_model(proto, label)
    from onnx_torch import layers_of, quant_tensors
    owners = quant_tensors(ir)[0]
    layers = layers_of(ir)
    model = QModel(ir, {n.name: wbits_of(i, len(layers)) for i, n in enumerate(layers)},
                   {t: abits_of(i, len(owners)) for i, t in enumerate(owners)})
    _calibrate_random(model, x, rng, perturb=True)
    cap = {}
    for q in model.aq:
        q.capture = cap
    with torch.no_grad():
        logits = model(x)
    qdq = build_onnx(model, True)
    env = run_onnx(qdq, x.numpy())
    mism = {}
    for q in model.aq:
        got = env[f'{q.tensor}_quantized'].astype(np.int64)
        want = cap[q.tensor].numpy().astype(np.int64)
        d = int((got != want).sum())
        if d:
            mism[q.tensor] = d
        if want.min() < q.qmin or want.max() > q.qmax:
            mism[q.tensor + ' range'] = [int(want.min()), int(want.max())]
    same_logits = np.array_equal(env[ir.outputs[0]], logits.numpy())
    ops = sorted({n.op_type for n in qdq.graph.node})
    # float path: folded module vs the original graph, and the float export vs the module
    fm = QModel(ir)
    with torch.no_grad():
        fl = fm(x).numpy()
    orig = run_onnx(proto, x.numpy())[ir.outputs[0]]
    fold_err = float(np.abs(fl - orig).max() / max(1e-6, np.abs(orig).max()))
    fexp = run_onnx(build_onnx(fm, False), x.numpy())[ir.outputs[0]]
    ok = not mism and same_logits and fold_err < 1e-5 and np.array_equal(fexp, fl)
    return ok, {'model': label, 'tensors': len(model.aq), 'codes': int(sum(c.numel() for c in cap.values())),
                'mismatches': mism, 'logitsBitExact': bool(same_logits), 'foldRelErr': fold_err,
                'floatExportBitExact': bool(np.array_equal(fexp, fl)), 'ops': ops,
                'bits': {q.tensor: q.bits for q in model.aq}}


def check_qdq_synthetic(rng):
    proto = synthetic_model(rng)
    x = torch.from_numpy(rng.random((6, 1, 12, 12)).astype(np.float32))
    return compare_qdq(proto, lambda i, n: [8, 3, 5, 4, 6, 7][i % 6], lambda i, n: [8, 4, 3, 5, 8, 6, 4, 8][i % 8], x, rng, 'synthetic')


def check_qdq_cnn(rng, wb, ab):
    if not os.path.isfile(CNN):
        return False, {'model': CNN, 'error': 'missing'}
    x = torch.from_numpy(rng.random((8, 1, 28, 28)).astype(np.float32))
    return compare_qdq(onnx.load(CNN), lambda i, n: 8 if i in (0, n - 1) else wb,
                       lambda i, n: 8 if i in (0, n - 1, n - 2) else ab, x, rng, f'cnn.onnx W{wb}A{ab}')


def check_unsupported():
    g = helper.make_graph([helper.make_node('Softmax', ['input'], ['logits'], name='the_softmax')], 'bad',
                          [helper.make_tensor_value_info('input', TensorProto.FLOAT, [1, 1, 2, 2])],
                          [helper.make_tensor_value_info('logits', TensorProto.FLOAT, [1, 1, 2, 2])])
    try:
        ir_from_model(helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)]), 'bad.onnx')
    except ModelError as e:
        return 'the_softmax' in str(e) and 'Softmax' in str(e), {'message': str(e)}
    return False, {'message': 'no error'}


def check_codes_format(rng):
    labels = np.array([3, 1, 4], np.uint8)
    t = [{'name': 'a', 'codes': rng.integers(-8, 8, (3, 2, 2, 2)).astype(np.int8), 'bits': 4, 'scale': 0.1, 'zeroPoint': -8, 'qmin': -8, 'qmax': 7},
         {'name': 'logits', 'codes': rng.integers(-128, 128, (3, 10)).astype(np.int8), 'bits': 8, 'scale': 0.25, 'zeroPoint': 3, 'qmin': -128, 'qmax': 127}]
    header, lab, tensors = codes_dump.decode(codes_dump.encode(labels, t))
    ok = (lab.tolist() == labels.tolist() and np.array_equal(tensors['a'], t[0]['codes']) and np.array_equal(tensors['logits'], t[1]['codes'])
          and header['tensors'][0]['scale'] == float(np.float32(0.1)) and header['tensors'][1]['layout'] == 'NC')
    return ok, {'bytes': len(codes_dump.encode(labels, t))}


def run():
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(12345)
    checks = []

    def add(name, fn, *a):
        try:
            ok, detail = fn(*a)
        except Exception as e:  # a crash is a failed check
            import traceback
            traceback.print_exc()
            ok, detail = False, {'error': f'{type(e).__name__}: {e}'}
        checks.append({'check': name, 'ok': bool(ok), 'detail': detail})
        sys.stderr.write(f"selftest {'ok  ' if ok else 'FAIL'} {name}\n")

    add('round-half-away-ties', check_rounding)
    add('code-ranges-2..8-bits', check_ranges)
    add('lsq-gradients', check_lsq_gradients)
    add('qdq-equals-fake-quant-synthetic', check_qdq_synthetic, rng)
    add('qdq-equals-fake-quant-cnn-w4a4', check_qdq_cnn, rng, 4, 4)
    add('qdq-equals-fake-quant-cnn-w2a3', check_qdq_cnn, rng, 2, 3)
    add('unsupported-op-named', check_unsupported)
    add('codes-bin-roundtrip', check_codes_format, rng)
    ok = all(c['ok'] for c in checks)
    sys.stdout.write(json.dumps({'event': 'selftest', 'ok': ok, 'passed': sum(c['ok'] for c in checks), 'total': len(checks),
                                 'checks': checks}, separators=(',', ':')) + '\n')
    sys.stdout.flush()
    return 0 if ok else 1
