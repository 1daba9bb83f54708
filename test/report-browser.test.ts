/**
 * The HTML report (harness/report): escaping, the atomic write, and the page itself opened in
 * headless Chromium with every non-file request blocked: every chart drawn (pixels inside its
 * chart area, data points in every dataset), no console errors, no network, no injected markup.
 * One report is built from synthetic data covering every section (with hostile strings), one
 * from a real `fkb bench` run. Screenshots (and the HTML they show) go to test-artifacts/.
 *
 * Without /usr/bin/chromium the browser tests FAIL (they are not skipped silently) unless
 * FKB_ALLOW_NO_BROWSER=1 is set.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type BenchReport, type Measurement } from '../harness/results/index.ts';
import { type ModelReport } from '../harness/results/index.ts';
import { type LayerExactness } from '../harness/results/index.ts';
import { chartSpecs, escapeHtml, jsonForScript, renderReportHtml, shortKernel, writeReport } from '../harness/report/html.ts';
import { collectReportData, summarizeVerification } from '../harness/report/report-data.ts';
import { type QuantizeSummary, type ReportData, type SynthReport } from '../harness/results/index.ts';
import { InputError } from '../harness/util/errors.ts';
import { type VerifyResult } from '../harness/results/index.ts';
import { fpgaSection } from '../harness/fpga/compare.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Debian's Chromium; FKB_CHROMIUM overrides it (used to check the not-installed path). */
const CHROMIUM = process.env['FKB_CHROMIUM'] ?? '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-artifacts');
const work = mkdtempSync(join(tmpdir(), 'fkb-report-test-'));

/** Strings that would run or break markup if any were put into the HTML unescaped. */
const HOSTILE_LAYER = `<img src=x onerror="window.__pwned='layer'">`;
const HOSTILE_KERNEL = `qs8_evil</script><script>window.__pwned='kernel'</script>`;

// ---------------------------------------------------------------------------------------------
// Synthetic data: every section present

function measurement(layer: string, kernel: string, module: Measurement['module'], p50Ms: number, extra: Partial<Measurement> = {}): Measurement {
  const macs = 115_605_504;
  return {
    layer, shape: layer === HOSTILE_LAYER ? '28x28x128->128 k3x3 s1,1 p1,1,1,1' : '56x56x64->64 k3x3 s1,1 p1,1,1,1', macs, kernel, module,
    p50Ms, madMs: p50Ms / 50, samples: 20, gmacs: macs / p50Ms / 1e6, verifiedAgainst: 'qs8_splitconv_minmax_1x1c1__scalar_loops', ...extra,
  };
}

function syntheticBench(): BenchReport {
  const layers = ['reference 56x56x64->64 k3 s1 p1', HOSTILE_LAYER];
  const measurements: Measurement[] = [];
  for (const [i, layer] of layers.entries()) {
    const s = 1 + i * 0.5;
    const rows = [
      measurement(layer, 'qs8_splitconv_minmax_1x1c1__scalar_loops', 'scalar', 100 * s),
      measurement(layer, 'qs8_splitconv_minmax_2x4c8__wasmsimd_dot16x8', 'simd', 3 * s),
      measurement(layer, HOSTILE_KERNEL, 'simd', 5 * s),
      measurement(layer, 'qs8_splitconv_minmax_2x4c8__wasmsimd_dot16x8', 'relaxed', 2.5 * s),
      measurement(layer, 'qs8_dsppack_minmax_3x8c2__wasmsimd_dot16x8_int8x8 (int8x8, L=16, cascade)', 'simd', 3.8 * s, {
        dsp: { config: { scheme: 'int8x8', chain: 16, decode: 'cascade' }, outputsDifferingFromExact: 3, maxOutputError: 1 },
      }),
      measurement(layer, 'onnxruntime-web QLinearConv (uint8)', 'onnxruntime-web', 4 * s),
      measurement(layer, 'onnxruntime-web QLinearConv (int8)', 'onnxruntime-web', 4.5 * s),
    ];
    for (const r of rows) {
      r.speedupVsScalar = rows[0]!.p50Ms / r.p50Ms;
      r.speedupVsOrt = rows[5]!.p50Ms / r.p50Ms;
    }
    measurements.push(...rows);
  }
  return {
    date: '2026-01-02T03:04:05.000Z',
    machine: { cpu: 'Synthetic CPU <b>bold</b>', cores: 2, avxVnni: true, node: 'v20.0.0', v8: '11.3' },
    options: { timeMs: 100, minIterations: 5, mode: 'fp32', ort: true, seed: 1, filter: [], dsp: { scheme: 'int8x8', chain: 16, decode: 'cascade' }, packed: true, threads: 1 },
    modules: [{ name: 'scalar', used: true }, { name: 'simd', used: true }, { name: 'relaxed', used: false, reason: 'engine <too old>' }],
    measurements,
    exhaustive: [{ scheme: 'int8x8', cases: 16_777_216, mismatches: 0, p50Ms: 200, madMs: 5, samples: 3 }],
  };
}

function syntheticVerification(): VerifyResult[] {
  const out: VerifyResult[] = [];
  for (const mode of ['raw', 'gemmlowp', 'fp32']) {
    out.push({ layer: 'reference', shape: 's', kernel: 'qs8_splitconv_minmax_2x4c8__wasmsimd_dot16x8', module: 'simd', mode, outputs: 200704, ok: true });
    out.push({ layer: 'reference', shape: 's', kernel: HOSTILE_KERNEL, module: 'simd', mode, outputs: 200704, ok: mode !== 'fp32', ...(mode === 'fp32' ? { error: `first difference at <0,0,0>: got 3 want 4` } : {}) });
  }
  return out;
}

function exactnessRows(scheme: string, bound: number, differing: number[]): LayerExactness[] {
  const layers = ['net/conv1', 'net/conv2', `net/${HOSTILE_LAYER}`, 'net/fc'];
  return layers.map((layer, i) => ({
    layer, shape: '56x56x64->64 k3x3 s1,1 p1,1,1,1', kernel: `qs8_dsppack_minmax_3x8c2__wasmsimd_dot16x8_${scheme}`,
    scheme: scheme as LayerExactness['scheme'], chain: 16, decode: 'cascade', productsPerDecode: i === 0 ? 3 : 16, bound, safeInWorstCase: i === 0,
    outputs: 200_704, accumulatorsDiffering: differing[i]!, maxAccumulatorError: differing[i] ? 1 << 18 : 0, outputsDiffering: differing[i]!, maxOutputError: differing[i] ? 7 : 0,
  }));
}

function syntheticModel(): ModelReport {
  const layer = (name: string, shape: string, macs: number, offChipBytes: number, gops: number, bound: 'compute' | 'memory') => ({
    name, shape, ops: 2 * macs, macs, computeCycles: 1000, memoryCycles: 500, cycles: 1000, timeNs: (2 * macs) / gops, offChipBytes,
    peakGops: 153.6, attainableGops: gops, bound, dsp: 128, bram: 10, packing: 2 as const, utilization: gops / 153.6, detail: {}, warnings: [],
  });
  return {
    model: 'a (splitconv)', device: 'xczu7ev (ZCU104)', clockMHz: 300, network: 'net', params: { L: 16, Po: 8 },
    layers: [
      layer('conv1', '56x56x64->64 k3x3 s1,1 p1,1,1,1', 115_605_504, 438_272, 153.6, 'compute'),
      layer(HOSTILE_LAYER, '28x28x128->128 k3x3 s1,1 p1,1,1,1', 115_605_504, 300_000, 120, 'compute'),
      layer('fc', '1x1x512->1000 k1x1 s1,1 p0,0,0,0', 512_000, 514_000, 38, 'memory'),
    ],
    totals: { macs: 231_723_008, cycles: 3000, timeNs: 3e6, gops: 140, dsp: 128, bram: 10, resources: 'max', memoryBoundLayers: 1 },
    warnings: ['fc: <memory> bound'],
  };
}

function syntheticData(): ReportData {
  const bench = syntheticBench();
  return collectReportData({
    title: `Synthetic report ${HOSTILE_LAYER}`,
    bench,
    verification: syntheticVerification(),
    dspConv: [
      { label: 'random operands', rows: exactnessRows('int8x8', 7, [0, 120, 5000, 0]) },
      { label: 'extreme operands', rows: exactnessRows('int8x8', 7, [0, 34000, 20000, 300]) },
      exactnessRows('int4', 8, [0, 0, 10, 2]),
    ],
    fpga: fpgaSection(syntheticModel(), bench),
    compression: {
      network: 'resnet18', dataset: 'synthetic <set>', metric: 'top-1 accuracy',
      points: [
        { setting: 'fp32 baseline', method: 'baseline', accuracy: 0.697, sizeBytes: 46.8e6, macs: 1.82e9 },
        { setting: 'int8 per-channel', method: 'quantization', accuracy: 0.694, sizeBytes: 11.7e6, macs: 1.82e9 },
        { setting: 'int4 weights', method: 'quantization', accuracy: 0.671, sizeBytes: 5.9e6, macs: 1.82e9 },
        { setting: 'int8, 50 % pruned', method: 'pruning', accuracy: 0.688, sizeBytes: 5.9e6, macs: 0.95e9 },
        { setting: `int8, 80 % pruned ${HOSTILE_KERNEL}`, method: 'pruning', accuracy: 0.641, sizeBytes: 2.4e6, macs: 0.41e9 },
      ],
    },
    quantized: syntheticQuantized(),
    synth: syntheticSynth(),
    sources: ['synthetic'],
    now: new Date('2026-01-02T04:00:00.000Z'),
  });
}

/** An `fkb quantize --json` result (two outputs, one with a null SQNR: float equal to int). */
function syntheticQuantized(): QuantizeSummary {
  const be = (sqnrDb: number, argmaxAgree: number) => ({ sqnrDb, maxAbsError: 0.5, argmaxAgree });
  return {
    model: `detector ${HOSTILE_LAYER}`, observer: 'minmax', calibrationInputs: 8, measuredInputs: 8, macs: 30_760_960,
    outputs: [
      { name: 'scores', values: 896, byBackend: { wasm: be(25.73, 8), dsp: be(24.5, 7) } },
      { name: 'boxes', values: 14336, byBackend: { wasm: JSON.parse('{"sqnrDb":null,"maxAbsError":0,"argmaxAgree":8}'), dsp: be(19.25, 3) } },
    ],
    tensors: [{ name: 'conv1', sqnrDb: 30 }],
    comparedWith: 'wasm',
    differingFromReference: { wasm: 0, dsp: 37 },
    outputCodes: 121_856,
    scores: { outputs: ['scores'], threshold: Math.log(3), floatPositives: 6, byBackend: { wasm: { bestAgree: 6, decisionAgree: 8, positives: 6 }, dsp: { bestAgree: 5, decisionAgree: 7, positives: 5 } } },
    msPerInput: { wasm: 60, dsp: 70 },
  };
}

/** An `fkb synth --json` result: two training rows, two held-out ones (one a DSP miss), one outside the grid. */
function syntheticSynth(): SynthReport {
  const row = (scheme: string, L: number, Po: number, Pp: number, role: 'train' | 'heldout' | undefined, dspYosys: number, lut: [number, number, number], ff: [number, number, number]) => ({
    scheme, L, Po, Pp, ...(role ? { role } : {}),
    dsp: { model: L * Po * Pp, yosys: dspYosys, equal: L * Po * Pp === dspYosys },
    lut: { model: lut[0], yosys: lut[1], errorPct: lut[2] }, ff: { model: ff[0], yosys: ff[1], errorPct: ff[2] },
    carry: 432 + L, lutram: L + 1, seconds: 0, cached: true,
  });
  return {
    yosysVersion: 'Yosys 0.23 <test>', flow: 'synth_xilinx -family xcup', tolerancePct: 10,
    rows: [
      row('unpacked', 2, 1, 1, 'train', 2, [3055, 3158, 3.26], [1720, 1721, 0.06]),
      row('int8x8', 4, 2, 2, 'train', 16, [5400, 5300, 1.89], [4100, 4000, 2.5]),
      row('int4', 3, 2, 2, 'heldout', 12, [4800, 4000, 20.0], [3300, 3250, 1.5]),
      row('int8xu8', 2, 2, 2, 'heldout', 7, [3900, 4100, 4.88], [2500, 2600, 3.9]),
      row(`wp487u8 ${HOSTILE_LAYER}`, 3, 1, 1, undefined, 3, [3100, 3120, 0.64], [1800, 1790, 0.56]),
    ],
    dspAllEqual: false, withinTolerance: false,
  };
}

/** The JSON embedded in a `<script type="application/json" id=...>` block, parsed. */
function embedded(html: string, id: string): unknown {
  const m = new RegExp(`<script type="application/json" id="${id}">([\\s\\S]*?)</script>`).exec(html);
  assert.ok(m, `no JSON block ${id}`);
  return JSON.parse(m![1]!);
}

// ---------------------------------------------------------------------------------------------
// Unit tests: escaping, structure, atomic write

test('escapeHtml escapes the five HTML metacharacters; jsonForScript cannot close its block', () => {
  assert.is(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  assert.is(escapeHtml(42), '42');
  const s = jsonForScript({ k: '</script><!-- & \u2028' });
  assert.not.match(s, /[<>&\u2028]/);
  assert.equal(JSON.parse(s), { k: '</script><!-- & \u2028' });
});

test('renderReportHtml: hostile strings are escaped everywhere, the embedded data round-trips', () => {
  const data = syntheticData();
  const html = renderReportHtml(data);
  assert.not.ok(html.includes('<img src=x'), 'an unescaped <img> from a layer name');
  assert.not.ok(html.includes("<script>window.__pwned"), 'an unescaped <script> from a kernel name');
  assert.not.ok(html.includes('<b>bold</b>'), 'unescaped markup from the CPU name');
  assert.ok(html.includes('&lt;img src=x onerror=&quot;window.__pwned=&#39;layer&#39;&quot;&gt;'));
  assert.is(html.match(/<script\b/g)!.length, 4, 'two JSON blocks, Chart.js, the page script');
  assert.equal(embedded(html, 'fkb-report-data'), data);
  assert.equal(embedded(html, 'fkb-charts'), chartSpecs(data));
  // Nothing refers to the network.
  assert.not.match(html, /\b(src|href)\s*=\s*["']?(https?:)?\/\//i);
  assert.not.match(html, /<link\b/i);
  const ids = [...html.matchAll(/<canvas data-chart="([^"]+)"/g)].map((m) => m[1]);
  assert.equal(ids, ['gmacs', 'speedup', 'dsp-exactness', 'fpga-vs-wasm', 'roofline', 'compression-size', 'compression-macs']);
  assert.not.match(html, /not available in this run/i);
});

test('missing optional sections render a "not available in this run" note instead of a chart', () => {
  const data = collectReportData({ bench: syntheticBench(), now: new Date(0) });
  const html = renderReportHtml(data);
  const ids = [...html.matchAll(/<canvas data-chart="([^"]+)"/g)].map((m) => m[1]);
  assert.equal(ids, ['gmacs', 'speedup']);
  const notes = html.match(/Not available in this run/g) ?? [];
  assert.is(notes.length, 6, 'verification, packed-DSP exactness, FPGA model, synthesis, compression, quantized detector');
  assert.match(html, /no synthesis comparison \(fkb synth --grid --json\)/);
});

test('quantized section: SQNR per output and backend (null = exact), detection agreement, codes differing from the compared backend', () => {
  const html = renderReportHtml(syntheticData());
  const i = html.indexOf('<section id="quantized">');
  assert.ok(i > 0, 'a quantized section');
  const text = html.slice(i, html.indexOf('</section>', i)).replace(/<[^>]+>/g, ' ');
  assert.match(text, /detector &lt;img/, 'the hostile model name, escaped');
  assert.match(text, /scores\s+896\s+25\.73 dB\s+24\.50 dB\s+8 of 8/);
  assert.match(text, /boxes\s+14,336\s+exact\s+19\.25 dB/);
  assert.match(text, /score above 0\.75\): float finds 6 of 8 inputs positive; wasm: the same decision on 8, the same best anchor on 6; dsp: the same decision on 7/);
  assert.match(text, /differing from the wasm kernels \(bit-exact to the reference, as the tests prove\): dsp 37 of 121,856/);
  assert.throws(
    () => collectReportData({ bench: syntheticBench(), quantized: { ...syntheticQuantized(), outputs: [{ values: 1 }] } as unknown as QuantizeSummary }),
    (e: unknown) => e instanceof InputError && /outputs\[0\] needs a name/.test((e as Error).message),
  );
});

test('synthesis section: model vs Yosys per configuration (DSP, LUT, FF, CARRY, role), held-out median and max, bad input', () => {
  const html = renderReportHtml(syntheticData());
  const sec = /<section id="synth">([\s\S]*?)<\/section>/.exec(html)?.[1] ?? '';
  assert.ok(sec, 'a synth section');
  assert.match(sec, /<h2>FPGA model vs Yosys synthesis<\/h2>/);
  assert.match(sec, /Yosys 0\.23 &lt;test&gt;/);
  assert.match(sec, /DSP 4\/5 equal/);
  assert.match(sec, /1 of 5 beyond 10 % LUT\/FF error/);
  // Held-out: LUT 20.0 and 4.88 (median 12.44, max 20), FF 1.5 and 3.9 (median 2.7, max 3.9).
  assert.match(sec, /Held-out configurations \(2, not fitted on\): LUT error median 12\.44 %, max 20\.00 %; FF error median 2\.70 %, max 3\.90 %/);
  const rows = [...sec.matchAll(/<tr>(.*?)<\/tr>/g)].map((m) => [...m[1]!.matchAll(/<t[dh][^>]*>(.*?)<\/t[dh]>/g)].map((c) => c[1]!.replace(/<[^>]+>/g, '')));
  assert.equal(rows[0], ['scheme', 'L', 'Po', 'Pp', 'set', 'DSP model', 'DSP Yosys', 'DSP equal', 'LUT model', 'LUT Yosys', 'LUT err %', 'FF model', 'FF Yosys', 'FF err %', 'CARRY', 'LUTRAM']);
  assert.is(rows.length, 6);
  assert.equal(rows[1], ['unpacked', '2', '1', '1', 'training', '2', '2', 'yes', '3,055', '3,158', '3.3', '1,720', '1,721', '0.1', '434', '3']);
  assert.equal(rows[3]!.slice(0, 11), ['int4', '3', '2', '2', 'held-out', '12', '12', 'yes', '4,800', '4,000', '20.0']);
  assert.equal(rows[4]!.slice(4, 8), ['held-out', '8', '7', 'no']);
  assert.equal(rows[5]!.slice(0, 5), [`wp487u8 ${escapeHtml(HOSTILE_LAYER)}`, '3', '1', '1', '–']);
  assert.not.ok(sec.includes(HOSTILE_LAYER), 'the scheme is escaped');
  assert.throws(
    () => collectReportData({ bench: syntheticBench(), synth: { ...syntheticSynth(), rows: [{ scheme: 'int8x8' }] } as unknown as SynthReport }),
    (e: unknown) => e instanceof InputError && /rows\[0\] needs scheme and dsp/.test((e as Error).message),
  );
});

test('collectReportData: verification grouped by kernel; FPGA layers matched to WASM by shape; bad input is an InputError', () => {
  const v = summarizeVerification(syntheticVerification());
  assert.is(v.checks, 6);
  assert.is(v.failed, 1);
  assert.is(v.rows.length, 2);
  assert.equal(v.rows[1]!.failed, ['fp32']);
  const data = syntheticData();
  const f = data.fpga!;
  assert.is(f.roof.bandwidthGBps, 19.2, 'ZCU104 bandwidth from the device catalogue');
  assert.is(f.layers[0]!.wasm!.kernel, 'qs8_splitconv_minmax_2x4c8__wasmsimd_dot16x8', 'fastest non-ORT kernel on the shape');
  assert.is(f.layers[0]!.wasm!.module, 'relaxed');
  assert.is(f.layers[2]!.wasm, undefined, 'no measurement of the fc shape');
  assert.is(f.layers[0]!.operationalIntensity, (2 * 115_605_504) / 438_272);
  assert.throws(() => collectReportData({}), (e: unknown) => e instanceof InputError && /needs a benchmark/.test((e as Error).message));
  assert.throws(() => collectReportData({ bench: join(work, 'missing.json') }), (e: unknown) => e instanceof InputError && (e as Error).message.includes('missing.json'));
  const bad = { network: 'n', dataset: 'd', metric: 'm', points: [{ setting: 's', accuracy: 69.7, sizeBytes: 1, macs: 1 }] };
  assert.throws(() => collectReportData({ bench: syntheticBench(), compression: bad }), (e: unknown) => e instanceof InputError && /fraction/.test((e as Error).message));
  assert.is(shortKernel('qs8_dsppack_minmax_3x8c2__wasmsimd_dot16x8_int8x8 (int8x8, L=16, cascade)'), 'dsppack 3x8c2 wasmsimd_dot16x8_int8x8');
});

test('writeReport writes report.json and report.html and leaves no temporary file', () => {
  const dir = join(work, 'out', 'nested');
  const data = syntheticData();
  const files = writeReport(dir, data);
  assert.equal(readdirSync(dir).sort(), ['report.html', 'report.json']);
  assert.equal(JSON.parse(readFileSync(files.json, 'utf8')), data);
  assert.is(readFileSync(files.html, 'utf8'), renderReportHtml(data));
});

test('writeReport: a render that throws writes nothing and keeps the previous report', () => {
  const broken = { ...syntheticData(), benchmark: { ...syntheticBench(), measurements: null } } as unknown as ReportData;
  const fresh = join(work, 'broken-fresh');
  assert.throws(() => writeReport(fresh, broken));
  assert.not.ok(existsSync(join(fresh, 'report.html')));
  assert.not.ok(existsSync(join(fresh, 'report.json')));

  const kept = join(work, 'broken-kept');
  mkdirSync(kept);
  writeFileSync(join(kept, 'report.html'), 'old html');
  writeFileSync(join(kept, 'report.json'), 'old json');
  assert.throws(() => writeReport(kept, broken));
  assert.equal(readdirSync(kept).sort(), ['report.html', 'report.json']);
  assert.is(readFileSync(join(kept, 'report.html'), 'utf8'), 'old html');
});

test('writeReport: an unwritable directory is an InputError naming the path', () => {
  // A path below a regular file cannot be created, even by root (chmod does not stop root).
  const file = join(work, 'a-file');
  writeFileSync(file, 'x');
  const dir = join(file, 'report');
  assert.throws(() => writeReport(dir, syntheticData()), (e: unknown) => e instanceof InputError && (e as Error).message.includes(dir));
  assert.throws(() => writeReport(file, syntheticData()), (e: unknown) => e instanceof InputError && (e as Error).message.includes(file));
});

// ---------------------------------------------------------------------------------------------
// Browser tests

const haveBrowser = existsSync(CHROMIUM);
let browser: Browser | undefined;

/** True when the browser tests may run; false (after saying so) when allowed to skip; else fails. */
function browserAvailable(): boolean {
  if (haveBrowser) return true;
  const line = `report-browser: ${CHROMIUM} not found: the browser test was NOT run (apt-get install -y chromium)`;
  console.log(line);
  if (process.env['FKB_ALLOW_NO_BROWSER'] === '1') return false;
  assert.unreachable(`${line}; set FKB_ALLOW_NO_BROWSER=1 to allow this`);
  return false;
}

async function launch(): Promise<Browser> {
  // chromium.launch starts every browser with a fresh temporary user-data dir of its own.
  browser ??= await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  return browser;
}

interface CanvasCheck {
  id: string;
  width: number;
  height: number;
  ink: number;
  coloredInArea: number;
  datasets: { label: string; points: number }[] | null;
}

/** Opens a written report, checks every chart and the page's hygiene, saves a screenshot. */
async function checkReportInBrowser(htmlFile: string, screenshot: string, expectedCharts: string[]): Promise<string> {
  const page = await (await launch()).newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  const blocked: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:')) return route.continue();
    blocked.push(url);
    return route.abort('blockedbyclient');
  });
  try {
    await page.goto(pathToFileURL(htmlFile).href, { waitUntil: 'load' });
    await page.waitForFunction(() => typeof (window as { __fkbChartsRendered?: number }).__fkbChartsRendered === 'number', undefined, { timeout: 20_000 });
    const rendered = await page.evaluate(() => (window as { __fkbChartsRendered?: number }).__fkbChartsRendered);
    const checks = await page.evaluate((): CanvasCheck[] => {
      const Chart = (window as unknown as { Chart: { getChart(c: HTMLCanvasElement): { chartArea: { left: number; top: number; right: number; bottom: number }; currentDevicePixelRatio: number; data: { datasets: { label?: string; data: unknown[] }[] } } | undefined } }).Chart;
      return [...document.querySelectorAll<HTMLCanvasElement>('canvas[data-chart]')].map((c) => {
        const chart = Chart.getChart(c);
        const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        const dpr = chart?.currentDevicePixelRatio ?? 1;
        const a = chart?.chartArea ?? { left: 0, top: 0, right: 0, bottom: 0 };
        let ink = 0;
        let coloredInArea = 0;
        for (let i = 0; i < px.length; i += 4) {
          const [r, g, b, alpha] = [px[i]!, px[i + 1]!, px[i + 2]!, px[i + 3]!];
          if (alpha === 0 || (r > 248 && g > 248 && b > 248)) continue;
          ink++;
          const x = (i / 4) % c.width;
          const y = Math.floor(i / 4 / c.width);
          const inArea = x >= a.left * dpr && x <= a.right * dpr && y >= a.top * dpr && y <= a.bottom * dpr;
          if (inArea && Math.max(r, g, b) - Math.min(r, g, b) > 50) coloredInArea++;
        }
        const datasets = chart
          ? chart.data.datasets.map((d) => ({ label: String(d.label), points: d.data.filter((v) => v !== null && v !== undefined).length }))
          : null;
        return { id: c.dataset['chart'] ?? '', width: c.width, height: c.height, ink, coloredInArea, datasets };
      });
    });
    assert.equal(checks.map((c) => c.id), expectedCharts, 'the charts on the page');
    assert.is(rendered, expectedCharts.length, 'window.__fkbChartsRendered');
    for (const c of checks) {
      assert.ok(c.width > 0 && c.height > 0, `${c.id}: canvas has no size`);
      assert.ok(c.ink > 1000, `${c.id}: canvas nearly empty (${c.ink} drawn pixels)`);
      assert.ok(c.coloredInArea > 50, `${c.id}: no data drawn inside the chart area (${c.coloredInArea} coloured pixels)`);
      assert.ok(c.datasets && c.datasets.length > 0, `${c.id}: Chart.getChart found no datasets`);
      for (const d of c.datasets!) assert.ok(d.points > 0, `${c.id}: dataset '${d.label}' has no data points`);
    }
    assert.equal(errors, [], 'console errors');
    assert.equal(blocked, [], 'network requests');
    assert.is(await page.evaluate(() => (window as { __pwned?: string }).__pwned), undefined, 'injected script ran');
    mkdirSync(dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    copyFileSync(htmlFile, screenshot.replace(/\.png$/, '.html'));
    return await page.evaluate(() => document.body.innerText);
  } finally {
    await page.close();
  }
}

test('browser: the synthetic report draws all 7 charts, offline, without errors or injected markup', async () => {
  if (!browserAvailable()) return;
  const dir = join(work, 'synthetic');
  writeReport(dir, syntheticData());
  const text = await checkReportInBrowser(join(dir, 'report.html'), join(ARTIFACTS, 'report-synthetic.png'), [
    'gmacs', 'speedup', 'dsp-exactness', 'fpga-vs-wasm', 'roofline', 'compression-size', 'compression-macs',
  ]);
  assert.ok(text.includes(HOSTILE_LAYER), 'the hostile layer name shows as text');
  assert.match(text, /5 of 6 checks bit-exact/);
});

/** Runs `fkb <args>` and parses its JSON stdout. */
function fkbJson<T>(args: string[]): T {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'fkb.js'), ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.is(r.status, 0, `fkb ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

test('browser: a report of a real fkb bench run, with dsp conv and model results', async () => {
  if (!browserAvailable()) return;
  const bench = fkbJson<BenchReport>(['bench', '--reference', '--no-ort', '--time', '100', '--json']);
  const data = collectReportData({
    title: 'fkb bench --reference (report-browser test)',
    bench,
    dspConv: [fkbJson<LayerExactness[]>(['dsp', 'conv', '--json', '--layers', 'reference'])],
    fpga: fpgaSection(fkbJson<ModelReport>(['model', '--arch', 'a', '--device', 'zcu104', '--layers', 'resnet18', '--json']), bench),
    sources: ['fkb bench --reference --no-ort --time 100 --json', 'fkb dsp conv --json --layers reference', 'fkb model --arch a --device zcu104 --layers resnet18 --json'],
  });
  assert.ok(data.fpga!.layers.some((l) => l.wasm), 'the reference layer shape occurs in ResNet-18');
  const dir = join(work, 'real');
  writeReport(dir, data);
  const text = await checkReportInBrowser(join(dir, 'report.html'), join(ARTIFACTS, 'report.png'), ['gmacs', 'speedup', 'dsp-exactness', 'fpga-vs-wasm', 'roofline']);
  assert.match(text, /Not available in this run: no compression results/);
  assert.match(text, /Not available in this run: fkb verify/);
  console.log(`screenshot: ${join(ARTIFACTS, 'report.png')}`);
});

test.after(async () => {
  await browser?.close();
  rmSync(work, { recursive: true, force: true });
});

test.run();
