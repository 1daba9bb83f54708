/**
 * LiteRT.js (`@litertjs/core`, Google's web runtime of TFLite; its CPU path is XNNPACK compiled
 * to WebAssembly) running a `.tflite` model with int8 input and output, in Node (loaded by
 * litert-node.ts) or in a page (fkb serve's LiteRT page sets its loader). Which build loads is
 * the package's choice: with relaxed SIMD `litert_wasm_internal`, else
 * `litert_wasm_compat_internal` (plain SIMD); `threads: true` loads `litert_wasm_threaded_internal`
 * (relaxed SIMD required). LiteRT is global: the first load decides the build.
 *
 * int8 tensors: the package's `Tensor` wrapper takes float32, int32 and uint8 only, and its
 * CompiledModel refuses a model with an int8 input. The Emscripten bindings under it
 * (`liteRt.liteRtWasm`: loadModel, compileModel, LiteRtTensorBuffer.createManaged, run) take any
 * element type, so this module drives them directly: an int8 model, one int8 host buffer in,
 * the int8 output read back from the heap. `run` is the call to time: the compiled model's run
 * (which hands back fresh output buffers) and the release of those handles, nothing else.
 */
import { InputError } from '../util/errors.ts';

/**
 * The parts of the package and its Emscripten bindings used here, typed locally: the package's
 * own .d.ts augments the global typed-array constructors (`new Int32Array(buffer)` then types as
 * Int32Array<ArrayBufferLike>), which would change how the rest of this project type-checks, so
 * it is imported by a specifier TypeScript does not resolve.
 */
export interface Deletable {
  delete(): void;
}
export interface EnumValue {
  value: number;
}
export interface RankedTensorType extends Deletable {
  elementType(): EnumValue;
  bytes(): number;
}
export interface TensorBuffer extends Deletable {
  lock(mode: EnumValue): number;
  unlock(): void;
}
export interface LiteRtModel extends Deletable {
  getInputTensorType(signature: number, index: number): RankedTensorType;
  getOutputTensorType(signature: number, index: number): RankedTensorType;
}
export interface CompiledModel extends Deletable {
  run(signature: number, inputs: TensorBuffer[]): TensorBuffer[] | Promise<TensorBuffer[]>;
}
export interface Wasm {
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  loadModel(env: unknown, ptr: number, bytes: number): LiteRtModel;
  compileModel(env: unknown, model: LiteRtModel, options: object): CompiledModel | Promise<CompiledModel>;
  LiteRtTensorBuffer: { createManaged(env: unknown, type: EnumValue, tensorType: RankedTensorType, bytes: number): TensorBuffer };
  LiteRtTensorBufferType: { HOST_MEMORY: EnumValue };
  LiteRtTensorBufferLockMode: { READ: EnumValue; WRITE: EnumValue };
}
export interface Environment {
  liteRtEnvironment: unknown;
}
export interface LiteRt {
  liteRtWasm: Wasm;
  getDefaultEnvironment(): Environment;
}
export interface LiteRtPackage {
  loadLiteRt(path: string, options?: { threads?: boolean }): Promise<LiteRt>;
}

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

export type LiteRtLoader = (options: LiteRtLoadOptions, log: (line: string) => void) => Promise<{ liteRt: LiteRt; info: LiteRtInfo }>;

let loader: LiteRtLoader | undefined;

/** How LiteRT.js is loaded where Node's loader (litert-node.ts) does not apply: the browser page sets its own. */
export function setLiteRtLoader(l: LiteRtLoader): void {
  loader = l;
  loaded = undefined;
}

/**
 * Loads LiteRT.js once per process or page. A second call with other options gets the first
 * build (the package keeps one global instance); `info.threads` says which.
 */
export function loadLiteRt(options: LiteRtLoadOptions = {}): Promise<{ liteRt: LiteRt; info: LiteRtInfo }> {
  loaded ??= (async () => {
    // A specifier bundlers leave alone: the browser bundle never loads the Node loader.
    const nodeLoader = './litert-node.ts';
    const l = loader ?? ((await import(nodeLoader)) as { loadLiteRtNode: LiteRtLoader }).loadLiteRtNode;
    return l(options, (line) => LOG.push(line));
  })();
  return loaded;
}

export interface LiteRtRunner {
  /** Copies an int8 input into the model's input buffer (outside the timed call). */
  setInput(input: Int8Array): void;
  /** Runs the model once and releases the output handles: the call to time. */
  run(): Promise<void>;
  /** Runs the model once and returns a copy of its (first) int8 output. */
  runAndRead(): Promise<Int8Array>;
  /** Runs the model once and returns a copy of every int8 output, in signature order. */
  runAndReadAll(): Promise<Int8Array[]>;
  /** Number of threads XNNPACK was compiled with. */
  readonly threads: number;
  release(): void;
}

export interface LiteRtRunnerOptions extends LiteRtLoadOptions {
  /** XNNPACK's thread count (CompileOptions.cpuOptions.numThreads). @default 1 */
  numThreads?: number;
  /** How many of the signature's outputs `runAndReadAll` reads (all int8). @default 1 */
  outputs?: number;
}

const INT8 = 9; // litert::ElementType::Int8

/** Loads a model with one int8 input and int8 outputs and compiles it for the CPU (XNNPACK). */
export async function createLiteRtRunner(model: Uint8Array, options: LiteRtRunnerOptions = {}): Promise<LiteRtRunner> {
  const { liteRt, info } = await loadLiteRt(options);
  const numThreads = options.numThreads ?? 1;
  if (numThreads > 1 && !info.threads) throw new InputError(`LiteRT.js was loaded without threads; numThreads=${numThreads} needs loadLiteRt({ threads: true }) first`);
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
  const outBytes: number[] = [];
  for (let i = 0; i < (options.outputs ?? 1); i++) {
    const t = liteRtModel.getOutputTensorType(0, i);
    if (t.elementType().value !== INT8) throw new InputError(`the model's output ${i} must be int8`);
    outBytes.push(t.bytes());
    t.delete();
  }
  if (inType.elementType().value !== INT8) throw new InputError('the model must have an int8 input');
  const inBytes = inType.bytes();
  const input = wasm.LiteRtTensorBuffer.createManaged(env.liteRtEnvironment, wasm.LiteRtTensorBufferType.HOST_MEMORY, inType, inBytes);
  inType.delete();
  const read = (b: TensorBuffer, bytes: number): Int8Array => {
    const p = b.lock(wasm.LiteRtTensorBufferLockMode.READ);
    try {
      return new Int8Array(wasm.HEAPU8.slice(p, p + bytes).buffer);
    } finally {
      b.unlock();
    }
  };

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
        return read(outs[0]!, outBytes[0]!);
      } finally {
        for (const b of outs) b.delete();
      }
    },
    async runAndReadAll() {
      const outs = await runOnce();
      try {
        return outBytes.map((n, i) => read(outs[i]!, n));
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
