"""Fake quantizers whose arithmetic is the TypeScript integer graph's (harness/quant/calibrate.ts,
harness/quant/weights.ts), with Learned Step Size Quantization gradients.

Rounding everywhere is round half away from zero (std::round, the harness's roundHalfAwayFromZero),
NOT torch.round (half to even). It is computed exactly: t = trunc(x), f = x - t (exact in binary
floating point), r = t + sign(f) * (|f| >= 0.5). The textbook sign(x) * floor(|x| + 0.5) is wrong
in float32 just below 0.5 (0.5 - 2^-25 + 0.5 rounds up to 1.0).

Weights, per output channel o, b bits:   qmax = 2^(b-1) - 1
    code = clamp(round(w / s[o]), -qmax, qmax),  w_fq = code * s[o]
Activations, per tensor, b bits:         qmin = -2^(b-1), qmax = 2^(b-1) - 1, integer zero point zp
    q = clamp(round(x / s) + zp, qmin, qmax),   x_fq = (q - zp) * s
Bias of a conv/gemm (int32, zero point 0):
    code = round(b / (s_in * s_w[o]))  in float64 from the float32 scales,
    b_fq = float32(code) * float32(s_in * s_w[o])
which is what onnx DequantizeLinear computes from the exported int32 code and float32 scale.

Every division x / s is a float32 division (as onnx QuantizeLinear's x / y_scale), every product a
float32 product, so the exported QDQ model reproduces the fake-quant forward bit for bit except
where x / s is exactly a tie (QuantizeLinear rounds half to even; see README.md).

Gradients (Esser et al., "Learned Step Size Quantization", ICLR 2020): the straight-through
estimator for round; the clamp passes the gradient to x only where the unrounded x / s + zp lies in
[qmin, qmax]; the step size s gets, per element, round(x/s) - x/s inside the range and the clipped
code (qmin - zp or qmax - zp) outside, times the gradient scale g = 1 / sqrt(N * Q_P), N the
number of elements one step size quantizes per example (an activation tensor's features per image,
a weight channel's weights) and Q_P the largest positive step count (qmax for weights,
qmax - zp for activations, i.e. 2^b - 1 on an unsigned grid).
"""
import math

import numpy as np
import torch
import torch.nn as nn

MIN_BITS = 2
MAX_BITS = 8


def act_range(bits):
    """[qmin, qmax] of a b-bit activation code."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def weight_qmax(bits):
    """Largest |code| of a b-bit symmetric weight quantizer (-2^(b-1) is never used)."""
    return (1 << (bits - 1)) - 1


def round_half_away(x):
    """Round half away from zero, exact, for torch tensors (any float dtype):
    t = trunc(x); f = x - t (exact); trunc(2 f) is +-1 exactly when |f| >= 0.5, else 0."""
    t = torch.trunc(x)
    f = x - t
    return f.mul_(2).trunc_().add_(t)


def round_half_away_np(x):
    """The same for numpy arrays and scalars."""
    x = np.asarray(x)
    t = np.trunc(x)
    return t + np.trunc(2 * (x - t))


def round_half_away_py(x):
    """The same for one Python float (float64), as the harness's Math.sign(x) * Math.floor(|x| + 0.5)."""
    t = math.trunc(x)
    f = x - t
    return t + (1 if f >= 0.5 else -1 if f <= -0.5 else 0)


def choose_qparams(lo, hi, bits):
    """TFLite ChooseQuantizationParams on the b-bit code range, as calibrate.ts chooseQuantParams:
    [lo, hi] widened to contain 0, scale = (hi - lo) / (qmax - qmin) (float64),
    zp = clamp(round(qmin - lo / scale), qmin, qmax). An all-zero range gets scale 1, zp 0."""
    qmin, qmax = act_range(bits)
    lo = min(float(lo), 0.0)
    hi = max(float(hi), 0.0)
    if lo == hi:
        return 1.0, 0
    scale = (hi - lo) / (qmax - qmin)
    zp = int(max(qmin, min(qmax, round_half_away_py(qmin - lo / scale))))
    return scale, zp


class _ActFQ(torch.autograd.Function):
    """y = clamp(round(x / s), qmin - zp, qmax - zp) * s, which is (q - zp) * s of the module
    docstring (zp is an integer, so shifting the clamp bounds by zp is exact). Written with few
    elementwise passes: on a busy 2-core machine each parallel pass costs a scheduler slice."""

    @staticmethod
    def forward(ctx, x, s, lo, hi, g):
        xs = x / s
        c = round_half_away(xs).clamp_(lo, hi)
        ctx.save_for_backward(xs, c)
        ctx.lo, ctx.hi, ctx.g = lo, hi, g
        return c * s

    @staticmethod
    def backward(ctx, grad):
        xs, c = ctx.saved_tensors
        inside = (xs >= ctx.lo).logical_and_(xs <= ctx.hi)
        gx = grad * inside
        gs = None
        if ctx.needs_input_grad[1]:
            # inside: round(x/s) - x/s = c - x/s; outside: the clipped c. Sum of grad * that:
            gs = (torch.dot(grad.reshape(-1), c.reshape(-1)) - torch.dot(gx.reshape(-1), xs.reshape(-1))).reshape(()) * ctx.g
        return (gx if ctx.needs_input_grad[0] else None), gs, None, None, None


class _WeightFQ(torch.autograd.Function):
    @staticmethod
    def forward(ctx, w, s, qmax, g):
        shape = (-1,) + (1,) * (w.dim() - 1)
        sv = s.view(shape)
        ws = w / sv
        r = round_half_away(ws)
        q = torch.clamp(r, -qmax, qmax)
        inside = ws.abs() <= qmax
        ctx.save_for_backward(inside, r, ws, q)
        ctx.g = g
        return q * sv

    @staticmethod
    def backward(ctx, grad):
        inside, r, ws, q = ctx.saved_tensors
        gw = grad * inside.to(grad.dtype) if ctx.needs_input_grad[0] else None
        gs = None
        if ctx.needs_input_grad[1]:
            d = torch.where(inside, r - ws, q)
            gs = (grad * d).flatten(1).sum(1) * ctx.g
        return gw, gs, None, None


class _BiasFQ(torch.autograd.Function):
    """Forward: the int32-code bias dequantized in float32; backward: straight through to b only."""

    @staticmethod
    def forward(ctx, b, s_in, s_w):
        code, scale32 = bias_code(b, s_in, s_w)
        return code.to(torch.float32) * scale32

    @staticmethod
    def backward(ctx, grad):
        return grad, None, None


# The largest |bias code| our kernels take (harness/quant/weights.ts MAX_BIAS): a channel whose
# learned weight step shrinks towards 0 (a dead channel of a pruned model) would otherwise push
# its bias code past int32; the hardware's bias register saturates the same way.
MAX_BIAS_CODE = 2 ** 30


def bias_code(b, s_in, s_w):
    """(int32 code as float64 tensor, float32 scale[o] = float32(s_in * s_w[o])) of a bias,
    saturated at +-MAX_BIAS_CODE."""
    prod = s_in.detach().double() * s_w.detach().double()
    code = torch.clamp(round_half_away(b.detach().double() / prod), -MAX_BIAS_CODE, MAX_BIAS_CODE)
    return code, prod.to(torch.float32)


def weight_codes(w, s, bits):
    """int8 codes of a weight tensor (output channel first) at `bits` bits."""
    qmax = weight_qmax(bits)
    shape = (-1,) + (1,) * (w.dim() - 1)
    return torch.clamp(round_half_away(w.detach() / s.detach().view(shape)), -qmax, qmax).to(torch.int8)


def act_codes(x, s, zp, bits):
    """int8 codes of an activation tensor."""
    qmin, qmax = act_range(bits)
    return torch.clamp(round_half_away(x.detach() / s.detach()) + zp, qmin, qmax).to(torch.int8)


class ActQuant(nn.Module):
    """Per-tensor asymmetric activation fake quantizer with a learnable (LSQ) or fixed step size.

    mode: 'off' (identity), 'observe' (identity, records min/max), 'quant'.
    """

    def __init__(self, tensor, bits, unsigned=False):
        super().__init__()
        self.tensor = tensor
        self.bits = bits
        self.qmin, self.qmax = act_range(bits)
        self.zp = self.qmin if unsigned else 0
        self.unsigned = unsigned
        self.scale = nn.Parameter(torch.tensor(1.0, dtype=torch.float32))
        self.mode = 'off'
        self.observed = [math.inf, -math.inf]
        self.calibrated = None
        self.features = 1
        self.capture = None

    def set_from_range(self, lo, hi):
        s, zp = choose_qparams(lo, hi, self.bits)
        if self.unsigned:
            # A ReLU output or the input: never negative, the grid is unsigned (zp = qmin). lo >= 0
            # already gives that; a ReLU output observed all-zero would otherwise get zp 0.
            s, zp = choose_qparams(0.0, max(hi, 0.0), self.bits)
            zp = self.qmin
        with torch.no_grad():
            self.scale.fill_(float(np.float32(s)))
        self.zp = zp
        self.calibrated = [float(lo), float(hi)]

    def grad_scale(self):
        qp = max(1, self.qmax - self.zp)
        return 1.0 / math.sqrt(self.features * qp)

    def codes(self, x):
        return act_codes(x, self.scale, self.zp, self.bits)

    def forward(self, x):
        if self.mode == 'off':
            return x
        if self.mode == 'observe':
            self.observed[0] = min(self.observed[0], float(x.min()))
            self.observed[1] = max(self.observed[1], float(x.max()))
            self.abs_sum = getattr(self, 'abs_sum', 0.0) + float(x.detach().abs().double().sum())
            self.abs_count = getattr(self, 'abs_count', 0) + x.numel()
            return x
        self.features = max(1, x[0].numel())
        y = _ActFQ.apply(x, self.scale, float(self.qmin - self.zp), float(self.qmax - self.zp), self.grad_scale())
        if self.capture is not None:
            self.capture[self.tensor] = self.codes(x)
        return y

    def clamp_bounds(self):
        """float32 [lo, hi] whose codes are qmin and qmax: the Clip the QDQ export inserts."""
        s = self.scale.detach().to(torch.float32)
        return float((self.qmin - self.zp) * s), float((self.qmax - self.zp) * s)


class WeightQuant(nn.Module):
    """Per-output-channel symmetric weight fake quantizer (LSQ or fixed step sizes)."""

    def __init__(self, out_channels, bits):
        super().__init__()
        self.bits = bits
        self.qmax = weight_qmax(bits)
        self.scale = nn.Parameter(torch.ones(out_channels, dtype=torch.float32))
        self.enabled = False
        # Gradual quantization: True where a weight is quantized and frozen; None = all quantized.
        self.frozen = None

    def init_from(self, w, how='absmax'):
        """'absmax': s[o] = max |w[o]| / qmax (all-zero channel: 1), as weights.ts. 'lsq': the
        finer of that and LSQ's 2 mean|w[o]| / sqrt(qmax) (Esser et al., ICLR 2020)."""
        with torch.no_grad():
            a = w.detach().abs().flatten(1)
            m = a.max(1).values.double() / self.qmax
            if how == 'lsq':
                m = torch.minimum(m, 2.0 * a.double().mean(1) / math.sqrt(self.qmax))
            m[m == 0] = 1.0
            self.scale.copy_(m.to(torch.float32))

    def forward(self, w):
        if not self.enabled:
            return w
        g = 1.0 / math.sqrt(w[0].numel() * self.qmax)
        fq = _WeightFQ.apply(w, self.scale, float(self.qmax), g)
        if self.frozen is None:
            return fq
        return torch.where(self.frozen, fq, w)

    def codes(self, w):
        return weight_codes(w, self.scale, self.bits)


def fake_bias(b, s_in, s_w):
    return _BiasFQ.apply(b, s_in, s_w)
