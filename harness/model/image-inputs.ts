/**
 * Input images for models other than the Fashion-MNIST default: raw uint8 NHWC files, and the
 * embedded BlazeFace set (models/blazeface/inputs-16.bin, made by tools/blazeface/make_inputs.py
 * from public-domain and CC0 photos: 8 calibration images, then 8 evaluation images).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type TensorShape, formatShape, shapeSize } from './graph.ts';
import { InputError } from '../util/errors.ts';
import { MiB, readInputFile } from '../util/input-files.ts';

export const BLAZEFACE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models', 'blazeface');
export const BLAZEFACE_MODEL = join(BLAZEFACE_DIR, 'face_detection_front_128x128_barracuda.onnx');
export const BLAZEFACE_INPUTS = join(BLAZEFACE_DIR, 'inputs-16.bin');
/** The first 8 embedded images calibrate, the other 8 are measured. */
export const BLAZEFACE_CALIBRATION_IMAGES = 8;
/** BlazeFace takes RGB in [-1, 1]. */
export const BLAZEFACE_RANGE: readonly [number, number] = [-1, 1];

/** Each byte becomes a float32: 256 MiB of images take 1 GiB in memory. */
const MAX_IMAGE_BYTES = 256 * MiB;

/**
 * Reads images stored as uint8, NHWC, one after the other, each `shape` in size, and maps a byte
 * v to lo + v * (hi - lo) / 255. InputError naming the file when its size is not a whole number
 * of images.
 */
export function readUint8Images(path: string, shape: TensorShape, range: readonly [number, number] = [0, 1]): Float32Array[] {
  const [lo, hi] = range;
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi)) throw new InputError(`input range must be two finite numbers lo < hi, got [${lo}, ${hi}]`);
  const bytes = readInputFile(path, { what: 'input image file', maxBytes: MAX_IMAGE_BYTES });
  const size = shapeSize(shape);
  if (bytes.length === 0 || bytes.length % size !== 0) {
    throw new InputError(`${path}: ${bytes.length} bytes is not a whole number of ${formatShape(shape)} uint8 images (${size} bytes each)`);
  }
  const step = (hi - lo) / 255;
  return Array.from({ length: bytes.length / size }, (_, i) => Float32Array.from(bytes.subarray(i * size, (i + 1) * size), (v) => lo + v * step));
}
