/**
 * Loads a layer table: a built-in network by name, a .json file (the format of
 * harness/networks/data/*.json) or a .csv file.
 *
 * CSV: a header row naming exactly these columns, in any order,
 *   name, in_h, in_w, in_c, out_c, k_h, k_w, stride_h, stride_w,
 *   pad_top, pad_bottom, pad_left, pad_right, w_bits, a_bits
 * plus an optional `groups` (default 1); one layer per row. Blank lines and lines starting
 * with '#' are skipped; fields may be double-quoted (RFC 4180; csv-parse reads them).
 *
 * Every row is validated; the first problem throws an InputError that reads
 *   `<file>:<line>:<col>: <column>: <what is wrong>`
 * with 1-based line and character column of the offending field. A JSON table is read by
 * util/json.ts (a repeated key is an error, a BOM is skipped).
 */
import { basename, dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_REDUCTION } from '../conv/layer.ts';
import { type CsvPos, type CsvRecord, CsvFormatError, parseCsv } from '../util/csv.ts';
import { InputError } from '../util/errors.ts';
import { MiB, readInputText } from '../util/input-files.ts';
import { JsonSyntaxError, parseJsonLocated, type Pos, type Positions } from '../util/json.ts';
import type { Network, NetworkLayer, PoolSpec } from './network.ts';

const DATA_DIR = join(dirname(fileURLToPath(import.meta.url)), 'data');

/** Built-in networks: name -> file under harness/networks/data/. */
export const BUILTIN_NETWORKS = {
  vgg16: 'vgg16.json',
  resnet18: 'resnet18.json',
  resnet50: 'resnet50.json',
  'mobilenet-v1': 'mobilenet-v1.json',
  alexnet: 'alexnet.json',
} as const;
export type BuiltinNetwork = keyof typeof BUILTIN_NETWORKS;

/** Columns of a CSV layer table, in the order `toCsv` writes them. */
export const CSV_COLUMNS = [
  'name', 'in_h', 'in_w', 'in_c', 'out_c', 'k_h', 'k_w', 'stride_h', 'stride_w',
  'pad_top', 'pad_bottom', 'pad_left', 'pad_right', 'w_bits', 'a_bits',
] as const;
const OPTIONAL_CSV_COLUMNS = ['groups'] as const;

const MAX_DIM = 1 << 16;
const INT_FIELDS = [
  ['in_h', 'inH', 1], ['in_w', 'inW', 1], ['in_c', 'inC', 1], ['out_c', 'outC', 1],
  ['k_h', 'kH', 1], ['k_w', 'kW', 1], ['stride_h', 'strideH', 1], ['stride_w', 'strideW', 1],
  ['pad_top', 'padTop', 0], ['pad_bottom', 'padBottom', 0], ['pad_left', 'padLeft', 0], ['pad_right', 'padRight', 0],
] as const;
const MAX_BITS = 32;
/** A layer table of 16 MiB holds some 100,000 layers: anything larger is not one. */
const MAX_TABLE_BYTES = 16 * MiB;

function normalise(name: string): string {
  return name.toLowerCase().replace(/[-_ ]/g, '');
}

/** The built-in name `nameOrPath` refers to, or undefined. Accepts 'MobileNet_v1', 'mobilenetv1', ... */
export function builtinName(nameOrPath: string): BuiltinNetwork | undefined {
  const n = normalise(nameOrPath);
  return (Object.keys(BUILTIN_NETWORKS) as BuiltinNetwork[]).find((k) => normalise(k) === n);
}

/** Loads a built-in network by name, or a .json / .csv layer table by path. */
export function loadNetwork(nameOrPath: string): Network {
  const builtin = builtinName(nameOrPath);
  const path = builtin ? join(DATA_DIR, BUILTIN_NETWORKS[builtin]) : nameOrPath;
  const ext = extname(path).toLowerCase();
  if (!builtin && ext !== '.json' && ext !== '.csv') {
    throw new InputError(
      `'${nameOrPath}' is neither a built-in network (${Object.keys(BUILTIN_NETWORKS).join(', ')}) nor a .json or .csv file`,
    );
  }
  const text = readInputText(path, { what: 'layer table', maxBytes: MAX_TABLE_BYTES });
  return ext === '.csv' ? parseNetworkCsv(text, path) : parseNetworkJson(text, path);
}

// ---------------------------------------------------------------------------------------
// Field validation shared by both formats.

/** One layer's raw fields, however the file spelled them, and where each one starts. */
interface RawLayer {
  /** CSV fields are text and numbers are parsed from it; JSON numbers must be JSON numbers. */
  textual: boolean;
  get(column: string): unknown;
  has(column: string): boolean;
  pos(column: string): Pos;
}

class Locator {
  constructor(readonly file: string) {}
  error(pos: Pos, column: string, message: string): InputError {
    return new InputError(`${this.file}:${pos.line}:${pos.col}: ${column}: ${message}`);
  }
}

function intField(raw: RawLayer, loc: Locator, column: string, min: number, max: number): number {
  const v = raw.get(column);
  const shown = raw.textual && typeof v === 'string' ? v.trim() || '(empty)' : JSON.stringify(v);
  const n = typeof v === 'number' ? v : raw.textual && typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw loc.error(raw.pos(column), column, `must be an integer in [${min}, ${max}], got ${shown}`);
  }
  return n;
}

function buildLayer(raw: RawLayer, loc: Locator, seen: Set<string>): NetworkLayer {
  const nameV = raw.get('name');
  const name = typeof nameV === 'string' ? nameV.trim() : '';
  if (name === '') throw loc.error(raw.pos('name'), 'name', `must be a non-empty string, got ${JSON.stringify(nameV)}`);
  if (seen.has(name)) throw loc.error(raw.pos('name'), 'name', `duplicate layer name '${name}'`);

  const s: Record<string, number> = {};
  for (const [column, key, min] of INT_FIELDS) s[key] = intField(raw, loc, column, min, MAX_DIM);
  const groups = raw.has('groups') ? intField(raw, loc, 'groups', 1, MAX_DIM) : 1;
  const wBits = intField(raw, loc, 'w_bits', 1, MAX_BITS);
  const aBits = intField(raw, loc, 'a_bits', 1, MAX_BITS);
  const l = s as unknown as Omit<NetworkLayer, 'name' | 'groups' | 'wBits' | 'aBits' | 'fc'>;

  if (l.inC % groups !== 0 || l.outC % groups !== 0) {
    throw loc.error(raw.pos('groups'), 'groups', `groups=${groups} must divide in_c=${l.inC} and out_c=${l.outC}`);
  }
  if (l.kH > l.inH + l.padTop + l.padBottom) {
    throw loc.error(raw.pos('k_h'), 'k_h', `k_h=${l.kH} exceeds the padded input height ${l.inH + l.padTop + l.padBottom}`);
  }
  if (l.kW > l.inW + l.padLeft + l.padRight) {
    throw loc.error(raw.pos('k_w'), 'k_w', `k_w=${l.kW} exceeds the padded input width ${l.inW + l.padLeft + l.padRight}`);
  }
  const reduction = (l.inC / groups) * l.kH * l.kW;
  if (reduction > MAX_REDUCTION) {
    throw loc.error(
      raw.pos('in_c'), 'in_c',
      `(in_c/groups)*k_h*k_w=${reduction} exceeds ${MAX_REDUCTION}: an int32 accumulator could overflow`,
    );
  }
  seen.add(name);
  return { name, ...l, groups, wBits, aBits, fc: false };
}

// ---------------------------------------------------------------------------------------
// CSV

export function parseNetworkCsv(text: string, file: string): Network {
  const loc = new Locator(file);
  let records: CsvRecord[];
  try {
    records = parseCsv(text, file, { comments: true, positions: true });
  } catch (e) {
    if (e instanceof CsvFormatError) throw loc.error({ line: e.line, col: e.col ?? 1 }, 'csv', e.detail);
    throw e;
  }
  const [header, ...rows] = records;
  if (!header) throw new InputError(`${file}: empty layer table (no header row)`);
  const index = new Map<string, number>();
  const allowed = new Set<string>([...CSV_COLUMNS, ...OPTIONAL_CSV_COLUMNS]);
  header.fields.forEach((name, c) => {
    if (!allowed.has(name)) {
      throw loc.error(header.at(c), name || `(column ${c + 1})`,
        `unknown column; expected exactly ${CSV_COLUMNS.join(', ')} (and optionally groups)`);
    }
    if (index.has(name)) throw loc.error(header.at(c), name, 'column appears twice');
    index.set(name, c);
  });
  const missing = CSV_COLUMNS.filter((c) => !index.has(c));
  if (missing.length > 0) {
    throw loc.error({ line: header.line, col: 1 }, missing[0]!, `missing column(s): ${missing.join(', ')}`);
  }
  const width = header.fields.length;
  const seen = new Set<string>();
  const layers = rows.map((rec) => {
    const { fields } = rec;
    if (fields.length !== width) {
      throw loc.error(rec.at(Math.min(fields.length, width)), 'csv',
        `row has ${fields.length} fields, the header on line ${header.line} has ${width}`);
    }
    const raw: RawLayer = {
      textual: true,
      get: (c) => fields[index.get(c)!],
      has: (c) => index.has(c),
      pos: (c): CsvPos => rec.at(index.get(c) ?? 0),
    };
    return buildLayer(raw, loc, seen);
  });
  if (layers.length === 0) throw new InputError(`${file}: the layer table has a header but no layers`);
  const name = basename(file, extname(file));
  return { name, title: name, source: `layer table ${file}`, layers, file };
}

/** Writes layers as CSV in the format `parseNetworkCsv` reads (groups included). */
export function toCsv(layers: readonly NetworkLayer[]): string {
  const rows = [[...CSV_COLUMNS, 'groups'].join(',')];
  for (const l of layers) {
    const name = /[",]/.test(l.name) ? `"${l.name.replace(/"/g, '""')}"` : l.name;
    rows.push([name, l.inH, l.inW, l.inC, l.outC, l.kH, l.kW, l.strideH, l.strideW,
      l.padTop, l.padBottom, l.padLeft, l.padRight, l.wBits, l.aBits, l.groups].join(','));
  }
  return rows.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------
// JSON

const JSON_LAYER_KEYS = new Set<string>([...CSV_COLUMNS, 'groups', 'fc', 'from', 'pool']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseNetworkJson(text: string, file: string): Network {
  const loc = new Locator(file);
  let parsed;
  try {
    parsed = parseJsonLocated(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw loc.error(e.pos, 'json', e.detail);
    throw e;
  }
  const { value: root, positions } = parsed;
  const where = (obj: object, key: string | number, fallback: Pos): Pos => positions.get(obj)?.get(key) ?? fallback;
  if (!isRecord(root)) throw loc.error(parsed.pos, 'json', 'the top level must be an object with a "layers" array');
  const layersV = root['layers'];
  if (!Array.isArray(layersV) || layersV.length === 0) {
    throw loc.error(where(root, 'layers', parsed.pos), 'layers', 'must be a non-empty array of layer objects');
  }
  const str = (key: string): string | undefined => {
    const v = root[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw loc.error(where(root, key, parsed.pos), key, 'must be a string');
    return v;
  };
  let input: [number, number, number] | undefined;
  if (root['input'] !== undefined) {
    const v = root['input'];
    if (!Array.isArray(v) || v.length !== 3 || !v.every((d) => Number.isInteger(d) && d >= 1)) {
      throw loc.error(where(root, 'input', parsed.pos), 'input', 'must be [h, w, c] with positive integers');
    }
    input = v as [number, number, number];
  }

  const seen = new Set<string>();
  const layers: NetworkLayer[] = layersV.map((lv, idx) => {
    const lpos = where(layersV, idx, parsed.pos);
    if (!isRecord(lv)) throw loc.error(lpos, `layers[${idx}]`, 'must be an object');
    for (const key of Object.keys(lv)) {
      if (!JSON_LAYER_KEYS.has(key)) throw loc.error(where(lv, key, lpos), key, `unknown layer field in layers[${idx}]`);
    }
    for (const key of CSV_COLUMNS) {
      if (!(key in lv)) throw loc.error(lpos, key, `layers[${idx}] is missing "${key}"`);
    }
    const raw: RawLayer = { textual: false, get: (c) => lv[c], has: (c) => c in lv, pos: (c) => where(lv, c, lpos) };
    const layer = buildLayer(raw, loc, seen);
    if (lv['fc'] !== undefined) {
      if (typeof lv['fc'] !== 'boolean') throw loc.error(raw.pos('fc'), 'fc', 'must be true or false');
      layer.fc = lv['fc'];
    }
    if (lv['from'] !== undefined) {
      const from = lv['from'];
      if (typeof from !== 'string' || (from !== 'input' && !seen.has(from)) || from === layer.name) {
        throw loc.error(raw.pos('from'), 'from', `must be 'input' or the name of an earlier layer, got ${JSON.stringify(from)}`);
      }
      layer.from = from;
    }
    if (lv['pool'] !== undefined) layer.pool = poolSpec(lv['pool'], raw.pos('pool'), loc, positions);
    return layer;
  });
  const name = str('name') ?? basename(file, extname(file));
  return {
    name,
    title: str('title') ?? name,
    source: str('source') ?? `layer table ${file}`,
    ...(str('notes') !== undefined ? { notes: str('notes')! } : {}),
    ...(input ? { input } : {}),
    layers,
    file,
  };
}

function poolSpec(v: unknown, pos: Pos, loc: Locator, positions: Positions): PoolSpec {
  if (!isRecord(v)) throw loc.error(pos, 'pool', 'must be an object {type, k, stride, pad}');
  const at = (key: string): Pos => positions.get(v)?.get(key) ?? pos;
  if (v['type'] !== 'max' && v['type'] !== 'avg') throw loc.error(at('type'), 'pool.type', "must be 'max' or 'avg'");
  const int = (key: string, min: number): number => {
    const n = v[key];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > MAX_DIM) {
      throw loc.error(at(key), `pool.${key}`, `must be an integer in [${min}, ${MAX_DIM}], got ${JSON.stringify(n)}`);
    }
    return n;
  };
  return { type: v['type'], k: int('k', 1), stride: int('stride', 1), pad: int('pad', 0) };
}
