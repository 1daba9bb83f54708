/**
 * Analytical FPGA models: published design points, hand-computed cycle counts, and the
 * rejection of infeasible configurations.
 *
 * Sources:
 *  - PG338 (DPUCZDX8G product guide v3.4), "Architecture of the DPUCZDX8G" and the
 *    "DepthwiseConv" extra-resource table: B512 (4x8x8) ... B4096 (8x16x16), peak ops/clock
 *    = 2*PP*ICP*OCP = the number in the name.
 *  - UG1354 (Vitis AI Library user guide), "ZCU104 Evaluation Board": dual B4096 at 300 MHz
 *    deliver 2.46 TOPS INT8 peak.
 *  - Zhang et al., FPGA 2015: unified unroll factors <Tm, Tn> = <64, 7> for AlexNet, 100 MHz on
 *    VC707, 2,240 DSPs (Table 6, resource utilisation), 61.62 GFLOPS measured (Table 5).
 *  - Xilinx/BNN-PYNQ, bnn/src/network/{cnv,lfc}-pynq/hw/config.h: the FINN-paper CNV and LFC
 *    topologies with their PE/SIMD folding and the resulting weight-memory depths (WMem),
 *    which equal the FINN neuron fold x synapse fold.
 *  - Xilinx/finn, notebooks/end2end_example/bnn-pynq/cnv_end2end_example.ipynb: CNV-w1a1 folding;
 *    ronivolshtein/finn-cnv-accelerator-project335, configs/folding_configs.py and
 *    results/finn_A_D_final_results.csv: four foldings with their bottleneck layer and
 *    RTL-simulated throughput at 100 MHz (see the validation section at the end).
 *  - Xilinx/BNN-PYNQ, bnn/src/network/{cnvW1A1,cnvW2A2,lfcW1A1}/hw/config.h (per-layer PE, SIMD,
 *    cycles), the 100 MHz PYNQ build script and the notebooks' on-board throughput (the
 *    validation section: CNV within 1 %, LFC not compute-bound).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getDevice, listDevices, type Device } from '../harness/fpga/devices.ts';
import {
  DPU_ARCHS,
  MODELS,
  dpuPeakOpsPerCycle,
  finnNetwork,
  modelEvaluator,
  resolveParams,
  type DpuArch,
  type LayerSpec,
} from '../harness/fpga/models/index.ts';
import { loadNetwork } from '../harness/networks/index.ts';
import { InputError } from '../harness/util/errors.ts';

function layer(s: Partial<LayerSpec> & Pick<LayerSpec, 'inH' | 'inW' | 'inC' | 'outC'>): LayerSpec {
  return {
    kH: 1, kW: 1, strideH: 1, strideW: 1, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0,
    groups: 1, wBits: 8, aBits: 8, ...s,
  };
}

function run(id: keyof typeof MODELS, l: LayerSpec, params: Record<string, unknown>, device: Device | string, mhz = 300) {
  const dev = typeof device === 'string' ? getDevice(device) : device;
  return modelEvaluator(MODELS[id], params, dev, mhz).evaluate(l);
}

function rejects(fn: () => unknown, ...parts: (string | RegExp)[]): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, InputError, `expected InputError, got ${String(e)}`);
    const msg = (e as Error).message;
    for (const p of parts) {
      if (typeof p === 'string') assert.ok(msg.includes(p), `'${msg}' should mention '${p}'`);
      else assert.match(msg, p);
    }
    return;
  }
  assert.unreachable(`accepted an infeasible configuration (expected ${parts.join(', ')})`);
}

// --- devices ---------------------------------------------------------------------------

test('device catalogue: the six boards, each with a source; DSP48E1 allows no packing', () => {
  const names = listDevices().map((d) => d.name);
  // The six the issue names; more may be added (README: how to add an FPGA device).
  for (const n of ['u250', 'xc7vx485t', 'xc7z020', 'xczu3eg', 'xczu7ev', 'xczu9eg']) assert.ok(names.includes(n), n);
  for (const d of listDevices()) {
    assert.ok(d.source.length > 40, `${d.name}: source`);
    assert.ok(d.dsp > 0 && d.bram36 > 0 && d.lut > 0 && d.ff > 0 && d.offChipGBps > 0, d.name);
  }
  assert.is(getDevice('PYNQ-Z2').name, 'xc7z020');
  assert.is(getDevice('zcu104').dsp, 1728);
  assert.is(getDevice('vc707').dspType, 'DSP48E1');
  rejects(() => getDevice('kintex'), "unknown device 'kintex'", 'xczu9eg');
});

// --- model (a): hand-computed cases ------------------------------------------------------

test('model a: 4x4x16 -> 16, 3x3 pad 1, INT8 on DSP48E2: 2*16*9*1 issues + 20 fill = 308', () => {
  const l = layer({ inH: 4, inW: 4, inC: 16, outC: 16, kH: 3, kW: 3, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 });
  const r = run('a', l, { L: 16, Po: 4, Pp: 1 }, 'zcu102');
  // Tc = ceil(16/16) = 1, To = ceil(16/(4*2)) = 2, Tp = 16, taps = 9; fill = 15 + 4 + 1
  assert.is(r.packing, 2);
  assert.equal([r.detail['Tc'], r.detail['To'], r.detail['Tp'], r.detail['issues'], r.detail['fill']], [1, 2, 16, 288, 20]);
  assert.is(r.computeCycles, 308);
  assert.is(r.dsp, 64);
  // weights 16*16*9 + input 4*4*16 + output 4*4*16 bytes
  assert.is(r.offChipBytes, 2304 + 256 + 256);
  assert.is(r.macs, 16 * 16 * 16 * 9);
  assert.ok(r.warnings.some((w) => w.includes('20 bits')), 'lane headroom warning for L=16');
  assert.equal(run('a', l, { L: 7, Po: 4 }, 'zcu102').warnings, [], 'L=7: 7 * 2^14 fits the 18-bit lane');
  assert.ok(run('a', l, { L: 8, Po: 4 }, 'zcu102').warnings[0]!.includes('19 bits'), 'L=8: 8 * 2^14 does not');
  const rows = run('a', l, { L: 16, Po: 4, Pp: 1, fmap: 'rows' }, 'zcu102');
  assert.is(rows.offChipBytes, 2304 + 256 * 2 + 256, "fmap=rows re-reads the input once per output tile");
});

test('model a: remainders in every tiling (17 ch, 9 out, 15 px on 4 lanes, 3x1 taps) = 48 + 20', () => {
  // out 5x3 = 15 px; Tc = ceil(17/16) = 2, To = ceil(9/8) = 2, Tp = ceil(15/4) = 4, taps = 3
  const l = layer({ inH: 5, inW: 3, inC: 17, outC: 9, kH: 3, kW: 1, padTop: 1, padBottom: 1 });
  const r = run('a', l, { L: 16, Po: 4, Pp: 4 }, 'zcu102');
  assert.is(r.detail['issues'], 2 * 4 * 3 * 2);
  assert.is(r.computeCycles, 48 + 20);
  assert.is(r.dsp, 4 * 4 * 16);
});

test('model a: depthwise 8x8x32, 3x3/2 SAME, L=8, latencies 3 and 2: 32*8*9 + 12', () => {
  const l = layer({ inH: 8, inW: 8, inC: 32, outC: 32, kH: 3, kW: 3, strideH: 2, strideW: 2, padBottom: 1, padRight: 1, groups: 32 });
  // out 4x4; per group Tc = 1, To = 1, Tp = ceil(16/2) = 8, taps 9; fill = 7 + 3 + 2
  const r = run('a', l, { L: 8, Po: 2, Pp: 2, dspLatency: 3, accLatency: 2 }, 'zcu102');
  assert.is(r.computeCycles, 32 * 8 * 9 + 12);
  assert.ok(r.utilization < 0.1, `depthwise uses 1 of L DSPs: utilization ${r.utilization}`);
});

test('model a: DSP48E1 (PYNQ-Z2) runs unpacked; INT4 packs 4 on DSP48E2', () => {
  const l = layer({ inH: 2, inW: 2, inC: 8, outC: 4 });
  const r = run('a', l, { L: 4, Po: 2 }, 'pynq-z2', 100);
  // Tc = 2, To = ceil(4/2) = 2, Tp = 4; fill = 3 + 4 + 1
  assert.is(r.packing, 1);
  assert.is(r.computeCycles, 16 + 8);
  assert.equal(r.warnings, []);
  const q = run('a', layer({ inH: 2, inW: 2, inC: 8, outC: 16, wBits: 4, aBits: 4 }), { L: 8, Po: 2 }, 'zcu104');
  assert.is(q.packing, 4);
  // int4 (WP521) is 2 channels x 2 pixels per DSP: To = ceil(16/(2*2)) = 4, Tp = 2 * ceil(2/2) = 2
  assert.equal([q.detail['scheme'], q.detail['To'], q.detail['Tp']], ['int4', 4, 2]);
  assert.is(q.computeCycles, 4 * 2 * 1 + 7 + 4 + 1);
});

test('model a: at full utilisation the array runs at the peak 2*Pp*Po*L*pack*f; the input load before cycle 0 adds 3,924 cycles', () => {
  const l = layer({ inH: 64, inW: 64, inC: 64, outC: 64, kH: 3, kW: 3, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 });
  const r = run('a', l, { L: 16, Po: 4, Pp: 2 }, 'zcu102', 250);
  assert.is(r.bound, 'compute');
  assert.is(r.peakGops, (2 * 2 * 4 * 16 * 2 * 250) / 1e3);
  const computeGops = (r.ops * 250) / (r.computeCycles * 1e3);
  assert.ok(computeGops <= r.peakGops && computeGops > 0.999 * r.peakGops, `${computeGops} vs ${r.peakGops}`);
  // Double-buffered: what waits is the whole input (fmap 'layer', on chip before cycle 0:
  // 64*64*64 B), the first output tile's weights (Po*W = 8 channels * 64 * 9 B) and the last
  // pixel tile's outputs (Pp*A = 2 pixels * 8 channels): 262,144 + 4,608 + 16 = 266,768 B at
  // 17 GB/s / 250 MHz = 68 B/cycle -> ceil(3923.06) = 3,924 cycles.
  assert.is(r.exposedBytes, 266768);
  assert.is(r.loadCycles, 3924);
  assert.is(r.cycles, r.computeCycles + 3924);
  assert.ok(r.attainableGops < computeGops && r.attainableGops > 0.99 * r.peakGops);
});

test('roofline: a starved memory makes a layer memory-bound', () => {
  const dev = { ...getDevice('zcu102'), offChipGBps: 0.01 };
  const l = layer({ inH: 1, inW: 1, inC: 4096, outC: 4096 });
  for (const id of ['a', 'b', 'd', 'e'] as const) {
    const r = run(id, l, {}, dev);
    assert.is(r.bound, 'memory', `model ${id}`);
    assert.is(r.cycles, r.memoryCycles);
    assert.is(r.memoryCycles, Math.ceil(r.offChipBytes / ((0.01 * 1e3) / 300)));
  }
});

// --- model (b): Zhang et al. FPGA'15 ----------------------------------------------------

test("model b: Zhang et al.'s AlexNet design point <Tm,Tn> = <64,7>, float32 on VC707 at 100 MHz", () => {
  const net = loadNetwork('alexnet');
  const convs = net.layers.filter((l) => !l.fc);
  const ev = modelEvaluator(MODELS.b, { Tm: 64, Tn: 7, Tr: 13, Tc: 13, dspPerMac: 5, wordBits: 32 }, getDevice('vc707'), 100);
  const res = convs.map((l) => ev.evaluate(l));
  // ceil(M/Tm)*ceil(N/Tn)*R*C*K^2 per group (two towers: conv2, conv4, conv5 have groups = 2)
  assert.equal(res.map((r) => r.computeCycles), [
    2 * 1 * 55 * 55 * 121, // conv1: M=96, N=3
    2 * (2 * 7 * 27 * 27 * 25), // conv2: M=128, N=48 per group
    6 * 37 * 13 * 13 * 9, // conv3: M=384, N=256
    2 * (3 * 28 * 13 * 13 * 9), // conv4: M=192, N=192 per group
    2 * (2 * 28 * 13 * 13 * 9), // conv5: M=128, N=192 per group
  ]);
  assert.is(res[0]!.dsp, 2240, 'Table 6: 2,240 DSP48E1 (64*7 float multiply-adds at 5 DSPs each)');
  const cycles = res.reduce((a, r) => a + r.computeCycles, 0);
  const ops = res.reduce((a, r) => a + r.ops, 0);
  const roofGflops = (ops / cycles) * 0.1; // ops/cycle * 100 MHz / 1e3
  // The model's computational roof bounds the measured 61.62 GFLOPS (Table 5) from above and
  // is within 8 % of it (the measured run adds control and transfer overheads).
  assert.ok(roofGflops >= 61.62 && roofGflops <= 61.62 * 1.08, `roof ${roofGflops.toFixed(2)} GFLOPS`);
});

test('model b: CTC ratio and buffers follow the tile sizes', () => {
  const l = layer({ inH: 27, inW: 27, inC: 48, outC: 128, kH: 5, kW: 5, padTop: 2, padBottom: 2, padLeft: 2, padRight: 2 });
  const small = run('b', l, { Tm: 64, Tn: 7, Tr: 4, Tc: 4 }, 'zcu102');
  const big = run('b', l, { Tm: 64, Tn: 7, Tr: 27, Tc: 27 }, 'zcu102');
  assert.is(small.computeCycles, big.computeCycles, 'Tr, Tc do not change the compute cycles');
  assert.ok(Number(big.detail['ctcOpsPerByte']) > Number(small.detail['ctcOpsPerByte']), 'larger tiles reuse more');
  // alpha_out * beta_out with Tr = Tc = R = C: every output written once
  // beta_in = 7 * (27 + 4) * (27 + 4), alpha = 2 * 7 * 1 * 1
  const expected = 2 * 7 * (7 * 31 * 31) + 2 * 7 * (64 * 7 * 25) + 2 * 64 * 27 * 27;
  assert.is(big.offChipBytes, expected);
});

// --- model (c): FINN ----------------------------------------------------------------------

/** CNV (FINN paper topology) with the PE/SIMD of BNN-PYNQ cnv-pynq/hw/config.h, W1A1. */
function cnvPynq() {
  const c = (inH: number, inC: number, outC: number, k = 3) => layer({ inH, inW: inH, inC, outC, kH: k, kW: k, wBits: 1, aBits: 1 });
  const layers = [c(32, 3, 64), c(30, 64, 64), c(14, 64, 128), c(12, 128, 128), c(5, 128, 256), c(3, 256, 256),
    c(1, 256, 512, 1), c(1, 512, 512, 1), c(1, 512, 64, 1)];
  const fold = [[16, 3], [32, 32], [16, 32], [16, 32], [4, 32], [1, 32], [1, 4], [1, 8], [4, 1]];
  const wmem = [36, 36, 144, 288, 2304, 18432, 32768, 32768, 8192];
  return { layers, foldings: fold.map(([PE, SIMD]) => ({ PE, SIMD })), wmem };
}

test('model c: FINN fold = (MH/PE)*(MW/SIMD) reproduces the WMem of the published CNV folding', () => {
  const { layers, foldings, wmem } = cnvPynq();
  const dev = getDevice('pynq-z2');
  const params = foldings.map((f) => resolveParams(MODELS.c.params, f));
  const net = finnNetwork(layers, params, dev, 100);
  net.layers.forEach((r, i) => {
    assert.is(Number(r.detail['neuronFold']) * Number(r.detail['synapseFold']), wmem[i], `layer ${i} WMem`);
    const out = layers[i]!.inH - layers[i]!.kH + 1;
    assert.is(r.computeCycles, out * out * wmem[i]!, `layer ${i} cycles = OFM^2 * fold`);
    assert.is(r.dsp, 0, 'W1A1 MACs are LUTs');
  });
  // slowest: the FC layers 6 and 7 with 32768 cycles (layer 0: 30*30*36 = 32400)
  assert.is(net.cyclesPerFrame, 32768);
  assert.is(net.bottleneck, 6);
  assert.is(net.fps, 100e6 / 32768);
});

test('model c: LFC folding (lfc-pynq config.h) gives 512 cycles per frame', () => {
  const fc = (inC: number, outC: number) => layer({ inH: 1, inW: 1, inC, outC, wBits: 1, aBits: 1 });
  const layers = [fc(832, 1024), fc(1024, 1024), fc(1024, 1024), fc(1024, 64)];
  const foldings = [[32, 64], [64, 32], [32, 64], [16, 8]].map(([PE, SIMD]) => resolveParams(MODELS.c.params, { PE, SIMD }));
  const net = finnNetwork(layers, foldings, getDevice('pynq-z2'), 100);
  assert.equal(net.layers.map((r) => r.computeCycles), [416, 512, 512, 512]);
  assert.is(net.fps, 100e6 / 512);
});

test('model c: depthwise layers use the VVAU fold (C/PE)*(K^2/SIMD)', () => {
  const l = layer({ inH: 8, inW: 8, inC: 32, outC: 32, kH: 3, kW: 3, groups: 32 });
  const r = run('c', l, { PE: 8, SIMD: 3 }, 'zcu102');
  assert.is(r.detail['unit'], 'VVAU');
  assert.is(r.computeCycles, 36 * (32 / 8) * (9 / 3));
});

// --- model (d): DPU ---------------------------------------------------------------------

test('model d: PG338 configurations B512..B4096, peak ops/cycle = 2*PP*ICP*OCP = the name', () => {
  const published: Record<DpuArch, [number, number, number]> = {
    B512: [4, 8, 8], B800: [4, 10, 10], B1024: [8, 8, 8], B1152: [4, 12, 12],
    B1600: [8, 10, 10], B2304: [8, 12, 12], B3136: [8, 14, 14], B4096: [8, 16, 16],
  };
  assert.equal(Object.keys(DPU_ARCHS), Object.keys(published));
  for (const [arch, ppIcpOcp] of Object.entries(published) as [DpuArch, [number, number, number]][]) {
    assert.equal([...DPU_ARCHS[arch]], ppIcpOcp, arch);
    assert.is(dpuPeakOpsPerCycle(arch), Number(arch.slice(1)), arch);
  }
});

test('model d: dual B4096 at 300 MHz is 2.46 TOPS (UG1354, ZCU104)', () => {
  const l = layer({ inH: 56, inW: 56, inC: 64, outC: 64, kH: 3, kW: 3, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 });
  const r = run('d', l, { arch: 'B4096' }, 'zcu104', 300);
  assert.ok(Math.abs((2 * r.peakGops) / 1e3 - 2.46) < 0.005, `${2 * r.peakGops} GOPS`);
  // 56 rows * ceil(56/8) * ceil(64/16)^2 * 9 taps, fully used
  assert.is(r.computeCycles, 56 * 7 * 4 * 4 * 9);
  assert.is(r.utilization, 1);
});

test('model d: depthwise runs at half the pixel parallelism', () => {
  const l = layer({ inH: 16, inW: 16, inC: 64, outC: 64, kH: 3, kW: 3, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, groups: 64 });
  const r = run('d', l, { arch: 'B1024' }, 'zcu102');
  assert.is(r.computeCycles, 16 * Math.ceil(16 / 4) * Math.ceil(64 / 8) * 9);
});

// --- model (e): systolic -----------------------------------------------------------------

test('model e: 4x2 output-stationary array, 9 px, 4 out (pack 2), K = 2: 3 tiles of max(2,4) + 3 + 1 + 4 + 4', () => {
  const l = layer({ inH: 3, inW: 3, inC: 2, outC: 4 });
  const r = run('e', l, { R: 4, C: 2 }, 'zcu102');
  assert.equal([r.detail['K'], r.detail['Tpix'], r.detail['Tout'], r.detail['perTile']], [2, 3, 1, 4]);
  assert.is(r.computeCycles, 3 * 4 + 3 + 1 + 4 + 4);
  assert.is(r.dsp, 8);
});

// --- infeasible configurations -------------------------------------------------------------

test('infeasible: zero or negative parallelism, unknown parameters, bad clock', () => {
  const l = layer({ inH: 8, inW: 8, inC: 16, outC: 16 });
  rejects(() => run('a', l, { Po: 0 }, 'zcu102'), 'Po=0', 'minimum 1');
  rejects(() => run('a', l, { L: -4 }, 'zcu102'), 'L=-4');
  rejects(() => run('a', l, { Pp: 1.5 }, 'zcu102'), 'Pp must be an integer');
  rejects(() => run('b', l, { Tm: 0 }, 'zcu102'), 'Tm=0');
  rejects(() => run('e', l, { R: 0 }, 'zcu102'), 'R=0');
  rejects(() => run('c', l, { SIMD: 0 }, 'zcu102'), 'SIMD=0');
  rejects(() => run('a', l, { Lx: 4 }, 'zcu102'), "unknown parameter 'Lx'");
  rejects(() => run('d', l, { arch: 'B9999' }, 'zcu102'), 'arch must be one of', 'B4096');
  rejects(() => run('a', l, {}, 'zcu102', 0), 'clockMHz');
});

test('infeasible: more DSPs than the device has, naming the expression and the limit', () => {
  const l = layer({ inH: 8, inW: 8, inC: 16, outC: 16 });
  rejects(() => run('a', l, { L: 16, Po: 16 }, 'pynq-z2', 100), 'Pp*Po*L', '256 DSPs', '220 DSP slices');
  rejects(() => run('b', l, { Tm: 64, Tn: 7, dspPerMac: 5 }, 'ultra96'), 'Tm*Tn*dspPerMac', '2240', '360');
  rejects(() => run('d', l, { arch: 'B4096' }, 'ultra96'), 'B4096', '512 DSPs', '360');
  rejects(() => run('e', l, { R: 64, C: 64 }, 'zcu104'), 'R*C', '4096', '1728');
});

test('infeasible: packing not allowed on the DSP type or for the bit widths', () => {
  const l = layer({ inH: 8, inW: 8, inC: 16, outC: 16 });
  rejects(() => run('a', l, { scheme: 'int8x8', L: 4, Po: 2 }, 'pynq-z2', 100), 'scheme=int8x8', 'DSP48E1', '25-bit pre-adder');
  rejects(() => run('a', l, { scheme: 'int4' }, 'zcu102'), 'scheme=int4', 'w_bits <= 4');
  rejects(() => run('e', l, { packing: 4 }, 'zcu102'), 'packing=4', 'w_bits and a_bits <= 4');
  rejects(() => run('a', l, { scheme: 'int3' }, 'zcu102'), 'scheme must be one of');
  rejects(() => run('d', l, {}, 'vc707', 100), 'DSP48E2', 'DSP48E1');
  rejects(() => run('d', layer({ inH: 8, inW: 8, inC: 16, outC: 16, wBits: 16 }), {}, 'zcu102'), 'INT8');
});

test('infeasible: BRAM beyond the budget or the device; FINN divisibility', () => {
  const l = layer({ inH: 56, inW: 56, inC: 256, outC: 256, kH: 3, kW: 3, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 });
  rejects(() => run('a', l, { bramBudget: 2 }, 'zcu102'), 'BRAM', 'bramBudget of 2');
  rejects(() => run('b', l, { Tm: 16, Tn: 8, Tr: 56, Tc: 56 }, 'pynq-z2', 100), 'BRAM36', '140 36 Kb block RAMs');
  rejects(() => run('c', l, { PE: 3 }, 'zcu102'), 'PE=3', 'MH % PE');
  rejects(() => run('c', l, { SIMD: 7 }, 'zcu102'), 'SIMD=7', 'MW % SIMD');
  rejects(() => run('c', layer({ inH: 8, inW: 8, inC: 16, outC: 16, groups: 2 }), {}, 'zcu102'), 'groups=2');
});

test('every model evaluates every layer of every built-in network on a ZCU102', () => {
  const dev = getDevice('zcu102');
  for (const n of ['vgg16', 'resnet18', 'resnet50', 'mobilenet-v1', 'alexnet']) {
    for (const id of ['a', 'b', 'd', 'e'] as const) {
      const ev = modelEvaluator(MODELS[id], {}, dev, 300);
      for (const l of loadNetwork(n).layers) {
        const r = ev.evaluate(l);
        assert.ok(r.cycles > 0 && Number.isFinite(r.attainableGops), `${n}/${l.name} model ${id}`);
        assert.ok(r.attainableGops <= r.peakGops * (1 + 1e-9), `${n}/${l.name} model ${id}: above peak`);
        assert.ok(r.utilization > 0 && r.utilization <= 1 + 1e-9, `${n}/${l.name} model ${id}: utilization ${r.utilization}`);
      }
    }
  }
});

// --- validation against published configurations --------------------------------------------
//
// FINN (model c). Source of the folding: Xilinx/finn, notebooks/end2end_example/bnn-pynq/
// cnv_end2end_example.ipynb, "folding" list (PE, SIMD) of the nine MVAU layers of CNV-w1a1,
// built for a Pynq-Z1 at target_clk_ns = 10 (100 MHz). Source of the throughput:
// ronivolshtein/finn-cnv-accelerator-project335 (FINN v0.10, Bar-Ilan University project 335),
// configs/folding_configs.py (configurations A-D: the notebook folding with MVAU 0, 6, 7 widened)
// and results/finn_A_D_final_results.csv ("Stable Throughput (FPS)" and the bottleneck layer
// from cycle-accurate RTL simulation at 100 MHz; not on-board measurements).
// The FINN paper's own tables (Umuroglu et al., FPGA 2017: CNV-max etc. on a ZC706) and FINN-R
// (Blott et al., TRETS 2018) could not be retrieved with per-layer PE/SIMD, so they are not used;
// the on-board BNN-PYNQ builds below are the 2 % check.

/** CNV (FINN / Brevitas): 6 conv (3x3, no padding, 2x2 max-pool after conv 2 and 4) and 3 fc. */
function cnvFinn() {
  const c = (inH: number, inC: number, outC: number) => layer({ inH, inW: inH, inC, outC, kH: 3, kW: 3, wBits: 1, aBits: 1 });
  const fc = (inC: number, outC: number) => layer({ inH: 1, inW: 1, inC, outC, wBits: 1, aBits: 1 });
  return [c(32, 3, 64), c(30, 64, 64), c(14, 64, 128), c(12, 128, 128), c(5, 128, 256), c(3, 256, 256), fc(256, 512), fc(512, 512), fc(512, 10)];
}
const CNV_NOTEBOOK_FOLDING: [number, number][] = [[16, 3], [32, 32], [16, 32], [16, 32], [4, 32], [1, 32], [1, 4], [1, 8], [5, 1]];

test('validation, FINN CNV-w1a1: f / slowest layer, and the slowest layer is the published bottleneck', () => {
  const layers = cnvFinn();
  const widen: Record<string, Record<number, [number, number]>> = {
    A: {},
    B: { 6: [1, 8] },
    C: { 6: [1, 8], 7: [1, 16] },
    D: { 0: [32, 3], 6: [1, 8], 7: [1, 16] },
  };
  // project335 results: [bottleneck MVAU, stable throughput in frames/s at 100 MHz]
  const published: Record<string, [number, number]> = { A: [6, 2254.644], B: [7, 3220.6119], C: [0, 3220.6119], D: [3, 3329.4711] };
  const expectedCycles: Record<string, number> = { A: 32768, B: 32768, C: 32400, D: 28800 };
  for (const cfg of ['A', 'B', 'C', 'D']) {
    const folding = CNV_NOTEBOOK_FOLDING.map((f, i) => widen[cfg]![i] ?? f);
    const params = folding.map(([PE, SIMD]) => resolveParams(MODELS.c.params, { PE, SIMD, res: 'lut' }));
    const net = finnNetwork(layers, params, getDevice('pynq-z2'), 100);
    // per-layer cycles = out_h*out_w * (MH/PE) * (MW/SIMD), e.g. MVAU 6: 1 * 512 * 256/4 = 32768,
    // MVAU 0: 30*30 * 64/16 * 27/3 = 32400, MVAU 3: 10*10 * 128/16 * 1152/32 = 28800
    assert.is(net.cyclesPerFrame, expectedCycles[cfg], cfg);
    assert.is(net.bottleneck, published[cfg]![0], `config ${cfg}: bottleneck MVAU_hls_${published[cfg]![0]}`);
    assert.is(net.fps, 100e6 / net.cyclesPerFrame);
    assert.is(net.dsp, 0, 'W1A1 in LUTs: project335 reports 0 DSP for every configuration');
    const ratio = net.fps / published[cfg]![1];
    if (cfg === 'A') {
      // A: 3051.8 modeled vs 2254.6 simulated frames/s. A and B share the same slowest-layer
      // cycle count (32768) yet simulate 2255 vs 3221 frames/s, so the gap is a stall outside
      // the folding arithmetic (project335 does not say which); the model does not capture it.
      assert.ok(ratio > 1.3 && ratio < 1.4, `A: ${ratio}`);
    } else {
      // B, C, D: within 6 % (B -5.2 %, C -4.2 %, D +4.3 %). The 2 % the FINN cost model is
      // expected to reach is NOT met against this source: RTL-simulated stable throughput with
      // FIFO effects; B and C simulate the same 3220.6 frames/s with different bottlenecks.
      assert.ok(Math.abs(ratio - 1) < 0.06, `${cfg}: modeled ${net.fps.toFixed(1)} vs ${published[cfg]![1]} frames/s`);
    }
  }
});

// FINN on a board (model c). Xilinx/BNN-PYNQ builds the FINN paper's CNV and LFC with its
// "finnthesizer"; each network's bnn/src/network/<net>/hw/config.h (commit 65f21243) lists per
// layer the PE, SIMD and the cycles it takes ("Ext Latency"). The accelerator (BlackBoxJam) is
// clocked from FCLK_CLK0 = 100 MHz on the xc7z020 (bnn/src/library/script/pynqZ1-Z2/
// make-vivado-proj.tcl, commit d84f6e88). Measured on the board, 10,000 test images each
// (notebooks/CNV-QNN_Cifar10_Testset.ipynb, "Cifar-10 testset classification on Pynq", and
// notebooks/LFC-QNN_MNIST.ipynb, commit d84f6e88): CNV W1A1 3050.00, W1A2 3050.17, W2A2 860.10
// images per second; LFC W1A1 118883.45, W1A2 118882.03 images per second.

/** CNV as BNN-PYNQ builds it: the last fc padded from 10 to 64 outputs (config.h L8 MatH). */
function cnvBnnPynq(wBits: number, aBits: number) {
  return cnvFinn().map((l, i) => (i === 8 ? { ...l, outC: 64, wBits, aBits } : { ...l, wBits, aBits }));
}

test('validation, FINN on the board: BNN-PYNQ CNV W1A1/W1A2/W2A2 on PYNQ at 100 MHz, f / slowest layer within 2 % of measured', () => {
  // [PE, SIMD] per layer and config.h's "Ext Latency" per layer.
  const w1: [number, number][] = [[16, 3], [32, 32], [16, 32], [16, 32], [4, 32], [1, 32], [1, 4], [1, 8], [4, 1]];
  const w1Latency = [32400, 28224, 20736, 28800, 20736, 18432, 32768, 32768, 8192];
  const w2: [number, number][] = [[8, 3], [16, 16], [8, 16], [8, 16], [4, 8], [1, 8], [1, 2], [2, 2], [4, 1]];
  const w2Latency = [64800, 112896, 82944, 115200, 82944, 73728, 65536, 65536, 8192];
  const runs: Array<[string, number, number, [number, number][], number[], number]> = [
    ['CNV W1A1', 1, 1, w1, w1Latency, 3050.0],
    ['CNV W1A2', 1, 2, w1, w1Latency, 3050.17],
    ['CNV W2A2', 2, 2, w2, w2Latency, 860.1],
  ];
  const lines: string[] = [];
  for (const [name, wBits, aBits, folding, latency, measured] of runs) {
    const params = folding.map(([PE, SIMD]) => resolveParams(MODELS.c.params, { PE, SIMD, res: 'lut' }));
    const net = finnNetwork(cnvBnnPynq(wBits, aBits), params, getDevice('pynq-z2'), 100);
    assert.equal(net.layers.map((l) => l.computeCycles), latency, `${name}: per-layer cycles = config.h Ext Latency`);
    const error = net.fps / measured - 1;
    lines.push(`${name} ${net.fps.toFixed(2)} vs ${measured} (${(100 * error).toFixed(2)} %)`);
    assert.ok(Math.abs(error) < 0.02, `${name}: modeled ${net.fps.toFixed(2)} vs measured ${measured} frames/s`);
  }
  console.log(`  FINN model c vs BNN-PYNQ on PYNQ: ${lines.join(', ')}`);
});

test('validation, FINN LFC on the board: not compute-bound, so f / slowest layer is only an upper bound (61 % reached)', () => {
  // lfcW1A1/hw/config.h: MatW x MatH, SIMD, PE, Ext Latency = 416, 512, 512, 512.
  const fc = (inC: number, outC: number) => layer({ inH: 1, inW: 1, inC, outC, wBits: 1, aBits: 1 });
  const layers = [fc(832, 1024), fc(1024, 1024), fc(1024, 1024), fc(1024, 64)];
  const params = ([[32, 64], [64, 32], [32, 64], [16, 8]] as const).map(([PE, SIMD]) => resolveParams(MODELS.c.params, { PE, SIMD, res: 'lut' }));
  const net = finnNetwork(layers, params, getDevice('pynq-z2'), 100);
  assert.equal(net.layers.map((l) => l.computeCycles), [416, 512, 512, 512]);
  const measured = 118883.45;
  // 195,312 modeled vs 118,883 measured: 8.41 us per image against 5.12 us of compute, so
  // something outside the layers (per-image I/O of the host driver, which the notebook's
  // timing includes) sets the rate. The folding model does not claim that part.
  assert.ok(net.fps > measured, 'the compute bound is an upper bound');
  assert.ok(measured / net.fps > 0.6 && measured / net.fps < 0.62, `measured / modeled = ${measured / net.fps}`);
});

// Zhang et al., FPGA 2015 (model b): the unified design <Tm, Tn> = <64, 7> (Sec. 4.2), its
// 2,240 DSPs (Table 6) and the measured 61.62 GFLOPS (Table 5) are checked in the 'model b'
// test above. The per-layer table of that section (layer-specific optimal <Tm, Tn> and the
// execution cycles of each AlexNet layer under the unified design) could not be retrieved from
// a citable copy here, so its numbers are not used: none are written from memory.

test.run();
