/** The worker thread of `runSeeds`: runs each SeedJob it is sent and posts back its outcome. */
import { parentPort } from 'node:worker_threads';
import { runJob, type SeedJob } from './runner.js';

parentPort?.on('message', (job: SeedJob) => {
  parentPort?.postMessage(runJob(job));
});
