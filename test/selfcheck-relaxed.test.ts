/**
 * The relaxed-SIMD self-check: it must refuse an engine that computes
 * i32x4.relaxed_dot_i8x16_i7x16_add_s wrongly (Node 20's Liftoff returns twice the dot product
 * and drops the accumulator), and accept a correct one.
 */
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SPLITCONV_VARIANTS } from '../harness/registry/splitconv.ts';
import { modulesFor } from '../harness/wasm/kernel-runner.ts';
import { type KernelExports, loadModules, relaxedSelfCheck, unsignedI7Check } from '../harness/wasm/modules.ts';

/** How a stand-in engine lowers the relaxed dot product. */
type Lowering = 'exact' | 'liftoff-bug' | 'signed-i7' | 'saturating-pairs';

/** A stand-in module whose probe computes the dot product as `lowering` says. */
function fakeExports(lowering: Lowering | boolean): KernelExports {
  const how: Lowering = lowering === true ? 'liftoff-bug' : lowering === false ? 'exact' : lowering;
  const memory = new WebAssembly.Memory({ initial: 1 });
  return {
    memory,
    heapBase: () => 1024,
    relaxedDotProbe: (a: number, b: number, c: number, out: number) => {
      const i8 = new Int8Array(memory.buffer);
      const u8 = new Uint8Array(memory.buffer);
      const i32 = new Int32Array(memory.buffer);
      const sat16 = (v: number) => Math.max(-32768, Math.min(32767, v));
      for (let lane = 0; lane < 4; lane++) {
        const prod = (j: number) => {
          const bj = how === 'signed-i7' ? i8[b + 4 * lane + j]! : u8[b + 4 * lane + j]!;
          return i8[a + 4 * lane + j]! * bj;
        };
        // x64 without VNNI: pmaddubsw adds product pairs into saturating int16.
        const dot = how === 'saturating-pairs' ? sat16(prod(0) + prod(1)) + sat16(prod(2) + prod(3)) : prod(0) + prod(1) + prod(2) + prod(3);
        i32[(out >> 2) + lane] = how === 'liftoff-bug' ? 2 * dot : dot + i32[(c >> 2) + lane]!;
      }
    },
  };
}

test('the self-check refuses the Liftoff behaviour and accepts exact arithmetic', () => {
  assert.match(relaxedSelfCheck(fakeExports(true)) ?? '', /relaxed SIMD self-check failed: .* lane 0 gave .*, want/);
  assert.is(relaxedSelfCheck(fakeExports(false)), undefined);
});

test('the unsigned-i7 check refuses signed and saturating lowerings and accepts exact unsigned arithmetic', () => {
  for (const how of ['signed-i7', 'saturating-pairs'] as const) {
    // Both pass the defined-domain check: only bytes >= 128 tell them apart.
    assert.is(relaxedSelfCheck(fakeExports(how)), undefined, how);
    assert.match(unsignedI7Check(fakeExports(how)) ?? '', /does not read i7 bytes >= 128 as unsigned without saturation \(case \d lane \d gave -?\d+, want -?\d+\)/, how);
  }
  assert.is(unsignedI7Check(fakeExports('exact')), undefined);
});

test('variants needing the unsigned reading run exactly where the engine passed its check, and nowhere else', () => {
  const status = loadModules().get('relaxed')!;
  const needing = SPLITCONV_VARIANTS.filter((v) => v.needs === 'unsigned-i7');
  assert.ok(needing.length > 0, 'no registered variant needs the unsigned reading');
  for (const v of needing) {
    const runs = modulesFor(v).some((k) => k.name === 'relaxed');
    assert.is(runs, Boolean(status.kernel) && status.unsignedI7Refused === undefined, v.name);
  }
  console.log(`Node ${process.version}: unsigned-i7 variants ${status.kernel ? (status.unsignedI7Refused ? `refused: ${status.unsignedI7Refused}` : 'used') : 'not used (no relaxed module)'}`);
});

test('on this engine the relaxed module is either used and self-checked, or refused with a reason', () => {
  const status = loadModules().get('relaxed')!;
  console.log(`Node ${process.version}: relaxed module ${status.kernel ? 'used' : `refused: ${status.reason}`}`);
  if (status.kernel) assert.is(relaxedSelfCheck(status.kernel.instantiate()), undefined);
  else assert.match(status.reason!, /does not support relaxed SIMD|self-check failed/);
  if (Number(process.versions.node.split('.')[0]) >= 22) assert.ok(status.kernel, 'Node 22+ computes relaxed SIMD correctly');
});

test('Node 20 with --experimental-wasm-relaxed-simd: the module validates but is refused (Liftoff)', () => {
  if (process.versions.node.split('.')[0] !== '20') {
    console.log(`skipped on Node ${process.version}: the flag and the bug are Node 20's`);
    return;
  }
  const script = "import('./harness/wasm/modules.ts').then(m => console.log(JSON.stringify(m.loadModule('relaxed').reason ?? 'used')))";
  const r = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', '--import', 'tsx', '-e', script], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const reason = JSON.parse(r.stdout.trim().split('\n').pop()!) as string;
  // If a future Node 20 build fixed Liftoff, the module is used, and the kernel suite, which
  // run-tests.js also runs under this flag, checks every relaxed variant for exactness.
  assert.ok(reason === 'used' || /self-check failed/.test(reason), reason);
  console.log(`Node 20 + flag: ${reason}`);
});

test.run();
