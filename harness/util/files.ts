/** File writing that never leaves half a file behind. */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { InputError } from './errors.ts';

/** Writes `text` to `file` through a temporary name in the same folder, then renames it. */
export function writeFileAtomically(file: string, text: string | Uint8Array): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file);
  } catch (e) {
    throw new InputError(`cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** JSON with typed arrays as plain arrays and Maps as objects. */
export function toJson(data: unknown): string {
  return `${JSON.stringify(
    data,
    (_k, v: unknown) => {
      if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
      if (v instanceof Map) return Object.fromEntries(v);
      return v;
    },
    2,
  )}\n`;
}

export function writeJsonAtomically(file: string, data: unknown): void {
  writeFileAtomically(file, toJson(data));
}
