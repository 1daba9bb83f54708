"""A float ONNX CNN as a trainable torch module, and a small reference executor for ONNX graphs.

load_ir(path) reads an ONNX model into a list of IR nodes with every BatchNormalization folded
into the Conv before it (the way harness/model/fold.ts does it: in float64, rounded to float32
once):

    s[o]  = gamma[o] / sqrt(var[o] + eps)
    W'[o] = W[o] * s[o]
    b'[o] = s[o] * (b[o] - mean[o]) + beta[o]

A BatchNormalization whose input is not a Conv output read by nothing else becomes a depthwise 1x1
convolution (weights s, bias beta - s * mean), again as fold.ts does. Supported ops: Conv (group,
pads, strides; dilations 1), BatchNormalization (inference form), Relu, Clip, MaxPool, AveragePool,
GlobalAveragePool, Add, Flatten, Reshape (constant shape), Gemm (transA 0, transB 0 or 1, constant
B and C), MatMul (constant right operand), Concat, Constant. Anything else raises ModelError
naming the node and the op (qat.py turns it into exit code 2).

QModel executes the IR; conv and linear weights and biases are trainable parameters, and every
quantized tensor (see quant_tensors) carries an ActQuant, every conv/linear a WeightQuant.
"""
import math
from dataclasses import dataclass, field

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import numpy_helper

from quantizers import ActQuant, WeightQuant, act_range, fake_bias, round_half_away


class ModelError(Exception):
    """A model file we cannot read or an op we do not support (exit code 2)."""


@dataclass
class Node:
    op: str  # conv linear relu clip maxpool avgpool gap add flatten reshape concat
    name: str
    inputs: list
    output: str
    attrs: dict = field(default_factory=dict)
    # conv/linear: float32 numpy weight (conv OIHW, linear [out, in]) and bias [out] or None
    weight: object = None
    bias: object = None
    # names of the ONNX initializers the weight and bias came from (for stable export names)
    weight_name: str = ''
    bias_name: str = ''
    # the original conv node's name when a BatchNormalization was folded into it
    conv_name: str = ''


@dataclass
class IR:
    name: str
    input: str
    input_dims: list  # ONNX dims, None for symbolic ones
    outputs: list
    output_dims: dict
    nodes: list
    opset: int


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _ints(v):
    return [int(x) for x in v]


def load_ir(path):
    try:
        model = onnx.load(path)
    except FileNotFoundError:
        raise ModelError(f'{path}: no such file (expected a float ONNX model)')
    except Exception as e:  # protobuf DecodeError and friends
        raise ModelError(f'{path}: not an ONNX model ({e})')
    return ir_from_model(model, path)


def ir_from_model(model, what='model'):
    g = model.graph
    opset = next((o.version for o in model.opset_import if o.domain in ('', 'ai.onnx')), 13)
    consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    for n in g.node:
        if n.op_type == 'Constant':
            a = _attrs(n)
            if 'value' not in a:
                raise ModelError(f"{what}: node '{n.name}' (Constant): only the 'value' attribute is supported")
            consts[n.output[0]] = numpy_helper.to_array(a['value'])
    inputs = [i for i in g.input if i.name not in consts]
    if len(inputs) != 1:
        raise ModelError(f'{what}: expected one graph input (not an initializer), found {[i.name for i in inputs]}')
    if len(g.output) != 1:
        raise ModelError(f'{what}: expected one graph output (the logits), found {[o.name for o in g.output]}')

    def dims(vi):
        t = vi.type.tensor_type
        return [d.dim_value if d.HasField('dim_value') else None for d in t.shape.dim]

    in_dims = dims(inputs[0])
    if len(in_dims) != 4:
        raise ModelError(f"{what}: input '{inputs[0].name}' must be 4-D NCHW, has dims {in_dims}")

    def const(name, node, role):
        if name not in consts:
            raise ModelError(f"{what}: node '{node.name}' ({node.op_type}): {role} '{name}' must be a constant (initializer)")
        return consts[name]

    readers = {}
    for n in g.node:
        for t in n.input:
            readers[t] = readers.get(t, 0) + 1
    graph_outputs = {o.name for o in g.output}
    nodes = []
    producer = {}

    def emit(node):
        producer[node.output] = node
        nodes.append(node)

    for n in g.node:
        op, name = n.op_type, n.name or (n.output[0] if n.output else '?')
        a = _attrs(n)
        if n.domain not in ('', 'ai.onnx'):
            raise ModelError(f"{what}: node '{name}' ({n.domain}.{op}) is not supported")
        if op == 'Constant':
            continue
        if op == 'Conv':
            w = const(n.input[1], n, 'weight').astype(np.float32)
            if w.ndim != 4:
                raise ModelError(f"{what}: node '{name}' (Conv): only 2-D convolutions are supported, weight has {w.ndim} dims")
            if any(d != 1 for d in a.get('dilations', [1, 1])):
                raise ModelError(f"{what}: node '{name}' (Conv): dilations {list(a['dilations'])} are not supported (only 1)")
            auto_pad = a.get('auto_pad', b'NOTSET')
            auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
            if auto_pad not in ('NOTSET', 'VALID'):
                raise ModelError(f"{what}: node '{name}' (Conv): auto_pad {auto_pad} is not supported")
            pads = _ints(a.get('pads', [0, 0, 0, 0])) if auto_pad == 'NOTSET' else [0, 0, 0, 0]
            b = const(n.input[2], n, 'bias').astype(np.float32) if len(n.input) > 2 and n.input[2] else None
            emit(Node('conv', name, [n.input[0]], n.output[0], {
                'strides': _ints(a.get('strides', [1, 1])), 'pads': pads, 'group': int(a.get('group', 1)),
            }, weight=w, bias=b, weight_name=n.input[1], bias_name=n.input[2] if b is not None else '', conv_name=name))
        elif op == 'BatchNormalization':
            if len(n.output) != 1 and any(n.output[1:]):
                raise ModelError(f"{what}: node '{name}' (BatchNormalization): training form (several outputs) is not supported")
            gamma, beta, mean, var = (const(n.input[i], n, r).astype(np.float64) for i, r in
                                      ((1, 'scale'), (2, 'bias'), (3, 'mean'), (4, 'var')))
            eps = float(a.get('epsilon', 1e-5))
            s = gamma / np.sqrt(var + eps)
            prev = producer.get(n.input[0])
            if prev is not None and prev.op == 'conv' and readers.get(n.input[0], 0) == 1 and n.input[0] not in graph_outputs:
                w64 = prev.weight.astype(np.float64) * s.reshape(-1, 1, 1, 1)
                b0 = prev.bias.astype(np.float64) if prev.bias is not None else np.zeros(len(s))
                prev.weight = w64.astype(np.float32)
                prev.bias = (s * (b0 - mean) + beta).astype(np.float32)
                prev.name = f'{prev.conv_name}+{name}'
                del producer[prev.output]
                prev.output = n.output[0]
                producer[prev.output] = prev
            else:
                c = len(s)
                emit(Node('conv', name, [n.input[0]], n.output[0], {'strides': [1, 1], 'pads': [0, 0, 0, 0], 'group': c},
                          weight=s.reshape(c, 1, 1, 1).astype(np.float32), bias=(beta - s * mean).astype(np.float32),
                          weight_name=f'{name}.weight', bias_name=f'{name}.bias', conv_name=name))
        elif op == 'Relu':
            emit(Node('relu', name, [n.input[0]], n.output[0]))
        elif op == 'Clip':
            if opset >= 11:
                lo = float(const(n.input[1], n, 'min')) if len(n.input) > 1 and n.input[1] else None
                hi = float(const(n.input[2], n, 'max')) if len(n.input) > 2 and n.input[2] else None
            else:
                lo, hi = a.get('min'), a.get('max')
            emit(Node('clip', name, [n.input[0]], n.output[0], {'min': lo, 'max': hi}))
        elif op in ('MaxPool', 'AveragePool'):
            if any(d != 1 for d in a.get('dilations', [1, 1])):
                raise ModelError(f"{what}: node '{name}' ({op}): dilations are not supported")
            auto_pad = a.get('auto_pad', b'NOTSET')
            auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
            if auto_pad not in ('NOTSET', 'VALID'):
                raise ModelError(f"{what}: node '{name}' ({op}): auto_pad {auto_pad} is not supported")
            if len(n.output) > 1 and n.output[1]:
                raise ModelError(f"{what}: node '{name}' ({op}): the Indices output is not supported")
            k = _ints(a['kernel_shape'])
            attrs = {'kernel': k, 'strides': _ints(a.get('strides', [1, 1])),
                     'pads': _ints(a.get('pads', [0, 0, 0, 0])) if auto_pad == 'NOTSET' else [0, 0, 0, 0],
                     'ceil': int(a.get('ceil_mode', 0))}
            if op == 'AveragePool':
                attrs['count_include_pad'] = int(a.get('count_include_pad', 0))
                p = attrs['pads']
                if (p[0], p[1]) != (p[2], p[3]) and not attrs['count_include_pad']:
                    raise ModelError(f"{what}: node '{name}' (AveragePool): asymmetric pads without count_include_pad are not supported")
            emit(Node('maxpool' if op == 'MaxPool' else 'avgpool', name, [n.input[0]], n.output[0], attrs))
        elif op == 'GlobalAveragePool':
            emit(Node('gap', name, [n.input[0]], n.output[0]))
        elif op == 'Add':
            for t in n.input:
                if t in consts:
                    raise ModelError(f"{what}: node '{name}' (Add): a constant operand ('{t}') is not supported, only tensor + tensor")
            emit(Node('add', name, list(n.input), n.output[0]))
        elif op == 'Flatten':
            emit(Node('flatten', name, [n.input[0]], n.output[0], {'axis': int(a.get('axis', 1))}))
        elif op == 'Reshape':
            shape = _ints(const(n.input[1], n, 'shape'))
            emit(Node('reshape', name, [n.input[0]], n.output[0], {'shape': shape}))
        elif op == 'Concat':
            for t in n.input:
                if t in consts:
                    raise ModelError(f"{what}: node '{name}' (Concat): a constant operand ('{t}') is not supported")
            emit(Node('concat', name, list(n.input), n.output[0], {'axis': int(a['axis'])}))
        elif op == 'Gemm':
            if int(a.get('transA', 0)) != 0:
                raise ModelError(f"{what}: node '{name}' (Gemm): transA = 1 is not supported")
            w = const(n.input[1], n, 'B').astype(np.float64)
            if w.ndim != 2:
                raise ModelError(f"{what}: node '{name}' (Gemm): B must be 2-D")
            if int(a.get('transB', 0)) == 0:
                w = w.T
            w = w * float(a.get('alpha', 1.0))
            b = None
            if len(n.input) > 2 and n.input[2]:
                c = const(n.input[2], n, 'C').astype(np.float64) * float(a.get('beta', 1.0))
                if c.size not in (1, w.shape[0]):
                    raise ModelError(f"{what}: node '{name}' (Gemm): C of shape {list(c.shape)} is not a per-output bias")
                b = np.broadcast_to(c.reshape(-1), (w.shape[0],)).astype(np.float32)
            emit(Node('linear', name, [n.input[0]], n.output[0], {}, weight=np.ascontiguousarray(w.astype(np.float32)), bias=b,
                      weight_name=n.input[1], bias_name=n.input[2] if b is not None else '', conv_name=name))
        elif op == 'MatMul':
            w = const(n.input[1], n, 'right operand').astype(np.float32)
            if w.ndim != 2:
                raise ModelError(f"{what}: node '{name}' (MatMul): the constant operand must be 2-D")
            emit(Node('linear', name, [n.input[0]], n.output[0], {}, weight=np.ascontiguousarray(w.T), bias=None,
                      weight_name=n.input[1], conv_name=name))
        else:
            raise ModelError(f"{what}: node '{name}' ({op}) is not supported (supported: Conv, BatchNormalization, Relu, Clip, "
                             'MaxPool, AveragePool, GlobalAveragePool, Add, Flatten, Reshape, Gemm, MatMul, Concat)')
    out = g.output[0].name
    if out not in producer:
        raise ModelError(f"{what}: graph output '{out}' is not computed by a supported node")
    return IR(g.name or 'model', inputs[0].name, in_dims, [out], {out: dims(g.output[0])}, nodes, opset)


# --- quantizer placement (the TypeScript integer graph's, int-graph-build.ts calibratedTensors) ---

def readers_of(ir):
    r = {}
    for n in ir.nodes:
        for t in n.inputs:
            r.setdefault(t, []).append(n)
    return r


def fused_activation(ir, node, readers):
    """The Relu/Clip that is `node`'s output's only reader (and the output is no graph output)."""
    rs = readers.get(node.output, [])
    if len(rs) != 1 or node.output in ir.outputs:
        return None
    return rs[0] if rs[0].op in ('relu', 'clip') else None


def quant_tensors(ir):
    """(owners, owner_of, fused): the tensors with their own quantizer (in graph order), the
    quantizer each tensor uses (inherited through pools, flatten, reshape, unfused relu/clip and
    one-input concat), and the fused activation of each conv/linear/add by node name."""
    readers = readers_of(ir)
    owners = [ir.input]
    owner_of = {ir.input: ir.input}
    fused = {}
    unsigned = {ir.input}
    for n in ir.nodes:
        if n.op in ('conv', 'linear', 'add'):
            act = fused_activation(ir, n, readers)
            if act is not None:
                fused[n.name] = act
                owners.append(act.output)
                owner_of[act.output] = act.output
                if act.op == 'relu' or (act.attrs.get('min') is not None and act.attrs['min'] >= 0):
                    unsigned.add(act.output)
            else:
                owners.append(n.output)
                owner_of[n.output] = n.output
        elif n.op == 'concat' and len(n.inputs) > 1:
            owners.append(n.output)
            owner_of[n.output] = n.output
        elif n.output not in owner_of:
            if n.inputs[0] not in owner_of:
                # the conv/add output whose fused activation this node is: handled with the conv
                continue
            owner_of[n.output] = owner_of[n.inputs[0]]
    return owners, owner_of, fused, unsigned


def layers_of(ir):
    return [n for n in ir.nodes if n.op in ('conv', 'linear')]


# --- float ops shared by the module and the reference executor ---

def conv2d(x, w, b, attrs):
    t, l, bt, r = attrs['pads']
    if (t, l) == (bt, r):
        return F.conv2d(x, w, b, stride=attrs['strides'], padding=(t, l), groups=attrs['group'])
    return F.conv2d(F.pad(x, (l, r, t, bt)), w, b, stride=attrs['strides'], groups=attrs['group'])


def maxpool(x, attrs):
    t, l, bt, r = attrs['pads']
    if (t, l) == (bt, r) and t <= attrs['kernel'][0] // 2 and l <= attrs['kernel'][1] // 2:
        return F.max_pool2d(x, attrs['kernel'], attrs['strides'], (t, l), ceil_mode=bool(attrs['ceil']))
    return F.max_pool2d(F.pad(x, (l, r, t, bt), value=-math.inf), attrs['kernel'], attrs['strides'], ceil_mode=bool(attrs['ceil']))


def avgpool(x, attrs):
    t, l, bt, r = attrs['pads']
    if (t, l) == (bt, r):
        return F.avg_pool2d(x, attrs['kernel'], attrs['strides'], (t, l), ceil_mode=bool(attrs['ceil']),
                            count_include_pad=bool(attrs['count_include_pad']))
    return F.avg_pool2d(F.pad(x, (l, r, t, bt)), attrs['kernel'], attrs['strides'], ceil_mode=bool(attrs['ceil']))


def reshape(x, shape):
    """Constant-shape Reshape; a leading 1/0/-1 whose rest matches one example is the batch dim."""
    shape = list(shape)
    shape = [x.shape[i] if s == 0 and i < x.dim() else s for i, s in enumerate(shape)]
    per = x[0].numel()
    if shape and shape[0] in (1, -1) and len(shape) > 1 and -1 not in shape[1:] and int(np.prod(shape[1:])) == per:
        shape[0] = x.shape[0]
    return x.reshape(shape)


def flatten(x, axis):
    return x.reshape(int(np.prod(x.shape[:axis])) if axis > 0 else 1, -1)


def clip(x, lo, hi):
    return torch.clamp(x, min=lo, max=hi)


# --- the trainable module ---

class QModel(nn.Module):
    """The IR as a torch module with fake quantizers.

    wbits: layer name -> weight bits; abits: owner tensor -> activation bits. Quantization is
    switched on with set_quant(True) after calibration."""

    def __init__(self, ir, wbits=None, abits=None):
        super().__init__()
        self.ir = ir
        self.owners, self.owner_of, self.fused, self.unsigned = quant_tensors(ir)
        self.layer_nodes = layers_of(ir)
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.wq = nn.ModuleList()
        self.layer_index = {}
        for i, n in enumerate(self.layer_nodes):
            self.layer_index[n.name] = i
            self.weights.append(nn.Parameter(torch.from_numpy(n.weight.copy())))
            b = n.bias if n.bias is not None else np.zeros(n.weight.shape[0], np.float32)
            p = nn.Parameter(torch.from_numpy(b.copy()))
            p.requires_grad_(n.bias is not None)
            self.biases.append(p)
            self.wq.append(WeightQuant(n.weight.shape[0], (wbits or {}).get(n.name, 8)))
        self.aq = nn.ModuleList()
        self.act_index = {}
        for i, t in enumerate(self.owners):
            self.act_index[t] = i
            self.aq.append(ActQuant(t, (abits or {}).get(t, 8), unsigned=t in self.unsigned))
        self.quant = False
        self.fused_names = {act.name for act in self.fused.values()}

    def act(self, tensor):
        return self.aq[self.act_index[tensor]]

    def set_quant(self, on):
        self.quant = on
        for q in self.aq:
            q.mode = 'quant' if on else 'off'
        for q in self.wq:
            q.enabled = on

    def set_observe(self):
        self.quant = False
        for q in self.aq:
            q.mode = 'observe'
            q.observed = [math.inf, -math.inf]
            q.abs_sum, q.abs_count = 0.0, 0
        for q in self.wq:
            q.enabled = False

    def layer_weight(self, i):
        return self.wq[i](self.weights[i])

    def layer_bias(self, i, node):
        b = self.biases[i]
        if not self.quant or self.layer_nodes[i].bias is None:
            return b if self.layer_nodes[i].bias is not None else None
        s_in = self.act(self.owner_of[node.inputs[0]]).scale
        return fake_bias(b, s_in, self.wq[i].scale)

    def _clamp_on_grid(self, x, node):
        """An unfused Relu/Clip on a quantized tensor: the harness clamps codes to
        [zp + round(lo/s), zp + round(hi/s)]; the same bounds as grid values."""
        lo, hi = node.attrs.get('min'), node.attrs.get('max')
        if node.op == 'relu':
            lo, hi = 0.0, None
        if not self.quant or node.inputs[0] not in self.owner_of:
            return clip(x, lo, hi)
        q = self.act(self.owner_of[node.inputs[0]])
        s = q.scale.detach()
        zp = q.zp
        b_lo = None if lo is None else float((max(q.qmin, min(q.qmax, zp + float(round_half_away(torch.tensor(lo, dtype=torch.float32) / s)))) - zp) * s)
        b_hi = None if hi is None else float((max(q.qmin, min(q.qmax, zp + float(round_half_away(torch.tensor(hi, dtype=torch.float32) / s)))) - zp) * s)
        return clip(x, b_lo, b_hi)

    def _pool_on_grid(self, y, tensor):
        """Average pools keep the input's quantizer: the harness rounds the mean of the codes half
        away from zero (TFLite integer pooling); the same on the grid, straight-through gradient."""
        if not self.quant:
            return y
        q = self.act(self.owner_of[tensor])
        s = q.scale
        codes = y / s + q.zp
        r = round_half_away(codes.detach())
        return (codes + (r - codes).detach() - q.zp) * s

    def forward(self, x, keep=None):
        env = {self.ir.input: self.act(self.ir.input)(x)}
        for n in self.ir.nodes:
            ins = [env[t] for t in n.inputs]
            if n.op in ('conv', 'linear'):
                i = self.layer_index[n.name]
                w, b = self.layer_weight(i), self.layer_bias(i, n)
                y = conv2d(ins[0], w, b, n.attrs) if n.op == 'conv' else F.linear(ins[0], w, b)
            elif n.op == 'add':
                y = ins[0] + ins[1]
            elif n.op in ('relu', 'clip'):
                if n.name in self.fused_names:
                    y = F.relu(ins[0]) if n.op == 'relu' else clip(ins[0], n.attrs['min'], n.attrs['max'])
                else:
                    y = self._clamp_on_grid(ins[0], n)
            elif n.op == 'maxpool':
                y = maxpool(ins[0], n.attrs)
            elif n.op == 'avgpool':
                y = self._pool_on_grid(avgpool(ins[0], n.attrs), n.inputs[0])
            elif n.op == 'gap':
                y = self._pool_on_grid(ins[0].mean(dim=(2, 3), keepdim=True), n.inputs[0])
            elif n.op == 'flatten':
                y = flatten(ins[0], n.attrs['axis'])
            elif n.op == 'reshape':
                y = reshape(ins[0], n.attrs['shape'])
            elif n.op == 'concat':
                y = torch.cat(ins, dim=n.attrs['axis'])
            else:
                raise AssertionError(n.op)
            if n.output in self.act_index:
                y = self.act(n.output)(y)
            env[n.output] = y
            if keep is not None:
                keep[n.output] = y
        return env[self.ir.outputs[0]]


# --- a reference executor of ONNX graphs (float ops and QuantizeLinear/DequantizeLinear) ---

def _np_round_half_even(x):
    return np.rint(x)


def run_onnx(model, x):
    """Runs an ONNX model (the subset above plus QuantizeLinear/DequantizeLinear) on input x
    (numpy float32); returns every tensor by name. QuantizeLinear and DequantizeLinear follow the
    ONNX operator specification in numpy: y = saturate(round_half_even(x / scale) + zp) in float32
    division; x = (q - zp) * scale, per tensor or per axis."""
    g = model.graph
    opset = next((o.version for o in model.opset_import if o.domain in ('', 'ai.onnx')), 13)
    env = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    inputs = [i for i in g.input if i.name not in env]
    env[inputs[0].name] = x
    for n in g.node:
        a = _attrs(n)
        ins = [env[t] if t else None for t in n.input]
        op = n.op_type
        if op == 'QuantizeLinear':
            scale = ins[1].astype(np.float32)
            zp = ins[2] if len(ins) > 2 and ins[2] is not None else np.zeros((), np.uint8)
            axis = int(a.get('axis', 1))
            if scale.ndim == 1:
                shape = [1] * ins[0].ndim
                shape[axis] = -1
                scale, zpv = scale.reshape(shape), zp.reshape(shape)
            else:
                zpv = zp
            info = np.iinfo(zp.dtype)
            q = _np_round_half_even((ins[0].astype(np.float32) / scale).astype(np.float32)) + zpv.astype(np.float32)
            y = np.clip(q, info.min, info.max).astype(zp.dtype)
        elif op == 'DequantizeLinear':
            scale = ins[1].astype(np.float32)
            zp = ins[2] if len(ins) > 2 and ins[2] is not None else np.zeros((), ins[0].dtype)
            axis = int(a.get('axis', 1))
            if scale.ndim == 1:
                shape = [1] * ins[0].ndim
                shape[axis] = -1
                scale, zp = scale.reshape(shape), zp.reshape(shape)
            y = ((ins[0].astype(np.int64) - zp.astype(np.int64)).astype(np.float32) * scale).astype(np.float32)
        else:
            tx = [torch.from_numpy(np.array(v)) if isinstance(v, np.ndarray) else v for v in ins]
            with torch.no_grad():
                if op == 'Conv':
                    attrs = {'pads': _ints(a.get('pads', [0, 0, 0, 0])), 'strides': _ints(a.get('strides', [1, 1])), 'group': int(a.get('group', 1))}
                    r = conv2d(tx[0], tx[1], tx[2] if len(tx) > 2 else None, attrs)
                elif op == 'Gemm':
                    w = tx[1] if int(a.get('transB', 0)) else tx[1].t()
                    r = F.linear(tx[0], w.contiguous(), tx[2] if len(tx) > 2 else None)
                elif op == 'MatMul':
                    r = tx[0] @ tx[1]
                elif op == 'BatchNormalization':
                    r = F.batch_norm(tx[0], tx[3], tx[4], tx[1], tx[2], False, 0.0, float(a.get('epsilon', 1e-5)))
                elif op == 'Relu':
                    r = F.relu(tx[0])
                elif op == 'Clip':
                    if opset >= 11:
                        lo = float(tx[1]) if len(tx) > 1 and tx[1] is not None else None
                        hi = float(tx[2]) if len(tx) > 2 and tx[2] is not None else None
                    else:
                        lo, hi = a.get('min'), a.get('max')
                    r = clip(tx[0], lo, hi)
                elif op == 'MaxPool':
                    r = maxpool(tx[0], {'kernel': _ints(a['kernel_shape']), 'strides': _ints(a.get('strides', [1, 1])),
                                        'pads': _ints(a.get('pads', [0, 0, 0, 0])), 'ceil': int(a.get('ceil_mode', 0))})
                elif op == 'AveragePool':
                    r = avgpool(tx[0], {'kernel': _ints(a['kernel_shape']), 'strides': _ints(a.get('strides', [1, 1])),
                                        'pads': _ints(a.get('pads', [0, 0, 0, 0])), 'ceil': int(a.get('ceil_mode', 0)),
                                        'count_include_pad': int(a.get('count_include_pad', 0))})
                elif op == 'GlobalAveragePool':
                    r = tx[0].mean(dim=(2, 3), keepdim=True)
                elif op == 'Add':
                    r = tx[0] + tx[1]
                elif op == 'Flatten':
                    r = flatten(tx[0], int(a.get('axis', 1)))
                elif op == 'Reshape':
                    r = reshape(tx[0], _ints(ins[1]))
                elif op == 'Concat':
                    r = torch.cat(tx, dim=int(a['axis']))
                elif op == 'Constant':
                    r = torch.from_numpy(numpy_helper.to_array(a['value']))
                else:
                    raise ModelError(f"run_onnx: node '{n.name}' ({op}) is not supported")
            y = r.numpy()
        env[n.output[0]] = y
    return env
