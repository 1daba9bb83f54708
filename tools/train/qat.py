#!/usr/bin/python3
"""Quantization-aware training of a float ONNX CNN on Fashion-MNIST, exported as QDQ ONNX.

Fake quantizers equal the TypeScript integer graph's arithmetic (quantizers.py); step sizes
learned with LSQ or kept at their calibrated values; optional knowledge distillation from the
float model, gradual (INQ-style) weight quantization, and plain float fine-tuning of a pruned
model. See tools/train/README.md for the options, the outputs and their formats.

    /usr/bin/python3 tools/train/qat.py --wbits 4 --abits 4 --epochs 1 --out-dir /tmp/q
    /usr/bin/python3 tools/train/qat.py --selftest

stdout: one JSON object per line (progress, epoch, done, error). stderr: human-readable text.
Exit codes: 0 ok, 1 failure, 2 bad options or files (the message names the option or file).
"""
import argparse
import hashlib
import json
import math
import os
import platform
import sys
import time

# libgomp's threads spin while waiting for work by default; on a busy shared machine a spinning
# thread that is descheduled stalls every parallel op for a scheduler slice (measured here: an
# elementwise op on 400k floats took 3-8 ms instead of 0.2 ms with 2 threads). PASSIVE makes them
# sleep. Must be set before torch is imported; an explicit setting in the environment wins.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_MODEL = os.path.join(REPO, 'models', 'fashion-mnist', 'cnn.onnx')
INSTALL_HINT = 'apt-get install -y python3-torch python3-onnx dataset-fashion-mnist'
TRAIN_COUNT = 60000
TEST_COUNT = 10000
# Forward passes without training in batches of 250: batches of 1000 (50 MB activations) ran 3-5x slower here.
EVAL_BATCH = 250


class UsageError(Exception):
    """Bad options or input files: exit code 2."""


def emit(obj):
    sys.stdout.write(json.dumps(obj, separators=(',', ':')) + '\n')
    sys.stdout.flush()


def say(text):
    sys.stderr.write(text + '\n')
    sys.stderr.flush()


# --- options ---------------------------------------------------------------------------------

class Parser(argparse.ArgumentParser):
    def error(self, message):
        emit({'event': 'error', 'code': 2, 'message': message})
        self.print_usage(sys.stderr)
        say(f'{self.prog}: error: {message}')
        sys.exit(2)


def build_parser():
    p = Parser(prog='qat.py', description='Quantization-aware training (LSQ / STE, KD, gradual) of a float ONNX CNN on '
               'Fashion-MNIST, exported as QDQ ONNX. stdout: JSON lines; stderr: text.')
    p.add_argument('--selftest', action='store_true', help='fast self-check without data; prints a JSON summary; exit 1 on failure')
    p.add_argument('--model', default=DEFAULT_MODEL, help='float ONNX model to start from (default models/fashion-mnist/cnn.onnx)')
    p.add_argument('--teacher', default=None, help='float ONNX teacher for --kd (default: --model)')
    p.add_argument('--mode', default='qat', help="'qat' (default): fake-quant training, QDQ export; 'float': plain fine-tuning, float export")
    p.add_argument('--wbits', default='4', help='default weight bits, 2..8 (default 4)')
    p.add_argument('--abits', default='4', help='default activation bits, 2..8 (default 4)')
    p.add_argument('--keep-8bit', default='first,last', help="layers kept at 8 bits: 'first,last' (default), 'first', 'last' or 'none'")
    p.add_argument('--layer-wbits', default='', help='per-layer weight bits, name=B,... (name: the layer or its Conv/Gemm node)')
    p.add_argument('--layer-abits', default='', help='per-tensor activation bits, tensor=B,... (a quantized tensor name)')
    p.add_argument('--scales', default='lsq', help="'lsq' (default): learned step sizes; 'calibrated': fixed calibrated/absmax scales")
    p.add_argument('--act-init', default='minmax', help="initial step sizes: 'minmax' (default: activation min/max, weight absmax) or 'lsq' (LSQ's 2 mean|x| / sqrt(Q_P) where finer, weights and activations)")
    p.add_argument('--kd', action='store_true', help='knowledge distillation from the float teacher')
    p.add_argument('--kd-alpha', default='0.9', help='weight of the distillation term, in [0, 1] (default 0.9)')
    p.add_argument('--kd-temperature', default='4', help='softmax temperature T > 0 (default 4)')
    p.add_argument('--gradual', action='store_true', help='gradual (INQ-style) weight quantization in stages')
    p.add_argument('--gradual-shares', default='0.5,0.75,0.875,1', help='quantized share per stage, increasing, ending at 1')
    p.add_argument('--epochs', default='2', help='training epochs, >= 0 (default 2; 0: calibrate and export only)')
    p.add_argument('--lr', default=None, help='peak learning rate (default 1e-4 for adam, 1e-3 for sgd); cosine decay to 0')
    p.add_argument('--optimizer', default='adam', help="'adam' (default) or 'sgd' (momentum 0.9)")
    p.add_argument('--batch', default='128', help='mini-batch size (default 128)')
    p.add_argument('--seed', default='1', help='torch.manual_seed and shuffle seed (default 1)')
    p.add_argument('--threads', default='2', help='torch threads (default 2)')
    p.add_argument('--train-images', default=str(TRAIN_COUNT), help=f'use the first N training images (default all {TRAIN_COUNT})')
    p.add_argument('--val-images', default='0', help='hold out the last N training images (indices 60000-N..59999) as a '
                   'validation set, evaluated every epoch, for choosing settings without the test set (default 0)')
    p.add_argument('--calib-images', default='1000', help='calibrate on the first N training images (default 1000)')
    p.add_argument('--eval-images', default=str(TEST_COUNT), help=f'evaluate on test (t10k) images 0..N-1 (default all {TEST_COUNT})')
    p.add_argument('--dump-codes', default='0', help='write <name>.codes.bin with the codes of the first N test images (default 0: none)')
    p.add_argument('--out-dir', default='.', help='output folder (created if missing; default .)')
    p.add_argument('--name', default=None, help='output base name (default cnn-w<W>a<A>, or cnn-float)')
    return p


def _int(args, opt, lo, hi):
    raw = getattr(args, opt.lstrip('-').replace('-', '_'))
    try:
        v = int(raw, 10)
    except (TypeError, ValueError):
        raise UsageError(f'{opt} must be an integer in [{lo}, {hi}], got {raw!r}')
    if not lo <= v <= hi:
        raise UsageError(f'{opt} must be an integer in [{lo}, {hi}], got {v}')
    return v


def _float(args, opt, ok, what):
    raw = getattr(args, opt.lstrip('-').replace('-', '_'))
    try:
        v = float(raw)
    except (TypeError, ValueError):
        raise UsageError(f'{opt} must be {what}, got {raw!r}')
    if not (math.isfinite(v) and ok(v)):
        raise UsageError(f'{opt} must be {what}, got {raw}')
    return v


def _pairs(raw, opt):
    out = {}
    for item in [x for x in raw.split(',') if x.strip()]:
        if '=' not in item:
            raise UsageError(f"{opt}: expected name=B, got '{item}'")
        k, v = item.rsplit('=', 1)
        try:
            b = int(v, 10)
        except ValueError:
            raise UsageError(f"{opt}: bits of '{k}' must be an integer in [2, 8], got '{v}'")
        if not 2 <= b <= 8:
            raise UsageError(f"{opt}: bits of '{k}' must be an integer in [2, 8], got {b}")
        out[k.strip()] = b
    return out


def check_options(args):
    o = argparse.Namespace()
    o.mode = args.mode
    if o.mode not in ('qat', 'float'):
        raise UsageError(f"--mode must be 'qat' or 'float', got '{args.mode}'")
    o.wbits = _int(args, '--wbits', 2, 8)
    o.abits = _int(args, '--abits', 2, 8)
    keep = [k.strip() for k in args.keep_8bit.split(',') if k.strip()]
    if keep == ['none']:
        keep = []
    bad = [k for k in keep if k not in ('first', 'last')]
    if bad:
        raise UsageError(f"--keep-8bit takes 'first', 'last', 'first,last' or 'none', got '{args.keep_8bit}'")
    o.keep8 = keep
    o.layer_wbits = _pairs(args.layer_wbits, '--layer-wbits')
    o.layer_abits = _pairs(args.layer_abits, '--layer-abits')
    if args.scales not in ('lsq', 'calibrated'):
        raise UsageError(f"--scales must be 'lsq' or 'calibrated', got '{args.scales}'")
    o.scales = args.scales
    if args.act_init not in ('minmax', 'lsq'):
        raise UsageError(f"--act-init must be 'minmax' or 'lsq', got '{args.act_init}'")
    o.act_init = args.act_init
    o.kd = args.kd
    o.kd_alpha = _float(args, '--kd-alpha', lambda v: 0 <= v <= 1, 'a number in [0, 1]')
    o.kd_t = _float(args, '--kd-temperature', lambda v: v > 0, 'a number > 0')
    o.gradual = args.gradual
    try:
        o.shares = [float(x) for x in args.gradual_shares.split(',') if x.strip()]
    except ValueError:
        raise UsageError(f"--gradual-shares must be increasing numbers in (0, 1] ending at 1, got '{args.gradual_shares}'")
    if not o.shares or o.shares[-1] != 1 or any(not 0 < s <= 1 for s in o.shares) or any(a >= b for a, b in zip(o.shares, o.shares[1:])):
        raise UsageError(f"--gradual-shares must be increasing numbers in (0, 1] ending at 1, got '{args.gradual_shares}'")
    if o.gradual and o.mode == 'float':
        raise UsageError('--gradual needs --mode qat (there is nothing to quantize in --mode float)')
    o.epochs = _int(args, '--epochs', 0, 10000)
    if args.optimizer not in ('adam', 'sgd'):
        raise UsageError(f"--optimizer must be 'adam' or 'sgd', got '{args.optimizer}'")
    o.optimizer = args.optimizer
    if args.lr is None:
        args.lr = '1e-4' if o.optimizer == 'adam' else '1e-3'
    o.lr = _float(args, '--lr', lambda v: v > 0, 'a number > 0')
    o.batch = _int(args, '--batch', 1, 65536)
    o.seed = _int(args, '--seed', 0, 2 ** 31 - 1)
    o.threads = _int(args, '--threads', 1, 256)
    o.train_images = _int(args, '--train-images', 1, TRAIN_COUNT)
    o.calib_images = _int(args, '--calib-images', 1, TRAIN_COUNT)
    o.val_images = _int(args, '--val-images', 0, TRAIN_COUNT - 1)
    if o.calib_images > TRAIN_COUNT - o.val_images:
        raise UsageError(f'--calib-images ({o.calib_images}) must not reach into the --val-images ({o.val_images}) held-out images')
    o.eval_images = _int(args, '--eval-images', 1, TEST_COUNT)
    o.dump_codes = _int(args, '--dump-codes', 0, TEST_COUNT)
    if o.dump_codes and o.mode != 'qat':
        raise UsageError('--dump-codes needs --mode qat (a float model has no codes)')
    if o.dump_codes > o.eval_images:
        raise UsageError(f'--dump-codes ({o.dump_codes}) must not exceed --eval-images ({o.eval_images}): the dump is taken from the evaluated images')
    if args.name is None:
        base = os.path.splitext(os.path.basename(args.model))[0]
        args.name = f'{base}-float' if o.mode == 'float' else f'{base}-w{o.wbits}a{o.abits}'
    if not args.name or '/' in args.name or args.name in ('.', '..') or '\0' in args.name:
        raise UsageError(f"--name must be a plain file name (no '/'), got '{args.name}'")
    o.name = args.name
    o.out_dir = args.out_dir
    if os.path.exists(o.out_dir) and not os.path.isdir(o.out_dir):
        raise UsageError(f"--out-dir '{o.out_dir}' exists and is not a folder")
    o.model = args.model
    o.teacher = args.teacher or args.model
    for opt, path in (('--model', o.model), ('--teacher', o.teacher)):
        if not os.path.isfile(path):
            raise UsageError(f"{opt} '{path}': no such file (expected a float ONNX model)")
    return o


# --- data --------------------------------------------------------------------------------------

def load_data(train_count, test_count):
    """(train x, train y, test x, test y) as float32 [N,1,28,28] = pixel/255 and int64 labels,
    through train_fashion_mnist.read_idx (exit 2 naming the file when it is missing)."""
    import numpy as np
    import torch
    import train_fashion_mnist as tfm
    for name in ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'):
        if not any(os.path.exists(os.path.join(tfm.DATA_DIR, name + ext)) for ext in ('', '.gz')):
            raise UsageError(f'{os.path.join(tfm.DATA_DIR, name)}[.gz]: not found (Fashion-MNIST IDX file): {INSTALL_HINT}')

    def read(name):
        try:
            return tfm.read_idx(name)
        except SystemExit as e:  # read_idx exits with a message on a malformed file
            raise UsageError(str(e.code))
    train_x = tfm.to_input(read('train-images-idx3-ubyte')[:train_count])
    train_y = torch.from_numpy(read('train-labels-idx1-ubyte')[:train_count].astype(np.int64))
    test_x = tfm.to_input(read('t10k-images-idx3-ubyte')[:test_count])
    test_y = torch.from_numpy(read('t10k-labels-idx1-ubyte')[:test_count].astype(np.int64))
    return train_x, train_y, test_x, test_y


# --- bit widths ----------------------------------------------------------------------------------

def assign_bits(ir, o):
    """(wbits by layer name, abits by quantized tensor, descriptions for the record)."""
    from onnx_torch import layers_of, quant_tensors
    owners, owner_of, fused, unsigned = quant_tensors(ir)
    layers = layers_of(ir)
    if not layers:
        raise UsageError(f"--model '{o.model}': no Conv/Gemm/MatMul layer to quantize")
    wbits = {n.name: o.wbits for n in layers}
    abits = {t: o.abits for t in owners}
    if 'first' in o.keep8:
        wbits[layers[0].name] = 8
        abits[owner_of[layers[0].inputs[0]]] = 8
    if 'last' in o.keep8:
        wbits[layers[-1].name] = 8
        abits[owner_of[layers[-1].inputs[0]]] = 8
    for out in ir.outputs:
        abits[owner_of[out]] = 8  # the logits are always 8-bit
    alias = {}
    for n in layers:
        alias[n.name] = n.name
        alias.setdefault(n.conv_name, n.name)
    for k, b in o.layer_wbits.items():
        if k not in alias:
            raise UsageError(f"--layer-wbits: no layer '{k}' (layers: {', '.join(n.name for n in layers)})")
        wbits[alias[k]] = b
    for k, b in o.layer_abits.items():
        if k not in abits:
            raise UsageError(f"--layer-abits: no quantized tensor '{k}' (tensors: {', '.join(owners)})")
        abits[k] = b
    return wbits, abits


# --- training ------------------------------------------------------------------------------------

def batches(n, size):
    return [(i, min(n, i + size)) for i in range(0, n, size)]


def evaluate(model, x, y, batch=EVAL_BATCH, capture_first=0):
    """(correct, logits) of the model on x; with capture_first, also the codes of every quantized
    tensor of the first capture_first images, taken from the same forward passes."""
    import torch
    correct = 0
    captured = []
    with torch.no_grad():
        for a, b in batches(len(x), batch):
            cap = None
            if a < capture_first:
                cap = {}
                for q in model.aq:
                    q.capture = cap
            out = model(x[a:b])
            for q in model.aq:
                q.capture = None
            if cap is not None:
                captured.append({k: v[:max(0, capture_first - a)] for k, v in cap.items()})
            correct += int((out.argmax(1) == y[a:b]).sum())
    codes = None
    if capture_first:
        codes = {k: torch.cat([c[k] for c in captured]) for k in captured[0]}
    return correct, codes


def calibrate(model, x, say_progress, act_init='minmax'):
    """Activation ranges from training images. 'minmax': the observed [min, max]. 'lsq': the
    LSQ initial step s = 2 mean|x| / sqrt(2^b - 1) (Esser et al., ICLR 2020, section 2.1) when it
    is finer than min/max's, as [min, max] shrunk by the ratio of the two steps (the zero point
    stays where min/max puts it); at 2 bits min/max leaves almost every value in one code. The
    weight steps follow the same choice (WeightQuant.init_from)."""
    import torch
    model.set_observe()
    with torch.no_grad():
        for a, b in batches(len(x), EVAL_BATCH):
            model(x[a:b])
    for q in model.aq:
        if q.tensor == model.ir.input:
            q.set_from_range(0.0, 1.0)  # the input is pixel / 255 in [0, 1]
            continue
        lo, hi = min(q.observed[0], 0.0), max(q.observed[1], 0.0)
        if act_init == 'lsq' and q.abs_count > 0 and hi > lo:
            levels = 2 ** q.bits - 1
            s_lsq = 2.0 * (q.abs_sum / q.abs_count) / math.sqrt(levels)
            s_mm = (hi - lo) / levels
            if 0 < s_lsq < s_mm:
                lo, hi = lo * s_lsq / s_mm, hi * s_lsq / s_mm
        q.set_from_range(lo, hi)
    for i, q in enumerate(model.wq):
        q.init_from(model.weights[i], 'lsq' if act_init == 'lsq' else 'absmax')
    model.set_quant(True)
    say_progress()


def freeze_share(model, share):
    """Gradual quantization: per layer, the largest-magnitude weights up to `share` of the layer
    are quantized and frozen (Zhou et al., INQ); the rest stays float."""
    import torch
    for i, wq in enumerate(model.wq):
        w = model.weights[i]
        n = w.numel()
        if wq.frozen is None:
            wq.frozen = torch.zeros_like(w, dtype=torch.bool)
        target = n if share >= 1 else int(round(share * n))
        need = target - int(wq.frozen.sum())
        if need > 0:
            mag = w.detach().abs().flatten().clone()
            mag[wq.frozen.flatten()] = -1.0
            order = torch.sort(mag, descending=True, stable=True).indices[:need]
            flat = wq.frozen.flatten().clone()
            flat[order] = True
            wq.frozen = flat.view_as(w)
        with torch.no_grad():
            wq.enabled = True
            fq = wq(w)  # where(frozen, fake-quant, w)
            w.copy_(fq)
        wq.frozen_values = w.detach().clone()


def train(model, teacher_logits, data, o, history, run_eval, run_val):
    import torch
    import torch.nn.functional as F
    train_x, train_y = data
    n = len(train_x)
    steps_per_epoch = (n + o.batch - 1) // o.batch
    total = steps_per_epoch * o.epochs
    lsq = o.mode == 'qat' and o.scales == 'lsq'
    for q in model.aq:
        q.scale.requires_grad_(lsq and q.tensor != model.ir.input)
    for q in model.wq:
        q.scale.requires_grad_(lsq and not o.gradual)
    params = [p for p in model.parameters() if p.requires_grad]
    if o.optimizer == 'adam':
        opt = torch.optim.Adam(params, lr=o.lr)
    else:
        opt = torch.optim.SGD(params, lr=o.lr, momentum=0.9)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 0.5 * (1 + math.cos(math.pi * min(k, total) / max(1, total))))
    stage_starts = []
    if o.gradual:
        s = len(o.shares)
        stage_starts = [int(round(total * k / s)) for k in range(s)]
    stage = -1
    step = 0
    train_seconds = 0.0
    for epoch in range(o.epochs):
        t0 = time.time()
        order = torch.randperm(n, generator=torch.Generator().manual_seed(o.seed * 1000 + epoch))
        loss_sum = 0.0
        for k, (a, b) in enumerate(batches(n, o.batch)):
            while o.gradual and stage + 1 < len(stage_starts) and step >= stage_starts[stage + 1]:
                stage += 1
                freeze_share(model, o.shares[stage])
                emit({'event': 'stage', 'stage': 'gradual', 'gradualStage': stage + 1, 'gradualStages': len(o.shares),
                      'share': o.shares[stage], 'step': step, 'epoch': epoch + 1})
                say(f'gradual stage {stage + 1}/{len(o.shares)}: {100 * o.shares[stage]:g} % of each layer quantized and frozen')
            idx = order[a:b]
            x, y = train_x[idx], train_y[idx]
            out = model(x)
            ce = F.cross_entropy(out, y)
            if teacher_logits is not None:
                t = teacher_logits[idx]
                T = o.kd_t
                kl = F.kl_div(F.log_softmax(out / T, 1), F.log_softmax(t / T, 1), log_target=True, reduction='batchmean')
                loss = (1 - o.kd_alpha) * ce + o.kd_alpha * T * T * kl
            else:
                loss = ce
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if o.gradual:
                for i, wq in enumerate(model.wq):
                    g = model.weights[i].grad
                    if g is not None:
                        g.masked_fill_(wq.frozen, 0.0)
            opt.step()
            sched.step()
            with torch.no_grad():
                for q in list(model.aq) + list(model.wq):
                    if q.scale.requires_grad:
                        q.scale.clamp_(min=1e-8)
                if o.gradual:
                    for i, wq in enumerate(model.wq):
                        model.weights[i].copy_(torch.where(wq.frozen, wq.frozen_values, model.weights[i]))
            lv = float(loss)
            if not math.isfinite(lv):
                raise RuntimeError(f'the loss became {lv} at epoch {epoch + 1}, step {k + 1}: lower --lr')
            loss_sum += lv * (b - a)
            step += 1
            if (k + 1) % 20 == 0 or k + 1 == steps_per_epoch:
                ev = {'event': 'progress', 'stage': 'train', 'epoch': epoch + 1, 'epochs': o.epochs, 'step': k + 1,
                      'steps': steps_per_epoch, 'loss': round(lv, 6)}
                if o.gradual:
                    ev['gradualStage'] = stage + 1
                emit(ev)
        dt = time.time() - t0
        train_seconds += dt
        t1 = time.time()
        correct, total_eval = run_eval()
        top1 = correct / total_eval
        val = run_val()
        entry = {'epoch': epoch + 1, 'loss': loss_sum / n, 'top1': top1, 'correct': correct, 'seconds': round(dt, 2),
                 'evalSeconds': round(time.time() - t1, 2)}
        if val is not None:
            entry['valTop1'] = val
        if o.gradual:
            entry['gradualStage'] = stage + 1
        history.append(entry)
        emit({'event': 'epoch', 'epoch': epoch + 1, 'epochs': o.epochs, 'loss': round(entry['loss'], 6), 'top1': top1,
              'correct': correct, 'images': total_eval, 'seconds': round(dt, 2), **({'valTop1': val} if val is not None else {})})
        say(f'epoch {epoch + 1}/{o.epochs}: loss {entry["loss"]:.4f}, test top-1 {100 * top1:.2f} % ({correct}/{total_eval}), {dt:.1f} s')
    if o.gradual and stage + 1 < len(o.shares):
        # fewer steps than stages: the remaining stages are applied at the end, fully quantized
        for s in range(stage + 1, len(o.shares)):
            freeze_share(model, o.shares[s])
    return train_seconds


def main_run(o, argv):
    import numpy as np
    import onnx
    import torch
    from onnx_torch import ModelError, QModel, load_ir
    from qdq_export import export_onnx, write_atomic
    import codes_dump

    torch.set_num_threads(o.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(o.seed)
    torch.use_deterministic_algorithms(True)
    try:
        ir = load_ir(o.model)
        teacher_ir = ir if o.teacher == o.model else load_ir(o.teacher)
    except ModelError as e:
        raise UsageError(str(e))
    wbits, abits = assign_bits(ir, o)
    try:
        os.makedirs(o.out_dir, exist_ok=True)
    except OSError as e:
        raise UsageError(f"--out-dir '{o.out_dir}': cannot create the folder ({e.strerror})")

    started = time.time()
    train_x, train_y, test_x, test_y = load_data(TRAIN_COUNT, o.eval_images)
    calib_x = train_x[:o.calib_images]
    val_x, val_y = train_x[TRAIN_COUNT - o.val_images:], train_y[TRAIN_COUNT - o.val_images:]
    n_train = min(o.train_images, TRAIN_COUNT - o.val_images)
    train_x, train_y = train_x[:n_train], train_y[:n_train]
    say(f'{o.model}: {len(ir.nodes)} nodes after folding batch norms, {len(wbits)} layers; train {len(train_x)}, '
        f'validation {len(val_x)}, '
        f'calibration {len(calib_x)}, test {len(test_x)} (t10k 0..{len(test_x) - 1}); torch {torch.__version__}, {o.threads} threads')

    model = QModel(ir, wbits if o.mode == 'qat' else None, abits if o.mode == 'qat' else None)
    teacher = QModel(teacher_ir)
    teacher.set_quant(False)
    for p in teacher.parameters():
        p.requires_grad_(False)
    if teacher_ir.input_dims[1:] != ir.input_dims[1:]:
        raise UsageError(f"--teacher '{o.teacher}': input dims {teacher_ir.input_dims} differ from the model's {ir.input_dims}")

    def run_eval(m=None):
        m = m or model
        c, _ = evaluate(m, test_x, test_y)
        return c, len(test_x)

    def run_val():
        return evaluate(model, val_x, val_y)[0] / len(val_x) if len(val_x) else None

    record = {
        'format': 'fkb-qat-record-v1',
        'command': [sys.executable, os.path.relpath(os.path.abspath(__file__), REPO)] + argv,
        'mode': o.mode,
        'model': o.model,
        'modelSha256': hashlib.sha256(open(o.model, 'rb').read()).hexdigest(),
        'teacher': o.teacher if o.kd else None,
        'scales': o.scales if o.mode == 'qat' else None,
        'defaults': {'weightBits': o.wbits, 'activationBits': o.abits, 'keep8bit': o.keep8},
        'epochs': o.epochs, 'seed': o.seed, 'lr': o.lr, 'optimizer': o.optimizer, 'schedule': 'cosine decay to 0 per step',
        'batch': o.batch, 'threads': o.threads, 'ompWaitPolicy': os.environ.get('OMP_WAIT_POLICY'),
        'kd': {'enabled': o.kd, 'alpha': o.kd_alpha, 'temperature': o.kd_t} if o.kd else {'enabled': False},
        'gradual': {'enabled': o.gradual, 'shares': o.shares} if o.gradual else {'enabled': False},
        'trainImages': {'count': len(train_x), 'set': 'train', 'indices': [0, len(train_x) - 1]},
        'validationImages': {'count': len(val_x), 'set': 'train', 'indices': [TRAIN_COUNT - len(val_x), TRAIN_COUNT - 1]} if len(val_x) else None,
        'calibration': {'count': len(calib_x), 'set': 'train', 'indices': [0, len(calib_x) - 1], 'observer': o.act_init,
                        'inputRange': [0.0, 1.0]} if o.mode == 'qat' else None,
        'evalImages': {'count': len(test_x), 'set': 't10k', 'indices': [0, len(test_x) - 1]},
        'torch': torch.__version__, 'onnxVersion': onnx.__version__, 'numpy': np.__version__, 'python': platform.python_version(),
    }

    t0 = time.time()
    teacher_correct, _ = run_eval(teacher)
    record['teacherTop1'] = teacher_correct / len(test_x)
    record['teacherCorrect'] = teacher_correct
    emit({'event': 'progress', 'stage': 'teacher-eval', 'top1': record['teacherTop1'], 'seconds': round(time.time() - t0, 2)})
    say(f'float teacher top-1 {100 * record["teacherTop1"]:.2f} % ({teacher_correct}/{len(test_x)})')

    if o.mode == 'qat':
        calibrate(model, calib_x, lambda: emit({'event': 'progress', 'stage': 'calibrate', 'images': len(calib_x)}), o.act_init)
        c, _ = run_eval()
        record['ptqTop1'] = c / len(test_x)
        record['ptqCorrect'] = c
        emit({'event': 'progress', 'stage': 'ptq-eval', 'top1': record['ptqTop1']})
        record['ptqValTop1'] = run_val()
        say(f'calibrated fake-quant model before training: top-1 {100 * record["ptqTop1"]:.2f} % ({c}/{len(test_x)})')

    teacher_logits = None
    if o.kd:
        with torch.no_grad():
            teacher_logits = torch.cat([teacher(train_x[a:b]) for a, b in batches(len(train_x), EVAL_BATCH)])
        emit({'event': 'progress', 'stage': 'teacher-logits', 'images': len(train_x)})

    history = []
    train_seconds = train(model, teacher_logits, (train_x, train_y), o, history, run_eval, run_val)
    record['trainSeconds'] = round(train_seconds, 2)
    record['history'] = history

    correct, codes = evaluate(model, test_x, test_y, capture_first=o.dump_codes if o.mode == 'qat' else 0)
    record['top1'] = correct / len(test_x)
    record['correct'] = correct
    record['top1Of'] = 'fake-quant model (the QDQ model\'s float32 forward)' if o.mode == 'qat' else 'float model'
    say(f'final top-1 {100 * record["top1"]:.2f} % ({correct}/{len(test_x)} of t10k 0..{len(test_x) - 1})')

    layers = []
    for i, n in enumerate(model.layer_nodes):
        layers.append({'name': n.name, 'node': n.conv_name, 'op': 'Conv' if n.op == 'conv' else 'Gemm',
                       'weightBits': model.wq[i].bits if o.mode == 'qat' else None,
                       'input': n.inputs[0], 'output': n.output, 'outChannels': int(n.weight.shape[0])})
    record['layers'] = layers
    if o.mode == 'qat':
        record['activations'] = [{
            'tensor': q.tensor, 'bits': q.bits, 'scale': float(q.scale.detach()), 'zeroPoint': q.zp, 'qmin': q.qmin, 'qmax': q.qmax,
            'unsigned': q.unsigned, 'calibratedRange': q.calibrated, 'learned': bool(q.scale.requires_grad),
        } for q in model.aq]

    onnx_path = os.path.join(o.out_dir, o.name + '.onnx')
    sha, size = export_onnx(model, onnx_path, o.mode == 'qat')
    record['onnx'] = {'path': onnx_path, 'sha256': sha, 'bytes': size, 'format': 'qdq-v1' if o.mode == 'qat' else 'float'}
    emit({'event': 'progress', 'stage': 'export', 'onnx': onnx_path})
    codes_path = None
    if codes:
        codes_path = os.path.join(o.out_dir, o.name + '.codes.bin')
        tensors = [{'name': q.tensor, 'codes': codes[q.tensor].numpy(), 'bits': q.bits, 'scale': float(q.scale.detach()),
                    'zeroPoint': q.zp, 'qmin': q.qmin, 'qmax': q.qmax} for q in model.aq]
        nbytes = codes_dump.write(codes_path, test_y[:o.dump_codes].numpy().astype(np.uint8), tensors)
        record['codes'] = {'path': codes_path, 'images': o.dump_codes, 'set': 't10k', 'indices': [0, o.dump_codes - 1],
                           'bytes': nbytes, 'tensors': [t['name'] for t in tensors], 'format': codes_dump.FORMAT}
    else:
        record['codes'] = None
    record['totalSeconds'] = round(time.time() - started, 2)
    record_path = os.path.join(o.out_dir, o.name + '.json')
    write_atomic(record_path, (json.dumps(record, indent=2) + '\n').encode('utf-8'))
    emit({'event': 'done', 'onnx': onnx_path, 'record': record_path, 'codes': codes_path, 'top1': record['top1']})
    return 0


def main(argv):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        import numpy  # noqa: F401
        import onnx  # noqa: F401
        import torch  # noqa: F401
    except ImportError as e:
        emit({'event': 'error', 'code': 1, 'message': f'{e}: {INSTALL_HINT}'})
        say(f'qat.py: {e}: run with /usr/bin/python3 after {INSTALL_HINT}')
        return 1
    sys.path.insert(0, HERE)
    if args.selftest:
        import selftest
        return selftest.run()
    try:
        o = check_options(args)
        return main_run(o, argv)
    except UsageError as e:
        emit({'event': 'error', 'code': 2, 'message': str(e)})
        say(f'qat.py: {e}')
        return 2


if __name__ == '__main__':
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
    except SystemExit:
        raise
    except BaseException as e:  # anything else is a failure (exit 1), with the stack on stderr
        import traceback
        traceback.print_exc()
        emit({'event': 'error', 'code': 1, 'message': f'{type(e).__name__}: {e}'})
        sys.exit(1)
