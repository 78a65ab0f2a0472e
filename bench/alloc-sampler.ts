import fs from 'node:fs';
import inspector from 'node:inspector';
import path from 'node:path';

/**
 * alloc-sampler: preloaded into a Concord member (`node --import dist/bench/alloc-sampler.js`) by
 * `cluster-bench --alloc-prof DIR`. It runs V8's sampling heap profiler from start to exit with
 * the objects that garbage collections freed kept in the profile, so the profile says where the
 * member's allocation (what the scavenges and mark-compacts then work through) comes from, not
 * only what is still live. Node's own `--heap-prof` keeps live objects only.
 *
 * At exit (the member stops on SIGTERM) it writes DIR/alloc-<pid>.heapprofile; summarise with
 * bench/alloc-profile-summary.js. CONCORD_ALLOC_PROF_DIR names DIR; CONCORD_ALLOC_PROF_INTERVAL
 * the mean bytes between samples (default 16384).
 */

const dir = process.env['CONCORD_ALLOC_PROF_DIR'];
if (dir !== undefined && dir !== '') {
  const session = new inspector.Session();
  session.connect();
  const samplingInterval = Number(process.env['CONCORD_ALLOC_PROF_INTERVAL'] ?? 16384);
  session.post('HeapProfiler.startSampling', {
    samplingInterval,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  let written = false;
  process.on('exit', () => {
    if (written) return;
    written = true;
    // A session on the member's own thread answers synchronously, so this completes before exit.
    session.post('HeapProfiler.stopSampling', (error, result) => {
      if (error !== null) {
        process.stderr.write(`alloc-sampler: ${error.message}\n`);
        return;
      }
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `alloc-${process.pid}.heapprofile`), JSON.stringify(result.profile));
    });
  });
}
