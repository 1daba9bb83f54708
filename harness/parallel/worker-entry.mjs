// The worker side of pool.ts. Worker threads start without the tsx loader the main thread
// registered: register it, load the caller's job module, and run each job it is sent.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { runJob } = await import(workerData.jobModule);

parentPort.on('message', async (m) => {
  try {
    parentPort.postMessage({ id: m.id, result: await runJob(m.job) });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: { name: e.name, message: e.message, stack: e.stack } });
  }
});
