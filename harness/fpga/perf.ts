/**
 * Micro-benchmark: analytical layer evaluations per second, per model.
 *
 *   node --import tsx harness/fpga/perf.ts [--device zcu102] [--clock-mhz 300] [--batches 11]
 *
 * Each model evaluates every layer of ResNet-50 and MobileNet-v1 (82 layers) in batches of
 * ~50 ms; the report is the median over batches with the median absolute deviation (a single
 * mean hides warm-up and GC pauses). Target: >= 1e6 evaluations/s for every model.
 */
import { parseArgs } from 'node:util';
import { getDevice } from './devices.ts';
import { MODELS, MODEL_IDS, modelEvaluator } from './models/index.ts';
import { loadNetwork, type NetworkLayer } from '../networks/index.ts';
import { p50Mad } from '../util/stats.ts';

const TARGET = 1e6;

export function measure(evaluate: (l: NetworkLayer) => unknown, layers: readonly NetworkLayer[], batches: number) {
  // Warm-up and calibration: how many passes over `layers` take ~50 ms.
  let passes = 1;
  for (;;) {
    const t0 = process.hrtime.bigint();
    for (let p = 0; p < passes; p++) for (const l of layers) evaluate(l);
    const ns = Number(process.hrtime.bigint() - t0);
    if (ns > 50e6) break;
    passes *= 2;
  }
  const rates: number[] = [];
  let sink = 0;
  for (let b = 0; b < batches; b++) {
    const t0 = process.hrtime.bigint();
    for (let p = 0; p < passes; p++) for (const l of layers) sink += evaluate(l) ? 1 : 0;
    const ns = Number(process.hrtime.bigint() - t0);
    rates.push((passes * layers.length * 1e9) / ns);
  }
  return { ...p50Mad(rates), sink };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      device: { type: 'string', default: 'zcu102' },
      'clock-mhz': { type: 'string', default: '300' },
      batches: { type: 'string', default: '11' },
    },
  });
  const device = getDevice(values.device);
  const clock = Number(values['clock-mhz']);
  const batches = Number(values.batches);
  const layers = [...loadNetwork('resnet50').layers, ...loadNetwork('mobilenet-v1').layers];
  console.log(`device ${device.name} (${device.board}), ${clock} MHz, ${layers.length} layers per pass, ${batches} batches`);
  let ok = true;
  for (const id of MODEL_IDS) {
    const m = MODELS[id];
    const ev = modelEvaluator(m, {}, device, clock);
    const { p50, mad } = measure(ev.evaluate, layers, batches);
    const pass = p50 >= TARGET;
    ok &&= pass;
    console.log(
      `model ${id} ${m.name.padEnd(9)} ${(p50 / 1e6).toFixed(2).padStart(6)} M evals/s ± ${(mad / 1e6).toFixed(2)} (MAD)  ${pass ? 'ok' : 'BELOW TARGET'}`,
    );
  }
  console.log(ok ? `all models >= ${TARGET.toExponential(0)} evaluations/s` : `some models below ${TARGET.toExponential(0)} evaluations/s`);
  process.exitCode = ok ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) main();
