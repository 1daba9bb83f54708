/**
 * Reading the files a user names. Each one is opened without blocking and must be a regular
 * file: a FIFO, a device such as /dev/zero, a socket or a directory is refused at once, before a
 * byte is read (open() of a FIFO with no writer would wait forever, and /dev/zero never ends).
 * A file is then read whole up to a size limit for its kind, named in the error, or streamed.
 *
 *   readInputFile(path, { what: 'ONNX model', maxBytes: 1 * GiB })  -> Buffer
 *   readInputText(path, { what: 'layer table', maxBytes: 16 * MiB }) -> string (UTF-8, BOM dropped)
 *   openInputStream(path, { what: 'DSP trace' })                     -> a Readable of its bytes
 */
import { type ReadStream, type Stats, closeSync, constants, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { InputError } from './errors.ts';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

export interface InputFileOptions {
  /** What the file is, for messages: 'layer table', 'DSP trace', 'ONNX model', ... */
  what: string;
  /** The largest size accepted, in bytes. */
  maxBytes: number;
}

/** 1536 -> "1.5 KiB", 16777216 -> "16 MiB". */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[u]}`;
}

/** "ENOENT: no such file or directory", without the syscall and path Node appends. */
function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code && err.message ? err.message.replace(/, \w+ '.*'$/s, '') : String(err.message ?? e);
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Opens `path` for reading and returns the descriptor and size of a regular file, or throws. */
function openRegularFile(path: string, what: string): { fd: number; size: number } {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it has no effect on regular files.
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw new InputError(`cannot read ${what} '${path}': ${reason(e)}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new InputError(`cannot read ${what} '${path}': it is ${kindOf(st)}, not a regular file`);
    return { fd, size: st.size };
  } catch (e) {
    closeSync(fd);
    throw e instanceof InputError ? e : new InputError(`cannot read ${what} '${path}': ${reason(e)}`);
  }
}

function tooLarge(path: string, what: string, size: string, maxBytes: number): InputError {
  return new InputError(`${what} '${path}' is ${size}; the limit for it is ${formatBytes(maxBytes)}`);
}

/** The bytes of a regular file of at most `maxBytes`. */
export function readInputFile(path: string, { what, maxBytes }: InputFileOptions): Buffer {
  const { fd, size } = openRegularFile(path, what);
  try {
    if (size > maxBytes) throw tooLarge(path, what, formatBytes(size), maxBytes);
    // Read to the end, not only `size` bytes: the file may grow while it is read, and must not
    // pass the limit then either.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(Math.max(size - total, 64 * KiB), maxBytes + 1 - total));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(n === chunk.length ? chunk : chunk.subarray(0, n));
      total += n;
      if (total > maxBytes) throw tooLarge(path, what, `more than ${formatBytes(maxBytes)}`, maxBytes);
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
  } catch (e) {
    throw e instanceof InputError ? e : new InputError(`cannot read ${what} '${path}': ${reason(e)}`);
  } finally {
    closeSync(fd);
  }
}

/** Line and column (1-based, in characters) of the first byte that is not UTF-8. */
function firstInvalidUtf8(bytes: Buffer): { line: number; col: number } {
  const text = bytes.toString('utf8'); // invalid sequences become U+FFFD
  let from = 0;
  for (;;) {
    const k = text.indexOf('\uFFFD', from);
    if (k < 0) return { line: 1, col: 1 }; // not reached: the fatal decoder found an invalid sequence
    const offset = Buffer.byteLength(text.slice(0, k));
    // A U+FFFD the file really contains is the three bytes EF BF BD: skip it.
    if (!(bytes[offset] === 0xef && bytes[offset + 1] === 0xbf && bytes[offset + 2] === 0xbd)) {
      const before = text.slice(0, k);
      const nl = before.lastIndexOf('\n');
      return { line: before.split('\n').length, col: k - nl };
    }
    from = k + 1;
  }
}

/** The text of a UTF-8 file of at most `maxBytes`, a leading byte-order mark dropped. */
export function readInputText(path: string, opts: InputFileOptions): string {
  const bytes = readInputFile(path, opts);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes); // drops a BOM
  } catch {
    const { line, col } = firstInvalidUtf8(bytes);
    throw new InputError(`${path}:${line}:${col}: ${opts.what} is not UTF-8 text`);
  }
}

/**
 * A stream of the bytes of a regular file, for readers whose memory does not grow with the
 * file's length (no size limit).
 */
export function openInputStream(path: string, { what }: Pick<InputFileOptions, 'what'>): ReadStream {
  const { fd } = openRegularFile(path, what);
  return createReadStream(path, { fd, autoClose: true });
}
