/**
 * The embedded quantization check without labels: BlazeFace (models/blazeface/) quantized to
 * int8 on its embedded photos, as `fkb quantize` runs it by default and `fkb run` reports it.
 */
import { BLAZEFACE_CALIBRATION_IMAGES, BLAZEFACE_INPUTS, BLAZEFACE_MODEL, BLAZEFACE_RANGE, readUint8Images } from '../model/image-inputs.ts';
import { importOnnxFile } from '../model/onnx-import.ts';
import { type FidelityOptions, type FidelityReport, measureFidelity } from '../quant/fidelity.ts';

/** BlazeFace's two score heads (16x16x2 and 8x8x6 anchors), as logits. */
export const BLAZEFACE_SCORES = ['Identity:0', 'Identity_1:0'];
/** A face when sigmoid(logit) > 0.75, a common BlazeFace threshold; ours, used for agreement only. */
export const BLAZEFACE_MIN_SCORE = 0.75;

export const logit = (p: number): number => Math.log(p / (1 - p));

/** BlazeFace calibrated on embedded photos 0-7, measured on photos 8-15. */
export function measureBlazeFace(options: FidelityOptions = {}): FidelityReport {
  const graph = { ...importOnnxFile(BLAZEFACE_MODEL), name: 'BlazeFace (face_detection_front_128x128)' };
  const photos = readUint8Images(BLAZEFACE_INPUTS, graph.input.shape, BLAZEFACE_RANGE);
  return measureFidelity(graph, photos.slice(0, BLAZEFACE_CALIBRATION_IMAGES), photos.slice(BLAZEFACE_CALIBRATION_IMAGES), {
    scoreOutputs: BLAZEFACE_SCORES,
    scoreThreshold: logit(BLAZEFACE_MIN_SCORE),
    ...options,
  });
}
