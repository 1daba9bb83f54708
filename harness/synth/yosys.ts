/**
 * Runs Yosys's Xilinx flow on Verilog sources and reads back the cell counts: what the FPGA
 * resource model is checked and fitted against (issue 13, item 5).
 *
 *   yosys -p "read_verilog -sv [-D NAME] <files>; chparam -set K V <top>;
 *             synth_xilinx -family xcup -top <top> -noiopad -noclkbuf -flatten; stat -json"
 *
 * `-family xcup` is UltraScale+ (DSP48E2). `-noiopad -noclkbuf` synthesize out of context: an
 * engine is part of a larger design, so I/O buffers would count pins, not the engine.
 * Yosys 0.23 maps multiplies onto DSP48E2 (mul2dsp + xilinx_dsp; it has no simulation model of the
 * primitive, cells_xtra.v blackboxes it), adders onto CARRY4/CARRY8 chains, registers onto FD*E.
 * `-flatten` lets constants cross module boundaries (a delay register of a constant port is
 * removed), as Vivado's default `-flatten_hierarchy rebuilt` does.
 *
 * Results are cached by a hash of the sources, top, parameters and the Yosys version in
 * `.cache/synth/`, because one run of a 16-DSP cascade takes seconds and a sweep repeats them.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InputError } from '../util/errors.ts';
import { writeJsonAtomically } from '../util/files.ts';

/** Cell counts grouped the way vendor utilisation reports group them. */
export interface CellCounts {
  DSP48E2: number;
  /** LUT1..LUT6 (and LUT6_2 halves counted as one LUT each), and INV (a LUT1 in Vivado). */
  LUT: number;
  /** FDRE, FDSE, FDCE, FDPE: slice flip-flops. */
  FF: number;
  /** CARRY4 / CARRY8 primitives. */
  CARRY: number;
  /** SRL16E / SRLC32E shift registers (LUTs used as delay lines). */
  SRL: number;
  /** RAMB18E2 / RAMB36E2 (a RAMB36 counts as 2 RAMB18), and LUT RAM. */
  BRAM18: number;
  LUTRAM: number;
  /** MUXF7/F8/F9 and anything not grouped above, by primitive name. */
  other: Record<string, number>;
}

export interface SynthResult {
  top: string;
  params: Record<string, number | string>;
  cells: CellCounts;
  /** Every primitive Yosys instantiated, as it reports them. */
  byType: Record<string, number>;
  /** Wall time of the Yosys run (0 when served from the cache). */
  seconds: number;
  cached: boolean;
  yosysVersion: string;
}

export interface SynthOptions {
  /** Verilog sources, read in this order. */
  files: readonly string[];
  top: string;
  /** Top-level parameters set with chparam. */
  params?: Record<string, number | string>;
  /** Verilog macros defined while reading (`read_verilog -D NAME`). */
  defines?: readonly string[];
  /** Yosys binary. @default 'yosys' */
  yosys?: string;
  /** Cache folder; null disables the cache. @default '<cwd>/.cache/synth' */
  cacheDir?: string | null;
}

/** The synth_xilinx options (part of the cache key). */
export const FLOW = '-family xcup -top <top> -noiopad -noclkbuf -flatten';

let versionCache: string | undefined;

/** The Yosys version line, or an InputError naming the Debian package when it is missing. */
export function yosysVersion(yosys = 'yosys'): string {
  if (versionCache) return versionCache;
  const r = spawnSync(yosys, ['-V'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new InputError(`yosys not found (${yosys}): install it with 'apt-get install -y yosys' (Debian 12 has Yosys 0.23)`);
  }
  versionCache = r.stdout.trim();
  return versionCache;
}

/** Groups Yosys's primitive names into CellCounts. */
export function groupCells(byType: Record<string, number>): CellCounts {
  const c: CellCounts = { DSP48E2: 0, LUT: 0, FF: 0, CARRY: 0, SRL: 0, BRAM18: 0, LUTRAM: 0, other: {} };
  for (const [type, n] of Object.entries(byType)) {
    if (type === 'DSP48E2') c.DSP48E2 += n;
    else if (/^LUT[1-6](_2)?$/.test(type) || type === 'INV') c.LUT += n;
    else if (/^FD[RSCP]E$/.test(type)) c.FF += n;
    else if (/^CARRY[48]$/.test(type)) c.CARRY += n;
    else if (/^SRL/.test(type)) c.SRL += n;
    else if (type === 'RAMB18E2') c.BRAM18 += n;
    else if (type === 'RAMB36E2') c.BRAM18 += 2 * n;
    else if (/^RAM\d+[SMX]/.test(type)) c.LUTRAM += n;
    else c.other[type] = (c.other[type] ?? 0) + n;
  }
  return c;
}

/** A Verilog identifier or a number: what may safely go into a Yosys script. */
function scriptToken(what: string, v: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_$]*$/.test(v) && !/^-?[0-9]+$/.test(v)) {
    throw new InputError(`${what} '${v}' is not a Verilog identifier or an integer`);
  }
  return v;
}

/** Yosys scripts split on blanks and ';' and take quotes literally: such paths are refused. */
function scriptPath(file: string): string {
  if (/[\s;"'#]/.test(file)) throw new InputError(`${file}: Yosys cannot read a path containing blanks, quotes, ';' or '#'`);
  return file;
}

/** Synthesizes `top` and returns its cell counts. Throws an InputError when Yosys rejects the design. */
export function synthesize(opts: SynthOptions): SynthResult {
  const yosys = opts.yosys ?? 'yosys';
  const version = yosysVersion(yosys);
  const files = opts.files.map((f) => resolve(f));
  const params = opts.params ?? {};
  const top = scriptToken('top', opts.top);
  const sources = files.map((f) => {
    try {
      return readFileSync(f, 'utf8');
    } catch (e) {
      throw new InputError(`${f}: cannot read the Verilog source (${(e as Error).message})`);
    }
  });
  const key = createHash('sha256')
    .update(JSON.stringify({ version, top, params, defines: opts.defines ?? [], flow: FLOW, sources }))
    .digest('hex')
    .slice(0, 24);
  const cacheDir = opts.cacheDir === null ? null : resolve(opts.cacheDir ?? join(process.cwd(), '.cache', 'synth'));
  const cacheFile = cacheDir ? join(cacheDir, `${top}-${key}.json`) : null;
  if (cacheFile) {
    try {
      const hit = JSON.parse(readFileSync(cacheFile, 'utf8')) as SynthResult;
      return { ...hit, seconds: 0, cached: true };
    } catch {
      // not cached yet
    }
  }

  const work = mkdtempSync(join(tmpdir(), 'fkb-synth-'));
  try {
    const chparams = Object.entries(params)
      .map(([k, v]) => `chparam -set ${scriptToken('parameter', k)} ${scriptToken(`parameter ${k}`, String(v))} ${top}`)
      .join('; ');
    const script = [
      `read_verilog -sv ${(opts.defines ?? []).map((d) => `-D${scriptToken('define', d)} `).join('')}${files.map(scriptPath).join(' ')}`,
      chparams,
      `synth_xilinx ${FLOW.replace('<top>', top)}`,
      'tee -q -o stat.json stat -json',
    ].filter(Boolean).join('; ');
    const t0 = performance.now();
    const r = spawnSync(yosys, ['-q', '-p', script], { cwd: work, encoding: 'utf8', maxBuffer: 64 << 20 });
    const seconds = (performance.now() - t0) / 1000;
    if (r.status !== 0) {
      const why = (r.stderr || r.stdout).split('\n').filter((l) => /ERROR|error/.test(l)).slice(0, 3).join('\n');
      throw new InputError(`yosys failed on ${top} (${files.join(', ')}):\n${why || r.stderr.slice(-2000)}`);
    }
    const stat = JSON.parse(readFileSync(join(work, 'stat.json'), 'utf8')) as { design?: { num_cells_by_type?: Record<string, number> } };
    const byType = stat.design?.num_cells_by_type ?? {};
    const result: SynthResult = { top, params, cells: groupCells(byType), byType, seconds, cached: false, yosysVersion: version };
    if (cacheDir && cacheFile) {
      mkdirSync(cacheDir, { recursive: true });
      writeJsonAtomically(cacheFile, result);
    }
    return result;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
