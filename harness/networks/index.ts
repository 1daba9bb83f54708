export * from './network.ts';
export { BUILTIN_NETWORKS, CSV_COLUMNS, builtinName, loadNetwork, parseNetworkCsv, parseNetworkJson, toCsv } from './load.ts';
export type { BuiltinNetwork } from './load.ts';
