/**
 * The project's default model (models/fashion-mnist/, made by tools/train/train_fashion_mnist.py)
 * and its evaluation set: where the files are, how to read them, how an image becomes the
 * model's input.
 */
import { existsSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../util/errors.ts';
import { MiB, readInputFile } from '../util/input-files.ts';
import { readJsonInput } from '../util/json.ts';

export const FASHION_MNIST_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models', 'fashion-mnist');
export const FASHION_MNIST_MODEL = join(FASHION_MNIST_DIR, 'cnn.onnx');
export const FASHION_MNIST_EVAL = join(FASHION_MNIST_DIR, 'eval-2000.bin');
export const FASHION_MNIST_META = join(FASHION_MNIST_DIR, 'cnn.json');

/** What the training script measured (cnn.json); only the fields the harness reads. */
export interface FashionMnistMeta {
  epochs: number;
  seed: number;
  trainSeconds: number;
  top1Test10000: number;
  correctTest10000: number;
  top1Eval2000: number;
  correctEval2000: number;
  /** PyTorch's argmax for each image of the evaluation set, one digit each. */
  predictionsEval2000: string;
  classes: string[];
}

export function readFashionMnistMeta(path = FASHION_MNIST_META): FashionMnistMeta {
  return readJsonInput(path, { what: "model's metrics file", maxBytes: MiB }).value as FashionMnistMeta;
}

export interface EvalSet {
  count: number;
  rows: number;
  cols: number;
  labels: Uint8Array;
  /** count * rows * cols bytes, image after image, row-major, 0 = background. */
  images: Uint8Array;
}

const MAGIC = 'FKBEVAL1';
/** The 10,000 test images of Fashion-MNIST take 7.7 MiB. */
const MAX_SET_BYTES = 64 * MiB;
const HEADER = 16;

/**
 * Reads an evaluation set:
 *
 *     offset 0   8 bytes   magic 'FKBEVAL1'
 *     offset 8   uint32 LE count
 *     offset 12  uint16 LE rows, uint16 LE cols
 *     offset 16  count bytes of labels
 *     then       count * rows * cols bytes of images
 */
export function readEvalSet(path = FASHION_MNIST_EVAL): EvalSet {
  const bytes = readInputFile(path, { what: 'evaluation set', maxBytes: MAX_SET_BYTES });
  if (bytes.length < HEADER || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw new InputError(`${path}: not an evaluation set (no '${MAGIC}' header)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(8, true);
  const rows = view.getUint16(12, true);
  const cols = view.getUint16(14, true);
  const size = HEADER + count + count * rows * cols;
  if (bytes.length !== size) throw new InputError(`${path}: ${count} images of ${rows}x${cols} need ${size} bytes, the file has ${bytes.length}`);
  return {
    count, rows, cols,
    labels: bytes.subarray(HEADER, HEADER + count),
    images: bytes.subarray(HEADER + count),
  };
}

/** Image `i` as the model's input: pixel / 255 in float32, 1 channel (NHWC and NCHW agree). */
export function evalInput(set: EvalSet, i: number): Float32Array {
  const n = set.rows * set.cols;
  const pixels = set.images.subarray(i * n, (i + 1) * n);
  // f32(p / 255) from the double quotient equals PyTorch's f32 division: double rounding cannot
  // hit a tie for a quotient of two 8-bit integers.
  return Float32Array.from(pixels, (p) => p / 255);
}

/** Where Debian's dataset-fashion-mnist puts the IDX files. */
export const DEBIAN_FASHION_MNIST = '/usr/share/datasets/fashion-mnist';

/**
 * The full 10,000-image test set from Debian's `dataset-fashion-mnist` (IDX files, gzipped or
 * not), when the package is installed; undefined otherwise. Its first 2,000 images are the
 * committed evaluation subset.
 */
export function readDebianTestSet(dir = DEBIAN_FASHION_MNIST): EvalSet | undefined {
  const read = (name: string): Uint8Array | undefined => {
    for (const [file, unzip] of [[`${name}.gz`, true], [name, false]] as const) {
      const path = join(dir, file);
      if (!existsSync(path)) continue;
      const bytes = readInputFile(path, { what: 'IDX file', maxBytes: MAX_SET_BYTES });
      if (!unzip) return bytes;
      try {
        return gunzipSync(bytes, { maxOutputLength: MAX_SET_BYTES });
      } catch (e) {
        throw new InputError(`${path}: cannot decompress (${(e as Error).message}; at most ${MAX_SET_BYTES / MiB} MiB)`);
      }
    }
    return undefined;
  };
  const images = read('t10k-images-idx3-ubyte');
  const labels = read('t10k-labels-idx1-ubyte');
  if (!images || !labels) return undefined;
  const iv = new DataView(images.buffer, images.byteOffset, images.byteLength);
  const lv = new DataView(labels.buffer, labels.byteOffset, labels.byteLength);
  // IDX: big-endian magic 0x00000803 (ubyte, 3 dims) / 0x00000801, then the dimensions.
  if (iv.getUint32(0) !== 0x803 || lv.getUint32(0) !== 0x801) throw new InputError(`${dir}: not IDX image/label files`);
  const count = iv.getUint32(4);
  const rows = iv.getUint32(8);
  const cols = iv.getUint32(12);
  if (lv.getUint32(4) !== count || images.length !== 16 + count * rows * cols || labels.length !== 8 + count) {
    throw new InputError(`${dir}: IDX sizes do not agree (${count} images of ${rows}x${cols})`);
  }
  return { count, rows, cols, labels: labels.subarray(8), images: images.subarray(16) };
}
