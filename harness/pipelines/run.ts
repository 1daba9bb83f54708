/**
 * The main job (`fkb run`, `npm start`), top to bottom:
 *
 *   1. load the embedded Fashion-MNIST model and its evaluation images, once;
 *   2. verify every kernel variant, packed-DSP kernel and onnxruntime-web on the reference
 *      layer and on the model's own convolutions, in every requantization mode;
 *   3. benchmark them on the reference layer and time the exhaustive packed-multiply checks;
 *   4. per ResNet-18 layer, how many outputs the packed-DSP engine gets wrong (random and
 *      extreme operands), and the FPGA model (engine a on ZCU104) next to the measured kernels;
 *   5. compress the embedded model four ways and measure each on the same held-out images;
 *   6. quantize BlazeFace and compare it with float on its embedded photos.
 *
 * One requantization mode runs through every step that produces int8 codes. Nothing is printed
 * or written here: the command prints the results and the report renders them.
 */
import { type CodeMode, describeShape } from '../conv/layer.ts';
import { type BenchLayer, referenceLayer } from '../bench/shapes.ts';
import { benchmarkExhaustive, benchmarkLayers } from '../bench/bench-kernels.ts';
import { DEFAULT_PACKED_CONFIG } from '../dsp/packed-conv.ts';
import { layerExactness } from '../exactness/layer-exactness.ts';
import { fpgaSection } from '../fpga/compare.ts';
import { graphLayers } from '../fpga/graph-layers.ts';
import { runModel } from '../fpga/network.ts';
import { foldBatchNorm } from '../model/fold.ts';
import { loadNetwork } from '../networks/index.ts';
import { schemeProblem } from '../problems/scheme-problem.ts';
import type { BenchReport, CompressionResults, FpgaSection, LayerExactness, ModelReport, QuantizeSummary, VerifyResult } from '../results/index.ts';
import { VerificationError } from '../util/errors.ts';
import { verifyLayers } from '../verify/verify-kernels.ts';
import { loadModules } from '../wasm/modules.ts';
import { measureBlazeFace } from './blazeface.ts';
import { loadModel } from './compress.ts';
import { compressionResults } from './compression-points.ts';

export interface MainJobOptions {
  /** Minimum measuring time per kernel, ms. @default 400 */
  timeMs?: number;
  /** Held-out images every compression setting is measured on. @default 500 */
  images?: number;
  /** Requantization of the benchmark, the packed-DSP checks, compression and BlazeFace. @default 'fp32' */
  requantMode?: CodeMode;
  /** The network whose layers the packed-DSP checks and the FPGA model take. @default 'resnet18' */
  network?: string;
  /** Progress of the long steps: a step name, then (label, done, total) within it. */
  onProgress?: (step: string, label: string, done: number, total: number) => void;
}

export interface MainJobResults {
  /** Each WASM module and whether this engine uses it (with the reason when not). */
  modules: { name: string; used: boolean; reason?: string }[];
  /** The layers verified: the reference layer and the embedded model's convolutions. */
  verifiedLayers: string[];
  verification: VerifyResult[];
  benchmark: BenchReport;
  /** Per layer of the network, the packed-DSP engine against the exact convolution, per operand distribution. */
  dspExactness: { operands: string; rows: LayerExactness[] }[];
  fpgaModel: ModelReport;
  fpga: FpgaSection;
  compression: CompressionResults;
  quantized: QuantizeSummary;
  /** One line per source of the results, for the report. */
  sources: string[];
  /** Wall time of each step, ms, in order. */
  stepMs: { step: string; ms: number }[];
}

export async function runMainJob(options: MainJobOptions = {}): Promise<MainJobResults> {
  const timeMs = options.timeMs ?? 400;
  const images = options.images ?? 500;
  const requantMode = options.requantMode ?? 'fp32';
  const networkName = options.network ?? 'resnet18';
  const stepMs: MainJobResults['stepMs'] = [];
  let t0 = performance.now();
  const stepDone = (step: string) => {
    const now = performance.now();
    stepMs.push({ step, ms: now - t0 });
    t0 = now;
  };
  const progress = (step: string) => (label: string, index: number, total: number) => options.onProgress?.(step, label, index, total);
  const modules = [...loadModules()].map(([name, s]) => ({ name, used: Boolean(s.kernel), ...(s.kernel ? {} : { reason: s.reason }) }));

  // 1. The embedded model, once.
  const model = loadModel();
  const folded = foldBatchNorm(model.graph).graph;
  const modelLayers: BenchLayer[] = graphLayers(folded)
    .filter((l) => l.groups === 1)
    .map((l) => ({ name: `fashion-mnist ${l.name}`, shape: l, reference: false }));
  stepDone('load the embedded model');

  // 2. Every kernel against the reference; a failure stops the job before anything is timed.
  const layer = referenceLayer();
  const verification = await verifyLayers([layer, ...modelLayers], { ort: true, onStep: progress('verify') });
  const failed = verification.filter((r) => !r.ok);
  if (failed.length) throw new VerificationError(`${failed.length} of ${verification.length} checks failed; first: ${failed[0]!.error}`);
  stepDone('verify');

  // 3. Speed on the reference layer.
  const benchmark = await benchmarkLayers([layer], { timeMs, mode: requantMode, onTask: progress('bench') });
  benchmark.exhaustive = await benchmarkExhaustive(Math.min(timeMs, 400));
  stepDone('benchmark');

  // 4. What the FPGA would do with the network.
  const net = loadNetwork(networkName);
  const convs = net.layers.filter((l) => l.groups === 1);
  const engine = DEFAULT_PACKED_CONFIG;
  const dspExactness = (['random', 'extremes'] as const).map((operands) => ({
    operands,
    rows: convs.map((l) => layerExactness(`${net.name}/${l.name}`, schemeProblem(l, engine.scheme, operands, requantMode, 1), engine)),
  }));
  const fpgaModel = runModel({ arch: 'a', device: 'zcu104', layers: networkName });
  const fpga = fpgaSection(fpgaModel, benchmark);
  stepDone('packed-DSP exactness and FPGA model');

  // 5. Compression of the embedded model.
  const compression = compressionResults({ model, images, requantMode, onStep: progress('compress') });
  stepDone('compression');

  // 6. A detector without labels.
  const { intGraph: _, ...quantized } = measureBlazeFace({ backends: ['wasm', 'dsp'], intGraph: { requantMode } });
  stepDone('BlazeFace');

  return {
    modules,
    verifiedLayers: [layer, ...modelLayers].map((l) => `${l.name} (${describeShape(l.shape)})`),
    verification,
    benchmark,
    dspExactness,
    fpgaModel,
    fpga,
    compression,
    quantized,
    stepMs,
    sources: [
      `fkb run: verify + bench on the reference layer; dsp conv and model a (ZCU104) on ${networkName}; fkb compress settings on the embedded model; fkb quantize on BlazeFace`,
    ],
  };
}
