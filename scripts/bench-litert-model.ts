/**
 * The whole embedded Fashion-MNIST int8 model on our kernels and on LiteRT.js (XNNPACK):
 * tensor-by-tensor exactness on held-out images, then images/s (harness/pipelines/litert-model.ts).
 * Run: npx tsx scripts/bench-litert-model.ts [--threads 1,2] [--time ms] [--images n]
 * (threads above 1: relaxed SIMD, e.g. .engines' Node 24: $(node scripts/engines.js --path) --import tsx ...)
 */
import { loadavg } from 'node:os';
import { benchLiteRtModel } from '../harness/pipelines/litert-model.ts';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const before = loadavg()[0]!.toFixed(2);
const r = await benchLiteRtModel({
  threads: (opt('--threads') ?? '1').split(',').map(Number),
  timeMs: Number(opt('--time') ?? 1000),
  checkImages: Number(opt('--images') ?? 200),
});
console.log(`${r.model}: ${(r.macsPerImage / 1e6).toFixed(2)} MMAC per image; Node ${process.version}; load average ${before} before, ${loadavg()[0]!.toFixed(2)} after`);
console.log(`multipliers: ${r.multipliers.retargeted} of ${r.multipliers.channels} convolution channels take XNNPACK's float32 multiplier (no filter scale carries the quantizer's exactly)`);
console.log(`exactness on ${r.checkedImages} held-out images (tensor: differing codes / codes): ${r.tensors.map((t) => `${t.name} ${t.differing}/${t.codes}`).join(', ')}; same top-1 on ${r.sameTop1}`);
const litert = r.rows.find((x) => x.who.includes('1 thread'));
for (const x of r.rows) {
  console.log(`${x.who.padEnd(64)} ${x.p50Ms.toFixed(4)} ± ${x.madMs.toFixed(4)} ms  ${x.imagesPerSecond.toFixed(0).padStart(6)} images/s  x LiteRT(1) ${litert ? (litert.p50Ms / x.p50Ms).toFixed(2) : '-'}  n=${x.samples}`);
}
process.exit(0);
