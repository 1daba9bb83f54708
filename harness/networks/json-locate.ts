/**
 * A JSON reader that remembers where every value starts, so that a semantic error in a
 * layer table ("in_h must be >= 1") can name the line and column of the offending value,
 * not only its path. `JSON.parse` gives neither.
 *
 * Grammar: RFC 8259. Positions are 1-based; columns count UTF-16 code units.
 */

export interface Pos {
  line: number;
  col: number;
}

/** Position of each member value (objects) or element (arrays), keyed by name or index. */
export type Positions = WeakMap<object, Map<string | number, Pos>>;

export class JsonSyntaxError extends Error {
  override name = 'JsonSyntaxError';
  constructor(
    message: string,
    readonly pos: Pos,
  ) {
    super(message);
  }
}

export interface Located {
  value: unknown;
  /** Where the top-level value starts. */
  pos: Pos;
  positions: Positions;
}

export function parseJsonLocated(text: string): Located {
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const positions: Positions = new WeakMap();

  const here = (): Pos => ({ line, col: i - lineStart + 1 });
  const fail = (msg: string): never => {
    throw new JsonSyntaxError(msg, here());
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
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && e in simple) {
          out += simple[e];
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

  function num(): number {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 64));
    if (!m) fail('invalid number');
    i += m![0].length;
    return Number(m![0]);
  }

  function value(): unknown {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const obj: Record<string, unknown> = {};
      const pm = new Map<string | number, Pos>();
      positions.set(obj, pm);
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a string key');
        const key = str();
        ws();
        if (text[i] !== ':') fail(`expected ':' after key "${key}"`);
        i++;
        ws();
        pm.set(key, here());
        obj[key] = value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return obj;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      i++;
      const arr: unknown[] = [];
      const pm = new Map<string | number, Pos>();
      positions.set(arr, pm);
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        ws();
        pm.set(arr.length, here());
        arr.push(value());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return arr;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return str();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return num();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    return fail(i >= text.length ? 'unexpected end of input' : `unexpected character '${c}'`);
  }

  ws();
  const pos = here();
  const v = value();
  ws();
  if (i < text.length) fail('unexpected text after the JSON value');
  return { value: v, pos, positions };
}
