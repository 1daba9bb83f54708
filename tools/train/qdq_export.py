"""The trained model as ONNX (opset 13): QDQ for the fake-quant model, plain float otherwise.

Tensor naming in the QDQ model (README.md has the full description). For a quantized tensor T
(named as in the input float model):
    T_float      the float value that enters the QuantizeLinear
    T_quantized  its int8 codes (QuantizeLinear output)
    T            DequantizeLinear output: what T's readers read, so the graph keeps its names
                 (the graph output `logits` is the DequantizeLinear of `logits_quantized`)
The graph input is the exception: `input` -> [Clip -> `input_clipped`] -> `input_quantized`
-> `input_dequantized`, which the first layers read.
A tensor of fewer than 8 bits gets Clip(s * (qmin - zp), s * (qmax - zp)) before its
QuantizeLinear: it replaces a fused Relu (zp = qmin, so its min is 0) or narrows a fused Clip;
with no fused activation the layer writes T_preclip and the Clip T_float.
Weights: `<w>_quantized` int8 (conv OIHW, gemm [out, in]), `<w>_scale` float32[out],
`<w>_zero_point` int8[out] zeros, DequantizeLinear axis 0 -> `<w>`. Bias likewise with int32 codes
and scale float32(s_in * s_w[o]).
"""
import hashlib
import os
import tempfile

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from quantizers import bias_code, round_half_away

OPSET = 13
FORMAT = 'qdq-v1'
INT32_LIMIT = 2 ** 31 - 1


def _dims(dims):
    return [d if d is not None else 'batch' for d in dims]


def bias_name_of(node, taken):
    if node.bias_name:
        return node.bias_name
    if node.weight_name.endswith('.weight'):
        cand = node.weight_name[:-len('.weight')] + '.bias'
        if cand not in taken:
            return cand
    return f'{node.name}.bias'


class _Builder:
    def __init__(self):
        self.nodes = []
        self.inits = []
        self.names = set()

    def init(self, name, array):
        if name in self.names:
            raise AssertionError(f'duplicate initializer {name}')
        self.names.add(name)
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op, inputs, output, name, **attrs):
        self.nodes.append(helper.make_node(op, inputs, [output], name=name, **attrs))
        return output


def build_onnx(model, quantized):
    """The ModelProto of a QModel (quantized: the QDQ form; else float)."""
    ir = model.ir
    b = _Builder()
    taken = {n.weight_name for n in model.layer_nodes} | {n.bias_name for n in model.layer_nodes if n.bias_name}
    meta = {'fkb.format': FORMAT if quantized else 'float-v1', 'fkb.producer': 'tools/train/qat.py'}
    rename = {}  # tensor -> name its readers use

    def read(t):
        return rename.get(t, t)

    def quantize(t, pre, producer_writes_float, act_node=None):
        """Emits [Clip] -> QuantizeLinear -> DequantizeLinear for owner t, whose float value is `pre`."""
        q = model.act(t)
        s = np.float32(q.scale.detach().item())
        b.init(f'{t}_scale', np.array(s, np.float32))
        b.init(f'{t}_zero_point', np.array(q.zp, np.int8))
        meta[f'fkb.activation_bits.{t}'] = str(q.bits)
        meta[f'fkb.activation_scale.{t}'] = repr(float(s))
        meta[f'fkb.activation_zero_point.{t}'] = str(q.zp)
        src = pre
        if q.bits < 8:
            lo, hi = q.clamp_bounds()
            if act_node is not None and act_node.op == 'clip':
                if act_node.attrs['min'] is not None:
                    lo = max(lo, float(np.float32(act_node.attrs['min'])))
                if act_node.attrs['max'] is not None:
                    hi = min(hi, float(np.float32(act_node.attrs['max'])))
            clip_name = act_node.name if act_node is not None else f'{t}_Clip'
            b.init(f'{t}_clip_min', np.array(lo, np.float32))
            b.init(f'{t}_clip_max', np.array(hi, np.float32))
            dst = f'{t}_clipped' if t == ir.input else f'{t}_float'
            src = b.node('Clip', [src, f'{t}_clip_min', f'{t}_clip_max'], dst, clip_name)
        b.node('QuantizeLinear', [src, f'{t}_scale', f'{t}_zero_point'], f'{t}_quantized', f'{t}_QuantizeLinear')
        out = f'{t}_dequantized' if t == ir.input else t
        b.node('DequantizeLinear', [f'{t}_quantized', f'{t}_scale', f'{t}_zero_point'], out, f'{t}_DequantizeLinear')
        rename[t] = out

    def clip_inputs(name, lo, hi):
        ins = ['', '']
        if lo is not None:
            ins[0] = b.init(f'{name}_min', np.array(lo, np.float32))
        if hi is not None:
            ins[1] = b.init(f'{name}_max', np.array(hi, np.float32))
        while ins and ins[-1] == '':
            ins.pop()
        return ins

    if quantized:
        quantize(ir.input, ir.input, False)

    fused_by_act = {act.name: layer for layer, act in model.fused.items()}
    pending = {}  # fused act node name -> float pre-activation tensor name the layer wrote
    for n in ir.nodes:
        owner_here = quantized and n.output in model.act_index
        if n.op in ('conv', 'linear'):
            i = model.layer_index[n.name]
            w = model.weights[i].detach()
            bias_tensor = model.biases[i].detach()
            has_bias = n.bias is not None
            bname = bias_name_of(n, taken) if has_bias else ''
            if quantized:
                wq = model.wq[i]
                codes = wq.codes(w).numpy()
                s_w = wq.scale.detach().numpy().astype(np.float32)
                b.init(f'{n.weight_name}_quantized', codes)
                b.init(f'{n.weight_name}_scale', s_w)
                b.init(f'{n.weight_name}_zero_point', np.zeros(len(s_w), np.int8))
                b.node('DequantizeLinear', [f'{n.weight_name}_quantized', f'{n.weight_name}_scale', f'{n.weight_name}_zero_point'],
                       n.weight_name, f'{n.weight_name}_DequantizeLinear', axis=0)
                meta[f'fkb.weight_bits.{n.name}'] = str(wq.bits)
                if has_bias:
                    s_in = model.act(model.owner_of[n.inputs[0]]).scale
                    code, scale32 = bias_code(bias_tensor, s_in, wq.scale)
                    if code.abs().max().item() > INT32_LIMIT:
                        raise RuntimeError(f"layer '{n.name}': a bias code exceeds the int32 range")
                    b.init(f'{bname}_quantized', code.numpy().astype(np.int32))
                    b.init(f'{bname}_scale', scale32.numpy().astype(np.float32))
                    b.init(f'{bname}_zero_point', np.zeros(len(s_w), np.int32))
                    b.node('DequantizeLinear', [f'{bname}_quantized', f'{bname}_scale', f'{bname}_zero_point'],
                           bname, f'{bname}_DequantizeLinear', axis=0)
            else:
                b.init(n.weight_name, w.numpy().astype(np.float32))
                if has_bias:
                    b.init(bname, bias_tensor.numpy().astype(np.float32))
            ins = [read(n.inputs[0]), n.weight_name] + ([bname] if has_bias else [])
            act = model.fused.get(n.name)
            if owner_here:
                out = f'{n.output}_preclip' if model.act(n.output).bits < 8 else f'{n.output}_float'
            else:
                out = n.output
            if n.op == 'conv':
                p = n.attrs['pads']
                b.node('Conv', ins, out, n.name, kernel_shape=list(n.weight.shape[2:]), pads=p, strides=n.attrs['strides'],
                       group=n.attrs['group'], dilations=[1, 1])
            else:
                b.node('Gemm', ins, out, n.name, transB=1)
            if owner_here:
                quantize(n.output, out, True)
            if act is not None:
                pending[act.name] = out
        elif n.op == 'add':
            out = n.output
            if owner_here:
                out = f'{n.output}_preclip' if model.act(n.output).bits < 8 else f'{n.output}_float'
            b.node('Add', [read(t) for t in n.inputs], out, n.name)
            if owner_here:
                quantize(n.output, out, True)
            act = model.fused.get(n.name)
            if act is not None:
                pending[act.name] = out
        elif n.op in ('relu', 'clip') and n.name in fused_by_act:
            src = pending.pop(n.name)
            if quantized and model.act(n.output).bits < 8:
                quantize(n.output, src, True, act_node=n)  # the Clip replaces the activation
            else:
                out = f'{n.output}_float' if quantized else n.output
                if n.op == 'relu':
                    b.node('Relu', [src], out, n.name)
                else:
                    b.node('Clip', [src] + clip_inputs(n.name, n.attrs['min'], n.attrs['max']), out, n.name)
                if quantized:
                    quantize(n.output, out, True)
        elif n.op in ('relu', 'clip'):
            lo, hi = (0.0, None) if n.op == 'relu' else (n.attrs['min'], n.attrs['max'])
            if quantized and n.inputs[0] in model.owner_of:
                q = model.act(model.owner_of[n.inputs[0]])
                s = q.scale.detach()

                def grid(v):
                    if v is None:
                        return None
                    c = max(q.qmin, min(q.qmax, q.zp + float(round_half_away(torch.tensor(v, dtype=torch.float32) / s))))
                    return float((c - q.zp) * s)
                lo, hi = grid(lo), grid(hi)
            if n.op == 'relu' and lo == 0.0 and hi is None:
                b.node('Relu', [read(n.inputs[0])], n.output, n.name)
            else:
                b.node('Clip', [read(n.inputs[0])] + clip_inputs(n.name, lo, hi), n.output, n.name)
        elif n.op == 'maxpool':
            a = n.attrs
            b.node('MaxPool', [read(n.inputs[0])], n.output, n.name, kernel_shape=a['kernel'], strides=a['strides'], pads=a['pads'], ceil_mode=a['ceil'])
        elif n.op == 'avgpool':
            a = n.attrs
            b.node('AveragePool', [read(n.inputs[0])], n.output, n.name, kernel_shape=a['kernel'], strides=a['strides'], pads=a['pads'],
                   ceil_mode=a['ceil'], count_include_pad=a['count_include_pad'])
        elif n.op == 'gap':
            b.node('GlobalAveragePool', [read(n.inputs[0])], n.output, n.name)
        elif n.op == 'flatten':
            b.node('Flatten', [read(n.inputs[0])], n.output, n.name, axis=n.attrs['axis'])
        elif n.op == 'reshape':
            shp = b.init(f'{n.name}_shape', np.array(n.attrs['shape'], np.int64))
            b.node('Reshape', [read(n.inputs[0]), shp], n.output, n.name)
        elif n.op == 'concat':
            out = n.output
            if owner_here:
                out = f'{n.output}_preclip' if model.act(n.output).bits < 8 else f'{n.output}_float'
            b.node('Concat', [read(t) for t in n.inputs], out, n.name, axis=n.attrs['axis'])
            if owner_here:
                quantize(n.output, out, True)
        else:
            raise AssertionError(n.op)
    out = ir.outputs[0]
    graph = helper.make_graph(
        b.nodes, ir.name, [helper.make_tensor_value_info(ir.input, TensorProto.FLOAT, _dims(ir.input_dims))],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, _dims(ir.output_dims[out]))], b.inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid('', OPSET)], producer_name='fpga-kernel-bench tools/train/qat.py')
    m.ir_version = 7
    helper.set_model_props(m, meta)
    onnx.checker.check_model(m)
    onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True)
    return m


def write_atomic(path, data):
    """Writes bytes to a temp file in the same folder, then os.replace: never half-written."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.', suffix='.tmp', dir=folder)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def export_onnx(model, path, quantized):
    """Builds, checks and atomically writes the model; returns its SHA-256 (hex) and size."""
    data = build_onnx(model, quantized).SerializeToString()
    write_atomic(path, data)
    return hashlib.sha256(data).hexdigest(), len(data)
