/**
 * The layering of harness/, bottom to top (docs in README "Layout"):
 *
 *   util, conv, networks, results      plain helpers, shapes, layer tables, result types
 *   registry                           the lists of kernel variants
 *   reference, dsp, problems           the oracle, the DSP48E2 slice and packed-engine models, problem builders
 *   wasm                               loading the modules, running a kernel
 *   testers, verify, bench, exactness, ort, tflite   drivers that run kernels and check or time them (ort, tflite: the peers)
 *   model, prune, quant, lowrank, fpga CNN graphs, compression (pruning, quantization, low rank), FPGA models
 *   qonnx                              quantized ONNX import: a float graph plus the model's own quantizers and
 *                                      integer weights, for quant/'s integer graph
 *   pipelines, cosim, synth, search    the jobs (fkb run, compress, mixed precision, BlazeFace; RTL co-simulation;
 *                                      Yosys synthesis of the engine RTL and the fabric fit; the compression search)
 *   report                             renders results
 *   cli, browser                       front ends
 *
 * parallel/ is a leaf: the pool runs the job module its caller names.
 */
const layer = (folders) => `^harness/(${folders.join('|')})/`;
const BOTTOM = ['util', 'conv', 'networks', 'results'];
const REGISTRY = ['registry'];
const ORACLE = ['reference', 'dsp', 'problems'];
const LOADER = ['wasm'];
const DRIVERS = ['testers', 'verify', 'bench', 'exactness', 'ort', 'tflite'];
const CORE = ['model', 'prune', 'quant', 'lowrank', 'fpga'];
/** Built on model/ (the float importer) and quant/ (the integer graph it feeds): neither may import it. */
const QUANT_IMPORT = ['qonnx'];
const PIPELINES = ['pipelines', 'cosim', 'synth', 'search'];
const REPORT = ['report'];
const FRONT = ['cli', 'browser'];
const ORDER = [BOTTOM, REGISTRY, ORACLE, LOADER, DRIVERS, CORE, QUANT_IMPORT, PIPELINES, REPORT, FRONT];

/** Each layer may import only itself and the layers below it. */
const upward = ORDER.slice(0, -1).map((here, i) => ({
  name: `no-upward-from-${here[0]}`,
  comment: `${here.join(', ')} must not import the layers above them (${ORDER.slice(i + 1).flat().join(', ')})`,
  severity: 'error',
  from: { path: layer(here) },
  to: { path: layer(ORDER.slice(i + 1).flat()) },
}));

module.exports = {
  forbidden: [
    { name: 'no-circular', comment: 'import cycles', severity: 'error', from: {}, to: { circular: true } },
    ...upward,
    {
      name: 'report-reads-results-only',
      comment: 'the report renders results data: it imports results types and util, nothing that computes them',
      severity: 'error',
      from: { path: '^harness/report/' },
      to: { path: '^harness/', pathNot: ['^harness/(report|results|util)/'] },
    },
    {
      name: 'bottom-stays-plain',
      comment: 'results, util, conv and networks import only each other',
      severity: 'error',
      from: { path: layer(BOTTOM) },
      to: { path: '^harness/', pathNot: layer(BOTTOM) },
    },
    {
      name: 'model-below-compression',
      comment: 'the CNN graph knows nothing of the quantization, pruning, low-rank factorization and FPGA built on it',
      severity: 'error',
      from: { path: '^harness/model/' },
      to: { path: layer(['quant', 'prune', 'lowrank', 'fpga']) },
    },
    {
      name: 'parallel-is-a-leaf',
      comment: 'the worker pool imports nothing of harness/: each client ships its own job module',
      severity: 'error',
      from: { path: '^harness/parallel/' },
      to: { path: '^harness/', pathNot: '^harness/parallel/' },
    },
    {
      name: 'commands-never-import-commands',
      comment: 'shared command-line helpers live in harness/cli/, library logic in the library',
      severity: 'error',
      from: { path: '^harness/cli/commands/([^/]+)\\.ts$' },
      to: { path: '^harness/cli/commands/', pathNot: '^harness/cli/commands/$1\\.ts$' },
    },
    {
      name: 'library-never-imports-tests-or-scripts',
      severity: 'error',
      from: { path: '^harness/' },
      to: { path: '^(test|scripts|bench|tools)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.mjs', '.js'] },
  },
};
