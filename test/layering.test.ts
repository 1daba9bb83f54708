/**
 * The import rules of .dependency-cruiser.cjs hold for harness/, and they bite: a forbidden
 * import written into the tree on purpose is reported (then removed again).
 */
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = join(import.meta.dirname, '..');
const depcruise = join(root, 'node_modules', '.bin', 'depcruise');

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}

function cruise(paths: string[]): Violation[] {
  const r = spawnSync(depcruise, [...paths, '--config', '.dependency-cruiser.cjs', '--output-type', 'json'], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0 && !r.stdout.startsWith('{')) throw new Error(`depcruise failed (exit ${r.status}): ${r.stderr}`);
  return (JSON.parse(r.stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

const describe = (vs: Violation[]) => vs.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`).join('\n');

test('harness/ keeps its layers: no cycles, no upward imports, report reads results only, commands never import commands', () => {
  const vs = cruise(['harness']);
  assert.is(vs.length, 0, `\n${describe(vs)}`);
});

/** Writes `file` with `source`, cruises it (and what it imports), removes it; returns the violations from it. */
function probe(file: string, source: string): Violation[] {
  const path = join(root, file);
  writeFileSync(path, source);
  try {
    return cruise([file]).filter((v) => v.from === file);
  } finally {
    rmSync(path, { force: true });
  }
}

test('a forbidden import fails the check: the oracle importing the command line', () => {
  const vs = probe('harness/reference/zz-layering-probe.ts', "import '../cli/options.ts';\n");
  assert.ok(vs.some((v) => v.rule.name === 'no-upward-from-reference' && v.to === 'harness/cli/options.ts'), describe(vs));
});

test('a forbidden import fails the check: a command importing another command', () => {
  const vs = probe('harness/cli/commands/zz-layering-probe.ts', "import './model.ts';\n");
  assert.ok(vs.some((v) => v.rule.name === 'commands-never-import-commands'), describe(vs));
});

test('a forbidden import fails the check: the report importing what computes its data', () => {
  const vs = probe('harness/report/zz-layering-probe.ts', "import '../fpga/devices.ts';\n");
  assert.ok(vs.some((v) => v.rule.name === 'report-reads-results-only'), describe(vs));
});

test('a forbidden import fails the check: lowrank (beside prune and quant) importing a pipeline, the model importing lowrank', () => {
  const up = probe('harness/lowrank/zz-layering-probe.ts', "import '../pipelines/factorize.ts';\n");
  assert.ok(up.some((v) => v.rule.name === 'no-upward-from-model' && v.to === 'harness/pipelines/factorize.ts'), describe(up));
  const down = probe('harness/model/zz-layering-probe.ts', "import '../lowrank/svd.ts';\n");
  assert.ok(down.some((v) => v.rule.name === 'model-below-compression' && v.to === 'harness/lowrank/svd.ts'), describe(down));
});

test('a forbidden import fails the check: the integer graph importing the quantized-ONNX importer built on it', () => {
  const vs = probe('harness/quant/zz-layering-probe.ts', "import '../qonnx/onnx-quant.ts';\n");
  assert.ok(vs.some((v) => v.rule.name === 'no-upward-from-model' && v.to === 'harness/qonnx/onnx-quant.ts'), describe(vs));
});

test('a forbidden import fails the check: a cycle', () => {
  const vs = probe('harness/util/zz-layering-probe.ts', "import './zz-layering-probe.ts';\n");
  assert.ok(vs.some((v) => v.rule.name === 'no-circular'), describe(vs));
});

test.run();
