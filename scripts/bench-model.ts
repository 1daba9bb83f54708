/**
 * Whole-model images/s on one thread, same images: ours (the integer graph compiled into one
 * WASM instance, single and batched), ours before (a KernelRunner per layer), onnxruntime-web on
 * the exported int8 ONNX, LiteRT.js on the exported .tflite (harness/pipelines/model-throughput.ts).
 * Run: npx tsx scripts/bench-model.ts [--models fashion-mnist,blazeface] [--time ms] [--images n] [--batch n]
 * Node 24: $(node scripts/engines.js --path) --import tsx scripts/bench-model.ts ...
 */
import { loadavg } from 'node:os';
import { THROUGHPUT_MODELS, type ThroughputModel, benchModelThroughput } from '../harness/pipelines/model-throughput.ts';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const models = (opt('--models')?.split(',') ?? [...THROUGHPUT_MODELS]) as ThroughputModel[];
const bad = models.find((m) => !(THROUGHPUT_MODELS as readonly string[]).includes(m));
if (bad) {
  console.error(`--models: '${bad}' is not one of ${THROUGHPUT_MODELS.join(', ')}`);
  process.exit(2);
}
const before = loadavg()[0]!.toFixed(2);
const t0 = new Date().toISOString().slice(11, 16);
const results = await benchModelThroughput({ models, timeMs: Number(opt('--time') ?? 1000), images: Number(opt('--images') ?? 200), batch: Number(opt('--batch') ?? 32) });
console.log(`Node ${process.version}; ${t0}-${new Date().toISOString().slice(11, 16)} UTC; load average ${before} before, ${loadavg()[0]!.toFixed(2)} after`);
for (const r of results) {
  console.log(`\n${r.model}: ${(r.macsPerImage / 1e6).toFixed(2)} MMAC per image; ${r.imageCount} images (${r.images})`);
  console.log(`convolutions: ${r.convKinds.join('; ')}`);
  const ours = r.rows[0]!;
  const named = (s: string) => r.rows.find((x) => x.who.startsWith(s) && !x.skipped);
  const ort = named('onnxruntime');
  const lrt = named('LiteRT');
  console.log('| who | p50 ± MAD (ms per image) | images/s | x onnxruntime-web | x LiteRT.js | output codes differing from ours | n |');
  console.log('|---|---|---|---|---|---|---|');
  for (const x of r.rows) {
    if (x.skipped) {
      console.log(`| ${x.who} | not run: ${x.skipped} | | | | | |`);
      continue;
    }
    const ratio = (p: typeof ours | undefined) => (p ? (p.p50Ms / x.p50Ms).toFixed(2) : '-');
    const diff = x.codes === undefined ? '' : `${x.differing} / ${x.codes}`;
    console.log(`| ${x.who} | ${x.p50Ms.toFixed(4)} ± ${x.madMs.toFixed(4)} | ${x.imagesPerSecond.toFixed(0)} | ${ratio(ort)} | ${ratio(lrt)} | ${diff} | ${x.samples} |`);
  }
}
process.exit(0);
