/**
 * The AssemblyScript of one packed-DSP convolution variant of harness/registry/dspconv.ts: its
 * register tile, unrolled (AssemblyScript needs lane indices and load offsets as literals), and
 * the loop over rows, channel blocks and pixel tiles that calls it. The layout and the packing
 * they share are hand-written in assembly/dsp/packed-conv.ts, the requantization of a row in
 * assembly/common/finish-row.ts.
 *
 * Accumulator names: c<m>_<v> is pixel m's exact sum of weight vector v of a step (v = 2j even
 * channels of 8-channel block j, v = 2j + 1 its odd channels); t<m>_<v> its decoded total. The
 * carry decode keeps h<m>_<j> (high lanes: even channels), c<m>_<j> (the low lanes' group sum)
 * and l<m>_<j> (low-lane totals).
 */
import { type DspConvVariant, LANE_DECODES } from '../harness/registry/dspconv.ts';
import { SCHEMES } from '../harness/dsp/schemes.ts';

export function dspFileStem(v: DspConvVariant): string {
  return v.name.replace(/_/g, '-');
}

/** Lane widths from the scheme definitions, so the decode follows harness/dsp/schemes.ts. */
function widths<N extends 2 | 4>(scheme: keyof typeof SCHEMES, count: N): N extends 2 ? [number, number] : [number, number, number, number] {
  const w = SCHEMES[scheme].lanes.map((l) => l.width);
  if (w.length !== count) throw new Error(`${scheme}: the generated decode expects ${count} lanes, the scheme has ${w.length}`);
  return w as N extends 2 ? [number, number] : [number, number, number, number];
}

const I = (n: number) => ' '.repeat(n);

/** `out`, `out + outStride`, `out + 2 * outStride`: pixel m's row of the accumulators. */
const pixelOut = (m: number) => (m === 0 ? 'out' : m === 1 ? 'out + outStride' : `out + ${m} * outStride`);

function store(dst: string, value: string, offset: number): string {
  return `v128.store(${dst}, ${value}${offset ? `, ${offset}` : ''});`;
}

/**
 * One step: one pixel's channel pair (load32_splat, int16 codes) times one channel pair of four
 * output channels per weight vector (dot_i16x8_s). Whichever operand set is smaller stays in
 * registers while the other streams through, so a tile needs one register for the streamed one
 * (sets of equal size are both loaded first).
 */
function stepCode(v: DspConvVariant, acc: (m: number, vec: number) => string, ind: string): string[] {
  const vecs = v.nr / 4;
  const lines: string[] = [];
  const loadA = (m: number) => `${ind}const a${m} = v128.load32_splat(p${m});`;
  const loadW = (k: number) => `${ind}const ${wName(v, k)} = v128.load(wp${k ? `, ${16 * k}` : ''});`;
  const mac = (m: number, k: number) => `${ind}${acc(m, k)} = i32x4.add(${acc(m, k)}, i32x4.dot_i16x8_s(a${m}, ${wName(v, k)}));`;
  if (v.mr === vecs) {
    for (let m = 0; m < v.mr; m++) lines.push(loadA(m));
    for (let k = 0; k < vecs; k++) lines.push(loadW(k));
    for (let m = 0; m < v.mr; m++) for (let k = 0; k < vecs; k++) lines.push(mac(m, k));
  } else if (v.mr > vecs) {
    for (let k = 0; k < vecs; k++) lines.push(loadW(k));
    for (let m = 0; m < v.mr; m++) {
      lines.push(loadA(m));
      for (let k = 0; k < vecs; k++) lines.push(mac(m, k));
    }
  } else {
    for (let m = 0; m < v.mr; m++) lines.push(loadA(m));
    for (let k = 0; k < vecs; k++) {
      lines.push(loadW(k));
      for (let m = 0; m < v.mr; m++) lines.push(mac(m, k));
    }
  }
  for (let m = 0; m < v.mr; m++) lines.push(`${ind}p${m} += 4;`);
  lines.push(`${ind}wp += ${v.nr * 4};`);
  return lines;
}

/** Weight vector k of a step: w<k>, or for the carry decode wh<j> / wl<j> (high / low lane). */
function wName(v: DspConvVariant, k: number): string {
  if (v.laneDecode === 'full') return `w${k}`;
  return `${k % 2 ? 'wl' : 'wh'}${k >> 1}`;
}

/** The loops over kernel rows, taps, decode groups and steps, with `decode` at each decode point. */
function loops(v: DspConvVariant, step: string[], decode: string[]): string[] {
  const out: string[] = [];
  out.push(`${I(2)}for (let r = 0; r < kh; r++) {`);
  for (let m = 0; m < v.mr; m++) out.push(`${I(4)}let p${m} = x${m} + <usize>r * rowStride;`);
  out.push(
    `${I(4)}for (let t = 0; t < kw; t++) {`,
    `${I(6)}for (let gi = 0; gi < groups; gi++) {`,
    `${I(8)}const steps = gi < groups - 1 ? fullSteps : lastSteps;`,
    `${I(8)}for (let s = 0; s < steps; s++) {`,
    ...step,
    `${I(8)}}`,
    `${I(8)}if (perGroup || (r == kh - 1 && t == kw - 1 && gi == groups - 1)) {`,
    ...decode,
    `${I(8)}}`,
    `${I(6)}}`,
    `${I(6)}// The next tap of this kernel row is the next pixel: the pointers already stand there.`,
    `${I(4)}}`,
    `${I(2)}}`,
  );
  return out;
}

/** Bias' vectors, then pixel m's totals back in channel order (even/odd interleaved) plus bias'. */
function finish(v: DspConvVariant, even: (m: number, j: number) => string, odd: (m: number, j: number) => string, guarded: boolean, dst: (m: number) => string): string[] {
  const blocks = v.nr / 8;
  const out: string[] = [];
  for (let k = 0; k < 2 * blocks; k++) out.push(`${I(2)}const b${k} = v128.load(bias${k ? `, ${16 * k}` : ''});`);
  for (let m = 0; m < v.mr; m++) {
    const ind = guarded && m > 0 ? I(4) : I(2);
    if (guarded && m > 0) out.push(`${I(2)}if (pixels > ${m}) {`);
    for (let j = 0; j < blocks; j++) {
      out.push(`${ind}${store(dst(m), `i32x4.add(v128.shuffle<i32>(${even(m, j)}, ${odd(m, j)}, 0, 4, 1, 5), b${2 * j})`, 32 * j)}`);
      out.push(`${ind}${store(dst(m), `i32x4.add(v128.shuffle<i32>(${even(m, j)}, ${odd(m, j)}, 2, 6, 3, 7), b${2 * j + 1})`, 32 * j + 16)}`);
    }
    if (guarded && m > 0) out.push(`${I(2)}}`);
  }
  return out;
}

const TILE_ARGS = 'rowStride: usize, kh: i32, kw: i32, groups: i32, fullSteps: i32, lastSteps: i32,\n  w: usize, out: usize, outStride: usize, bias: usize';

/** Every scheme's full lane decode of each DSP's P per group (see assembly/dsp/packed-conv.ts). */
function fullTile(v: DspConvVariant): string {
  if (v.mr % 2) throw new Error(`${v.name}: the full lane decode pairs pixels (WP487, INT4), so MR must be even`);
  const vecs = v.nr / 4;
  const blocks = v.nr / 8;
  const c = (m: number, k: number) => `c${m}_${k}`;
  const t = (m: number, k: number) => `t${m}_${k}`;
  const [i4a, i4b, i4c, i4d] = widths('int4', 4);
  const [wpLo, wpHi] = widths('wp487u8', 2);
  const [i8Lo, i8Hi] = widths('int8x8', 2);
  if (widths('int8xu8', 2).join() !== [i8Lo, i8Hi].join()) throw new Error('int8x8 and int8xu8 must share their lanes');
  const add = (a: string, b: string) => `i32x4.add(${a}, ${b})`;
  const inc = (ind: string, dst: string, what: string) => `${ind}${dst} = ${add(dst, what)};`;
  const d = I(10);
  // Suffix the temporaries of one DSP when a tile holds more than one of them.
  const sfx = (n: number, ...ix: number[]) => (n > 1 ? `_${ix.join('_')}` : '');

  const int4: string[] = [];
  for (let i = 0; i < v.mr / 2; i++) {
    for (let j = 0; j < blocks; j++) {
      const [A, B, e, o] = [2 * i, 2 * i + 1, 2 * j, 2 * j + 1];
      const s = sfx((v.mr / 2) * blocks, i, j);
      int4.push(
        `${d}const l0${s} = sext(${c(A, e)}, ${i4a});`,
        `${d}const T1${s} = ${add(c(B, e), `i32x4.shr_s(${c(A, e)}, ${i4a})`)};`,
        `${d}const f1${s} = sext(T1${s}, ${i4b});`,
        `${d}const T2${s} = ${add(c(A, o), `i32x4.shr_s(T1${s}, ${i4b})`)};`,
        `${d}const f2${s} = sext(T2${s}, ${i4c});`,
        `${d}const T3${s} = ${add(c(B, o), `i32x4.shr_s(T2${s}, ${i4c})`)};`,
        inc(d, t(A, e), `l0${s}`),
        inc(d, t(B, e), add(`f1${s}`, `borrow(l0${s})`)),
        inc(d, t(A, o), add(`f2${s}`, `borrow(f1${s})`)),
        inc(d, t(B, o), add(`sext(T3${s}, ${i4d})`, `borrow(f2${s})`)),
      );
    }
  }
  const wp487: string[] = [];
  for (let i = 0; i < v.mr / 2; i++) {
    for (let k = 0; k < vecs; k++) {
      const [A, B] = [2 * i, 2 * i + 1];
      const lo = `lo${k}${sfx(v.mr / 2, i)}`;
      wp487.push(
        `${d}const ${lo} = sext(${c(B, k)}, ${wpLo});`,
        inc(d, t(B, k), lo),
        inc(d, t(A, k), add(`sext(${add(c(A, k), `i32x4.shr_s(${c(B, k)}, ${wpLo})`)}, ${wpHi})`, `borrow(${lo})`)),
      );
    }
  }
  const int8: string[] = [];
  for (let m = 0; m < v.mr; m++) {
    for (let j = 0; j < blocks; j++) {
      const [e, o] = [2 * j, 2 * j + 1];
      const lo = `lo${m}${sfx(blocks, j)}`;
      int8.push(
        `${d}const ${lo} = sext(${c(m, o)}, ${i8Lo});`,
        inc(d, t(m, o), lo),
        inc(d, t(m, e), add(`sext(${add(c(m, e), `i32x4.shr_s(${c(m, o)}, ${i8Lo})`)}, ${i8Hi})`, `borrow(${lo})`)),
      );
    }
  }
  const cells: [number, number][] = [];
  for (let m = 0; m < v.mr; m++) for (let k = 0; k < vecs; k++) cells.push([m, k]);
  const decode = [
    `${I(10)}// Decode the group's P of every DSP, lane by lane (see assembly/dsp/packed-conv.ts).`,
    `${I(10)}if (scheme == DSP_SCHEME_INT4) {`,
    `${I(12)}// DSP per pixel pair and channel pair (w1 = even channel, w2 = odd; a1, a2 = the pixels): lanes w1a1, w1a2, w2a1, w2a2.`,
    ...int4.map((l) => `  ${l}`),
    `${I(10)}} else if (scheme == DSP_SCHEME_WP487U8) {`,
    `${I(12)}// DSP per channel and pixel pair: u1 = the even pixel (high lane), u2 = the odd one (low lane).`,
    ...wp487.map((l) => `  ${l}`),
    `${I(10)}} else {`,
    `${I(12)}// int8x8, int8xu8: DSP per pixel and channel pair: w1 = even channel (high lane), w2 = odd (low lane).`,
    ...int8.map((l) => `  ${l}`),
    `${I(10)}}`,
    `${I(10)}${cells.map(([m, k]) => `${c(m, k)} = i32x4.splat(0);`).join(' ')}`,
  ];
  const xs = Array.from({ length: v.mr }, (_, m) => `x${m}: usize`).join(', ');
  return [
    `/**`,
    ` * ${v.mr} pixels x ${v.nr} output channels, every scheme: the exact sums of each decode group,`,
    ` * then each DSP's lanes decoded. Pixels (2i, 2i + 1) share the DSPs of WP487 and INT4.`,
    ` */`,
    `function tile(`,
    `  ${xs}, ${TILE_ARGS}, scheme: i32, decode: i32,`,
    `): void {`,
    ...cells.map(([m, k]) => `  let ${c(m, k)} = i32x4.splat(0);`),
    ...cells.map(([m, k]) => `  let ${t(m, k)} = i32x4.splat(0);`),
    `  let wp = w;`,
    `  const perGroup = decode != DSP_DECODE_WINDOW;`,
    ...loops(v, stepCode(v, c, I(10)), decode),
    ...finish(v, (m, j) => t(m, 2 * j), (m, j) => t(m, 2 * j + 1), false, pixelOut),
    `}`,
  ].join('\n');
}

/**
 * int8x8 only: the high lane's decode is its exact sum plus the carry k = round(S_low / 2^18)
 * (halves up) while its field cannot wrap, which holds for groups of at most maxGroupProducts
 * products (the runner checks it). So the high-lane accumulators run on and receive k; only the
 * low lanes keep a group sum c, started at 2^17 so that k = c >> 18 and
 * sext18(S_low) = (c & 0x3ffff) - 2^17, the 2^17s taken off once per output (`decodes` groups).
 */
function carryTile(v: DspConvVariant): string {
  if (v.schemes.join() !== 'int8x8') throw new Error(`${v.name}: the carry decode is int8x8's`);
  const [lo, hi] = widths('int8x8', 2);
  if (hi + lo !== 48) throw new Error('int8x8: the carry decode expects two lanes filling P');
  const blocks = v.nr / 8;
  const inOut = v.lowTotals === 'output';
  const h = (m: number, j: number) => `h${m}_${j}`;
  const c = (m: number, j: number) => `c${m}_${j}`;
  const l = (m: number, j: number) => `l${m}_${j}`;
  const acc = (m: number, k: number) => (k % 2 ? c(m, k >> 1) : h(m, k >> 1));
  const cells: [number, number][] = [];
  for (let m = 0; m < v.mr; m++) for (let j = 0; j < blocks; j++) cells.push([m, j]);
  // Pixel m's low totals of block j, in its row of the accumulators when they wait there.
  const o = (m: number) => (m === 0 ? 'out' : `o${m}`);
  const decode: string[] = [];
  if (inOut) {
    for (const [m, j] of cells) decode.push(`${I(10)}${h(m, j)} = i32x4.add(${h(m, j)}, i32x4.shr_s(${c(m, j)}, ${lo}));`);
    for (const [m, j] of cells) {
      decode.push(`${I(10)}${store(o(m), `i32x4.add(v128.load(${o(m)}${j ? `, ${32 * j}` : ''}), v128.and(${c(m, j)}, LOW))`, 32 * j)}`);
    }
  } else {
    for (const [m, j] of cells) {
      decode.push(`${I(10)}${h(m, j)} = i32x4.add(${h(m, j)}, i32x4.shr_s(${c(m, j)}, ${lo}));`);
      decode.push(`${I(10)}${l(m, j)} = i32x4.add(${l(m, j)}, v128.and(${c(m, j)}, LOW));`);
    }
  }
  decode.push(`${I(10)}${cells.map(([m, j]) => `${c(m, j)} = HALF;`).join(' ')}`);
  const start: string[] = [];
  const end: string[] = [];
  if (inOut) {
    start.push(
      `  // The low-lane totals wait in the tile's own rows of the accumulators (pixel m, block j at`,
      `  // out + m * outStride + 32j), starting at -2^${lo - 1} per decode: fewer live vectors leave`,
      `  // room in x86's 16 registers for the activations and weights.`,
      `  const lowStart = i32x4.splat(-(decodes << ${lo - 1}));`,
    );
    for (let m = 1; m < v.mr; m++) start.push(`  const o${m} = ${pixelOut(m)};`);
    for (const [m, j] of cells) start.push(`  ${store(o(m), 'lowStart', 32 * j)}`);
    for (const [m, j] of cells) end.push(`  const ${l(m, j)} = v128.load(${o(m)}${j ? `, ${32 * j}` : ''});`);
  } else {
    end.push(`  const half = i32x4.splat(decodes << ${lo - 1});`);
    for (const [m, j] of cells) end.push(`  ${l(m, j)} = i32x4.sub(${l(m, j)}, half);`);
  }
  const xs = Array.from({ length: v.mr }, (_, m) => `x${m}: usize`).join(', ');
  return [
    `/**`,
    ` * ${v.mr} pixels x ${v.nr} output channels, int8x8 with the carry decode. \`pixels\` (1..${v.mr}) says how`,
    ` * many are real; the others recompute pixel 0 and are not stored.`,
    ` */`,
    `function tile(`,
    `  ${xs}, ${TILE_ARGS}, decode: i32, pixels: i32, decodes: i32,`,
    `): void {`,
    ...cells.map(([m, j]) => `  let ${h(m, j)} = i32x4.splat(0);`),
    ...cells.map(([m, j]) => `  let ${c(m, j)} = HALF;`),
    ...(inOut ? [] : cells.map(([m, j]) => `  let ${l(m, j)} = i32x4.splat(0);`)),
    ...start,
    `  let wp = w;`,
    `  const perGroup = decode != DSP_DECODE_WINDOW;`,
    ...loops(v, stepCode(v, acc, I(10)), decode),
    ...end,
    ...finish(v, (m, j) => h(m, j), (m, j) => l(m, j), true, inOut ? o : pixelOut),
    `}`,
  ].join('\n');
}

export function dspVariantSource(v: DspConvVariant, header: string): string {
  // Blocks of even/odd channel vectors need multiples of 8; roundUp (a mask) needs a power of two.
  if (v.nr < 8 || v.nr & (v.nr - 1)) throw new Error(`${v.name}: NR must be 8, 16, 32, ...`);
  if (v.cb !== 2) throw new Error(`${v.name}: a step takes one DSP channel pair (CB = 2)`);
  const full = v.laneDecode === 'full';
  const n = v.name;
  const spare = v.mr - 1;
  const lo = widths('int8x8', 2)[0];
  const pixels: string[] = [];
  for (let m = 1; m < v.mr; m++) {
    const at = m === 1 ? 'x0 + pixStride' : `x0 + ${m} * pixStride`;
    pixels.push(full ? `        const x${m} = ow + ${m} < outW ? ${at} : ghost;` : `        const x${m} = n > ${m} ? ${at} : x0;`);
  }
  const xs = Array.from({ length: v.mr }, (_, m) => `x${m}`).join(', ');
  const call = full
    ? `tile(${xs}, rowStride, kh, kw, groups, fullSteps, lastSteps, wb, out + <usize>ow * outStride, outStride, b, scheme, decode);`
    : `tile(${xs}, rowStride, kh, kw, groups, fullSteps, lastSteps, wb, out + <usize>ow * outStride, outStride, b, decode, n, decodes);`;
  return `${header}//
// ${n}
// Decode: ${LANE_DECODES[v.laneDecode]}.
// Register tile: ${v.mr} output pixels x ${v.nr} output channels, one channel pair (${v.cb} input channels) per step.
// Layouts and packing: assembly/dsp/packed-conv.ts. Scratch: packed activations | ghost rows |
// row accumulators [outW + ${spare}][OCp] (the last tile's idle pixels write the spare rows) | requantization constants.
import {
  field, ptr, roundUp, IN_H, IN_W, IN_C, OC, K_H, K_W, S_H, S_W, P_T, P_L, P_B, P_R, OUT_H, OUT_W, W_PTR, SCRATCH_PTR,
  ${full ? 'DSP_SCHEME, DSP_SCHEME_INT4, DSP_SCHEME_WP487U8, ' : ''}DSP_DECODE, DSP_DECODE_WINDOW,
} from '../../common/params';
import { finishRow, prepareRows } from '../../common/finish-row';
import {
  activationBytes, ghostBytes, groupLength, pack, packActivations, packedBytes, paddedChannels, scratchBytes, threadScratchBytes,
  weightBlockBytes,${full ? ' borrow, sext,' : ''}
} from '../packed-conv';

const MR: i32 = ${v.mr};
const NR: i32 = ${v.nr};
${full ? '' : `\n/** The carry decode's group start 2^${lo - 1} and low-lane mask. */\nconst HALF = i32x4.splat(${2 ** (lo - 1)});\nconst LOW = i32x4.splat(${2 ** lo - 1});\n`}
export function ${n}_packed_bytes(p: usize): i32 {
  return packedBytes(p, NR);
}

export function ${n}_scratch_bytes(p: usize): i32 {
  return scratchBytes(p, NR, MR - 1);
}

/** Bytes of a thread's own scratch (the tail of the scratch: row accumulators | constants). */
export function ${n}_thread_bytes(p: usize): i32 {
  return threadScratchBytes(p, NR, MR - 1);
}

export function ${n}_pack(p: usize): void {
  pack(p, NR);
}

${full ? fullTile(v) : carryTile(v)}

/** Packs the padded input rows [r0, r1) (of inH + pT + pB) into the scratch: one thread's share. */
export function ${n}_pack_rows(p: usize, r0: i32, r1: i32): void {
  const act = ptr(p, SCRATCH_PTR);
  packActivations(p, act, act + <usize>activationBytes(p), r0, r1);
}

/**
 * Output rows [oh0, oh1) from the packed rows, with a thread's own scratch \`ts\` (thread_bytes):
 * one thread's share once every row is packed.
 */
export function ${n}_rows(p: usize, oh0: i32, oh1: i32, ts: usize): void {
  const wp = field(p, IN_W) + field(p, P_L) + field(p, P_R);
  const kh = field(p, K_H);
  const kw = field(p, K_W);
  const outW = field(p, OUT_W);
  const ocp = roundUp(field(p, OC), NR);
  const c = field(p, IN_C);
  const g = groupLength(p);
  const groups = (c + g - 1) / g;
  const fullSteps = roundUp(g, 2) >> 1;
  const lastSteps = roundUp(c - (groups - 1) * g, 2) >> 1;
  const cg = paddedChannels(p);
  const pixBytes = <usize>cg << 1;
  const rowStride = <usize>wp * pixBytes;
  const pixStride = <usize>field(p, S_W) * pixBytes;
  const outStride = <usize>ocp << 2;
  const blockBytes = <usize>weightBlockBytes(p, NR);
  const weights = ptr(p, W_PTR);
  const bias = weights + <usize>(ocp / NR) * blockBytes;
  const act = ptr(p, SCRATCH_PTR);
${full ? '  const ghost = act + <usize>activationBytes(p);\n' : ''}  const rowAcc = ts;
  const consts = rowAcc + <usize>((outW + MR - 1) * ocp * 4);
${full ? '  const scheme = field(p, DSP_SCHEME);\n' : ''}  const decode = field(p, DSP_DECODE);
${full ? '' : '  const decodes = decode == DSP_DECODE_WINDOW ? 1 : kh * kw * groups;\n'}  if (oh0 > 0) prepareRows(p, consts);
  for (let oh = oh0; oh < oh1; oh++) {
    const xRow = act + <usize>(oh * field(p, S_H)) * rowStride;
    for (let ob = 0; ob < ocp / NR; ob++) {
      const wb = weights + <usize>ob * blockBytes;
      const out = rowAcc + (<usize>(ob * NR) << 2);
      const b = bias + (<usize>(ob * NR) << 2);
      for (let ow = 0; ow < outW; ow += MR) {
        const x0 = xRow + <usize>ow * pixStride;
${
  full
    ? '        // Pixels past the row\'s end are idle DSP inputs: zeros (a DSP pair\'s other pixel is decoded with them).\n'
    : '        const n = min(MR, outW - ow);\n        // Missing pixels of the last tile recompute pixel 0 (a DSP per pixel: nothing is shared).\n'
}${pixels.join('\n')}${pixels.length ? '\n' : ''}        ${call}
      }
    }
    finishRow(p, rowAcc, ocp, oh, consts);
  }
}

/** The whole layer on one thread: every row packed, then every output row. */
export function ${n}_run(p: usize): void {
  ${n}_pack_rows(p, 0, field(p, IN_H) + field(p, P_T) + field(p, P_B));
  const act = ptr(p, SCRATCH_PTR);
  ${n}_rows(p, 0, field(p, OUT_H), act + <usize>(activationBytes(p) + ghostBytes(p)));
}
`;
}
