/**
 * LiteRT.js (`@litertjs/core`, Google's web runtime of TFLite; its CPU path is XNNPACK compiled
 * to WebAssembly) loaded in Node from node_modules, running a `.tflite` model with int8 input
 * and output.
 *
 * Loading in Node: the package's loader is written for a page or a worker. It reads `self`, and
 * runs the Emscripten script with `importScripts` (a worker) or a <script> tag (a page). Here
 * `self` is globalThis and `importScripts` evaluates the script from node_modules with Node's
 * `require`, `__filename` and `__dirname`, so Emscripten takes its Node path and reads the .wasm
 * beside the script: nothing is fetched. Which build loads is the package's choice: with relaxed
 * SIMD (Node 22+, or Node 20 with --experimental-wasm-relaxed-simd) `litert_wasm_internal`, else
 * `litert_wasm_compat_internal` (plain SIMD); `threads: true` loads `litert_wasm_threaded_internal`
 * (relaxed SIMD required). LiteRT is process-global: the first load decides the build.
 *
 * int8 tensors: the package's `Tensor` wrapper takes float32, int32 and uint8 only, and its
 * CompiledModel refuses a model with an int8 input. The Emscripten bindings under it
 * (`liteRt.liteRtWasm`: loadModel, compileModel, LiteRtTensorBuffer.createManaged, run) take any
 * element type, so this module drives them directly: an int8 model, one int8 host buffer in,
 * the int8 output read back from the heap. `run` is the call to time: the compiled model's run
 * (which hands back fresh output buffers) and the release of those handles, nothing else.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../util/errors.ts';

const require = createRequire(import.meta.url);

/**
 * The parts of the package and its Emscripten bindings used here, typed locally: the package's
 * own .d.ts augments the global typed-array constructors (`new Int32Array(buffer)` then types as
 * Int32Array<ArrayBufferLike>), which would change how the rest of this project type-checks, so
 * it is imported by a specifier TypeScript does not resolve.
 */
interface Deletable {
  delete(): void;
}
interface EnumValue {
  value: number;
}
interface RankedTensorType extends Deletable {
  elementType(): EnumValue;
  bytes(): number;
}
interface TensorBuffer extends Deletable {
  lock(mode: EnumValue): number;
  unlock(): void;
}
interface LiteRtModel extends Deletable {
  getInputTensorType(signature: number, index: number): RankedTensorType;
  getOutputTensorType(signature: number, index: number): RankedTensorType;
}
interface CompiledModel extends Deletable {
  run(signature: number, inputs: TensorBuffer[]): TensorBuffer[] | Promise<TensorBuffer[]>;
}
interface Wasm {
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  loadModel(env: unknown, ptr: number, bytes: number): LiteRtModel;
  compileModel(env: unknown, model: LiteRtModel, options: object): CompiledModel | Promise<CompiledModel>;
  LiteRtTensorBuffer: { createManaged(env: unknown, type: EnumValue, tensorType: RankedTensorType, bytes: number): TensorBuffer };
  LiteRtTensorBufferType: { HOST_MEMORY: EnumValue };
  LiteRtTensorBufferLockMode: { READ: EnumValue; WRITE: EnumValue };
}
interface Environment {
  liteRtEnvironment: unknown;
}
interface LiteRt {
  liteRtWasm: Wasm;
  getDefaultEnvironment(): Environment;
}
interface LiteRtPackage {
  loadLiteRt(path: string, options?: { threads?: boolean }): Promise<LiteRt>;
}
const PACKAGE: string = '@litertjs/core';

export interface LiteRtLoadOptions {
  /** Load the threaded build (needs relaxed SIMD), so models can be compiled with numThreads > 1. @default false */
  threads?: boolean;
}

export interface LiteRtInfo {
  /** The Emscripten script the package picked. */
  build: string;
  /** Whether the threaded build was loaded. */
  threads: boolean;
}

const LOG: string[] = [];

/** What the runtime printed (model initialization, delegate creation), oldest first. */
export function liteRtLog(): readonly string[] {
  return LOG;
}

let loaded: Promise<{ liteRt: LiteRt; info: LiteRtInfo }> | undefined;

/** The package's wasm/ folder in node_modules. */
export function liteRtWasmDir(): string {
  return join(dirname(require.resolve('@litertjs/core/package.json')), 'wasm');
}

/** `self` and `importScripts`, the two worker globals the package's loader needs, for Node. */
function installNodeShims(onScript: (path: string) => void): void {
  const g = globalThis as Record<string, unknown>;
  g.self ??= globalThis;
  g.importScripts = (url: string) => {
    const path = url.startsWith('file:') ? new URL(url).pathname : url;
    onScript(path);
    const code = readFileSync(path, 'utf8');
    // The script declares `var ModuleFactory`; evaluate it as a function body and hand the factory to the loader.
    const factory = new Function('require', '__filename', '__dirname', `${code}\nreturn ModuleFactory;`)(createRequire(path), path, dirname(path));
    (g.self as Record<string, unknown>).ModuleFactory = factory;
  };
}

/**
 * Loads LiteRT.js once per process. A second call with other options gets the first build (the
 * package keeps one global instance); `info.threads` says which.
 */
export function loadLiteRtNode(options: LiteRtLoadOptions = {}): Promise<{ liteRt: LiteRt; info: LiteRtInfo }> {
  loaded ??= (async () => {
    let build = '';
    if (typeof (globalThis as { document?: unknown }).document === 'undefined') installNodeShims((p) => (build = p.split('/').pop() ?? p));
    const mod = (await import(PACKAGE)) as LiteRtPackage;
    // Environment.create looks for a WebGPU device and warns when there is none; the CPU path needs none.
    // The runtime's own log lines (INFO: ... XNNPACK delegate ...) go to `liteRtLog()`, not stderr.
    const warn = console.warn;
    console.warn = () => {};
    const g = globalThis as Record<string, unknown>;
    g.Module = {
      print: (line: string) => LOG.push(line),
      printErr: (line: string) => LOG.push(line),
      // The threaded build's pthread workers: see litert-pthread.cjs.
      mainScriptUrlOrBlob: fileURLToPath(new URL('./litert-pthread.cjs', import.meta.url)),
    };
    try {
      const liteRt = await mod.loadLiteRt(liteRtWasmDir(), { threads: options.threads ?? false });
      return { liteRt, info: { build, threads: options.threads ?? false } };
    } finally {
      console.warn = warn;
    }
  })();
  return loaded;
}

export interface LiteRtRunner {
  /** Copies an int8 input into the model's input buffer (outside the timed call). */
  setInput(input: Int8Array): void;
  /** Runs the model once and releases the output handles: the call to time. */
  run(): Promise<void>;
  /** Runs the model once and returns a copy of its int8 output. */
  runAndRead(): Promise<Int8Array>;
  /** Number of threads XNNPACK was compiled with. */
  readonly threads: number;
  release(): void;
}

export interface LiteRtRunnerOptions extends LiteRtLoadOptions {
  /** XNNPACK's thread count (CompileOptions.cpuOptions.numThreads). @default 1 */
  numThreads?: number;
}

const INT8 = 9; // litert::ElementType::Int8

/** Loads a model with one int8 input and one int8 output and compiles it for the CPU (XNNPACK). */
export async function createLiteRtRunner(model: Uint8Array, options: LiteRtRunnerOptions = {}): Promise<LiteRtRunner> {
  const { liteRt, info } = await loadLiteRtNode(options);
  const numThreads = options.numThreads ?? 1;
  if (numThreads > 1 && !info.threads) throw new InputError(`LiteRT.js was loaded without threads; numThreads=${numThreads} needs loadLiteRtNode({ threads: true }) first`);
  const wasm = liteRt.liteRtWasm;
  const env = liteRt.getDefaultEnvironment();
  const modelPtr = wasm._malloc(model.byteLength);
  wasm.HEAPU8.set(model, modelPtr);
  const liteRtModel = wasm.loadModel(env.liteRtEnvironment, modelPtr, model.byteLength);
  const compiled = await wasm.compileModel(env.liteRtEnvironment, liteRtModel, {
    environment: env,
    accelerator: 'wasm',
    cpuOptions: { numThreads },
    gpuOptions: {},
    webNNOptions: {},
  });
  const inType = liteRtModel.getInputTensorType(0, 0);
  const outType = liteRtModel.getOutputTensorType(0, 0);
  if (inType.elementType().value !== INT8 || outType.elementType().value !== INT8) {
    throw new InputError('the model must have an int8 input and an int8 output');
  }
  const inBytes = inType.bytes();
  const outBytes = outType.bytes();
  const input = wasm.LiteRtTensorBuffer.createManaged(env.liteRtEnvironment, wasm.LiteRtTensorBufferType.HOST_MEMORY, inType, inBytes);
  inType.delete();
  outType.delete();

  const runOnce = async (): Promise<TensorBuffer[]> => (await compiled.run(0, [input])) as TensorBuffer[];
  return {
    threads: numThreads,
    setInput(x) {
      if (x.length !== inBytes) throw new InputError(`input must have ${inBytes} elements, got ${x.length}`);
      const p = input.lock(wasm.LiteRtTensorBufferLockMode.WRITE);
      try {
        wasm.HEAPU8.set(new Uint8Array(x.buffer, x.byteOffset, x.length), p);
      } finally {
        input.unlock();
      }
    },
    async run() {
      for (const b of await runOnce()) b.delete();
    },
    async runAndRead() {
      const outs = await runOnce();
      try {
        const out = outs[0]!;
        const p = out.lock(wasm.LiteRtTensorBufferLockMode.READ);
        try {
          return new Int8Array(wasm.HEAPU8.slice(p, p + outBytes).buffer);
        } finally {
          out.unlock();
        }
      } finally {
        for (const b of outs) b.delete();
      }
    },
    release() {
      input.delete();
      compiled.delete();
      liteRtModel.delete();
      wasm._free(modelPtr);
    },
  };
}
