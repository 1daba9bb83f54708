/**
 * The results every job produces and the report renders: plain typed data, defined here at the
 * bottom so that producers (bench, verify, exactness, fpga, pipelines) and the report import the
 * same types and neither imports the other.
 */
export type * from './bench.ts';
export type * from './compression.ts';
export type * from './exactness.ts';
export type * from './fpga.ts';
export type * from './quantize.ts';
export type * from './synth.ts';
export type * from './verify.ts';
export type * from './search.ts';
export * from './report.ts';
export { BACKENDS } from './quantize.ts';
