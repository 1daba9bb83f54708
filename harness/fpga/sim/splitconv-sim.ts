/**
 * A cycle-level simulator of engine (a), the split-convolution engine of
 * harness/fpga/models/splitconv.ts, computing with the DSP48E2 slice model (harness/dsp/slice.ts),
 * so that both of the model's claims can be tested: cycles == computeCycles, and outputs ==
 * the packed-DSP engine of harness/dsp/packed-conv.ts.
 *
 *   splitconv-clock.ts    the clock loop: controller, DSP cascades, accumulation unit
 *   splitconv-arch.ts     the architecture it runs and the documented stall cycles
 *   dsp-function.ts       what one DSP computes (packing scheme or one product)
 *   delay-line.ts, weight-ping-pong.ts   the registers and the weight buffer it is built of
 *   splitconv-report.ts   one layer against model (a) and the exact convolution (`fkb model --simulate`)
 */
export type { EngineScheme } from '../models/splitconv.ts';
export { type SplitConvArch, expectedStallCycles, layerSpecOf } from './splitconv-arch.ts';
export { type SplitConvSimResult, type SplitConvSimStats, type SplitConvTrace, simulateSplitConv } from './splitconv-clock.ts';
export { type SimulateLayerOptions, type SimulateLayerReport, simulateLayerReport } from './splitconv-report.ts';
