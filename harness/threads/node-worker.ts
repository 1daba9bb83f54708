/** The job a pool worker runs in Node (see ./node-host.ts): serve jobs until the pool stops. */
import { type WorkerSetup, startWorker } from './protocol.ts';

export function runJob(setup: WorkerSetup): void {
  startWorker(setup);
}
