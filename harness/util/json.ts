/**
 * The one JSON reader for input files (layer tables, shapes files, bench reports, report
 * inputs). Unlike `JSON.parse` it remembers where every value starts, so a semantic error
 * ("in_h must be >= 1") can name the line and column of the offending value, and it is strict
 * where `JSON.parse` silently guesses:
 *
 * - a key repeated in one object is an error naming the key and both places (JSON.parse keeps
 *   the last value);
 * - a leading UTF-8 byte-order mark is skipped (as the CSV readers skip it);
 * - nesting deeper than MAX_JSON_DEPTH is an error. The parser itself keeps its own stack and
 *   never recurses, but the code that walks, copies and prints the value does.
 *
 * Grammar: RFC 8259. Positions are 1-based; columns count UTF-16 code units after the BOM.
 */
import { InputError } from './errors.ts';
import { type InputFileOptions, readInputText } from './input-files.ts';

export interface Pos {
  line: number;
  col: number;
}

/** Position of each member value (objects) or element (arrays), keyed by name or index. */
export type Positions = WeakMap<object, Map<string | number, Pos>>;

/** Deepest nesting of arrays and objects accepted. */
export const MAX_JSON_DEPTH = 256;

/** A JSON syntax error; `detail` says what, `pos` where. Its message carries both. */
export class JsonSyntaxError extends InputError {
  override name = 'JsonSyntaxError';
  constructor(
    readonly detail: string,
    readonly pos: Pos,
  ) {
    super(`${pos.line}:${pos.col}: ${detail}`);
  }
}

export interface Located {
  value: unknown;
  /** Where the top-level value starts. */
  pos: Pos;
  positions: Positions;
}

const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** An open array or object while its members are read. */
interface Frame {
  value: unknown[] | Record<string, unknown>;
  members: Map<string | number, Pos>;
  /** For objects: the key whose value is being read, and where each key was written. */
  key?: string;
  keys?: Map<string, Pos>;
}

export function parseJsonLocated(text: string, { maxDepth = MAX_JSON_DEPTH }: { maxDepth?: number } = {}): Located {
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  let lineStart = i;
  const positions: Positions = new WeakMap();

  const here = (): Pos => ({ line, col: i - lineStart + 1 });
  const fail = (msg: string, pos = here()): never => {
    throw new JsonSyntaxError(msg, pos);
  };

  function ws(): void {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 0x0a) {
        i++;
        line++;
        lineStart = i;
      } else if (c === 0x20 || c === 0x09 || c === 0x0d) {
        i++;
      } else {
        return;
      }
    }
  }

  function str(): string {
    // at the opening quote
    i++;
    let out = '';
    let start = i;
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(start, i);
        i++;
        return out;
      }
      if (c < 0x20) fail('control character in string');
      if (c === 0x5c) {
        out += text.slice(start, i);
        const e = text[i + 1];
        if (e !== undefined && e in ESCAPES) {
          out += ESCAPES[e];
          i += 2;
        } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
          out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
        } else {
          fail('invalid escape in string');
        }
        start = i;
        continue;
      }
      i++;
    }
  }

  /** A scalar at i (the caller has ruled out '{' and '['). */
  function scalar(): unknown {
    const c = text[i];
    if (c === '"') return str();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (!m) fail('invalid number');
      i += m![0].length;
      return Number(m![0]);
    }
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    if (i >= text.length) return fail('unexpected end of input');
    // Control and invisible characters by code point: printed raw they would not show.
    const code = text.codePointAt(i)!;
    return fail(`unexpected character ${code > 0x20 && code < 0x7f ? `'${c}'` : `U+${code.toString(16).toUpperCase().padStart(4, '0')}`}`);
  }

  /** Reads `"key":` of an object member; leaves i at its value, whose position is recorded. */
  function key(frame: Frame): void {
    ws();
    if (text[i] !== '"') fail('expected a string key');
    const at = here();
    const k = str();
    const first = frame.keys!.get(k);
    if (first) fail(`duplicate key "${k}" (first at line ${first.line}, column ${first.col})`, at);
    frame.keys!.set(k, at);
    ws();
    if (text[i] !== ':') fail(`expected ':' after key "${k}"`);
    i++;
    ws();
    frame.key = k;
    frame.members.set(k, here());
  }

  const stack: Frame[] = [];
  ws();
  const pos = here();
  let root: unknown;
  parse: for (;;) {
    // One value starts at i: open a container, or read a scalar.
    ws();
    let v: unknown;
    const c = text[i];
    if (c === '{' || c === '[') {
      if (stack.length >= maxDepth) fail(`arrays and objects nested deeper than ${maxDepth} levels`);
      i++;
      const frame: Frame = c === '{'
        ? { value: {}, members: new Map(), keys: new Map() }
        : { value: [], members: new Map() };
      positions.set(frame.value, frame.members);
      ws();
      if (text[i] === (c === '{' ? '}' : ']')) {
        i++;
        v = frame.value;
      } else {
        stack.push(frame);
        if (c === '{') key(frame);
        else frame.members.set(0, here());
        continue;
      }
    } else {
      v = scalar();
    }
    // A value is complete: store it in its container, then close every container it completes.
    for (;;) {
      const top = stack[stack.length - 1];
      if (!top) {
        root = v;
        break parse;
      }
      if (Array.isArray(top.value)) top.value.push(v);
      // JSON.parse makes "__proto__" an own property, not the prototype: so does this.
      else Object.defineProperty(top.value, top.key!, { value: v, writable: true, enumerable: true, configurable: true });
      ws();
      const close = Array.isArray(top.value) ? ']' : '}';
      if (text[i] === ',') {
        i++;
        if (Array.isArray(top.value)) {
          ws();
          top.members.set(top.value.length, here());
        } else {
          key(top);
        }
        continue parse;
      }
      if (text[i] !== close) fail(`expected ',' or '${close}'`);
      i++;
      stack.pop();
      v = top.value;
    }
  }
  ws();
  if (i < text.length) fail('unexpected text after the JSON value');
  return { value: root, pos, positions };
}

/**
 * Reads and parses a JSON input file (a regular file of at most `maxBytes`); a syntax error is an
 * InputError reading `<file>:<line>:<col>: not valid JSON: <what is wrong>`.
 */
export function readJsonInput(path: string, opts: InputFileOptions): Located {
  return parseJsonInput(readInputText(path, opts), path);
}

/** Parses JSON text read from `file` (named in errors). */
export function parseJsonInput(text: string, file: string): Located {
  try {
    return parseJsonLocated(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw new InputError(`${file}:${e.pos.line}:${e.pos.col}: not valid JSON: ${e.detail}`);
    throw e;
  }
}

/** Where `key` of `container` starts in the text, or `fallback`. */
export function positionOf(located: Located, container: object, key: string | number, fallback: Pos = located.pos): Pos {
  return located.positions.get(container)?.get(key) ?? fallback;
}
