/**
 * The training driver the harness calls: tools/train/qat.py (PyTorch, Debian's /usr/bin/python3)
 * run as a child process, its JSON-lines progress forwarded, its exit codes mapped to ours
 * (2: bad option or file -> InputError; 1: anything else -> Error with the trainer's message).
 * Fine-tuning after pruning: the pruned float graph is written as ONNX next to the outputs and
 * handed to the trainer, the unpruned model as the distillation teacher.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { graphMacs } from '../model/graph.ts';
import { importOnnxFile } from '../model/onnx-import.ts';
import { exportFloatOnnx } from '../model/onnx-write.ts';
import { pruneToMacs } from '../prune/budget.ts';
import type { Criterion } from '../prune/criteria.ts';
import { InputError } from '../util/errors.ts';
import { writeFileAtomically } from '../util/files.ts';

export const TRAINER = fileURLToPath(new URL('../../tools/train/qat.py', import.meta.url));
/** Debian's interpreter, which has python3-torch and python3-onnx (FKB_PYTHON overrides it). */
export const PYTHON = process.env['FKB_PYTHON'] ?? '/usr/bin/python3';
const INSTALL = 'apt-get install -y python3-torch python3-onnx dataset-fashion-mnist';

/** One line of the trainer's stdout (tools/train/README.md lists them). */
export interface TrainerEvent {
  event: 'progress' | 'stage' | 'epoch' | 'done' | 'error' | 'selftest';
  [key: string]: unknown;
}

export interface TrainerDone {
  onnx: string;
  record: string;
  codes: string | null;
  top1: number;
}

/** Runs qat.py with `args`; resolves with its 'done' event. */
export function runTrainer(args: readonly string[], onEvent: (e: TrainerEvent) => void = () => {}): Promise<TrainerDone> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [TRAINER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let done: TrainerDone | undefined;
    let error: string | undefined;
    let stderr = '';
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (!line) continue;
        let e: TrainerEvent;
        try {
          e = JSON.parse(line) as TrainerEvent;
        } catch {
          continue; // not one of the trainer's events
        }
        if (e.event === 'done') done = e as unknown as TrainerDone;
        if (e.event === 'error') error = String(e['message']);
        onEvent(e);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    child.on('error', (e) => reject(new InputError(`cannot run the trainer with ${PYTHON} (${e.message}): ${INSTALL}`)));
    child.on('close', (code, signal) => {
      if (code === 0 && done) resolve(done);
      else if (code === 2) reject(new InputError(`tools/train/qat.py: ${error ?? stderr.trim().split('\n').pop() ?? 'bad option'}`));
      else reject(new Error(`tools/train/qat.py failed (${signal ?? `exit ${code}`}): ${error ?? stderr.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

export interface PruneForTraining {
  model: string;
  /** Fraction of the MACs to keep, (0, 1]. */
  macs: number;
  criterion: Criterion;
  /** Where the pruned float ONNX goes. */
  out: string;
}

/**
 * Prunes the float model to a MACs budget (no image is used: no bias compensation or
 * reconstruction, the fine-tuning recovers) and writes it as float ONNX for the trainer.
 */
export function writePrunedModel(o: PruneForTraining): { path: string; macs: number; macsOf: number } {
  const graph = importOnnxFile(o.model);
  const r = pruneToMacs(graph, { criterion: o.criterion, targetMacsFraction: o.macs, biasCompensation: false, reconstruct: false });
  writeFileAtomically(o.out, exportFloatOnnx(r.graph));
  return { path: o.out, macs: graphMacs(r.graph), macsOf: graphMacs(graph) };
}

/** `<dir>/<name>.<suffix>` */
export const outputPath = (dir: string, name: string, suffix: string): string => join(dir, `${name}.${suffix}`);
