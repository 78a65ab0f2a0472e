// Leader-election workers: several workers campaign in the election "workers"; the leader does
// the work (guarded writes of a heartbeat with its fencing token), the others wait their turn.
// Kill the leader's process (or Ctrl-C) and another worker takes over with a higher token.
//
//   node examples/leader-election.mjs            # starts 3 workers as child processes
//   node examples/leader-election.mjs worker w1  # one worker (run several in terminals)
import { fork } from 'node:child_process';
import { Concord } from '../dist/src/client/index.js';

const endpoints = (process.env.CONCORD_ENDPOINTS || '127.0.0.1:2379,127.0.0.1:22379,127.0.0.1:32379').split(',');

if (process.argv[2] !== 'worker') {
  const children = ['w1', 'w2', 'w3'].map((name) => fork(new URL(import.meta.url).pathname, ['worker', name]));
  console.log(`started workers ${children.map((c) => c.pid).join(', ')}; kill the leader's pid to see a takeover; Ctrl-C ends all`);
  process.on('SIGINT', () => { for (const c of children) c.kill('SIGINT'); process.exit(0); });
} else {
  const name = process.argv[3] ?? `w${process.pid}`;
  const client = new Concord({ endpoints });
  const stop = new AbortController();
  process.on('SIGINT', () => stop.abort());
  try {
    const leadership = await client.election('workers').campaign(name, { ttl: 3, signal: stop.signal });
    console.log(`[${name}] leader (pid ${process.pid}) with token ${leadership.token}`);
    leadership.onLostLeadership(() => { console.log(`[${name}] lost leadership: stop working`); process.exit(1); });
    for (let n = 1; !stop.signal.aborted; n++) {
      // Guarded: refused (FencedError) once this worker is no longer the leader.
      await client.guarded(leadership).put('worker-heartbeat', `${name} #${n} token ${leadership.token}`);
      console.log(`[${name}] did work item ${n}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    await leadership.resign();
  } catch (error) {
    if (!stop.signal.aborted) console.error(`[${name}] ${error.code ?? ''} ${error.message}`);
  } finally {
    client.close();
  }
}
