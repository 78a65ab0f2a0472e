// A lock with a fencing token protecting a file outside Concord. Each writer takes the lock
// "report-file", then writes through the "storage" below, which keeps a FencingGate and refuses
// a token lower than the highest it has admitted. A writer that stalls past its lease (2 s TTL)
// comes back with a stale token and is refused, where a plain lock would have let it overwrite
// the newer holder's data.
//
//   node examples/fenced-file.mjs [FILE]          # two writers, the first one stalls
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Concord, FencingGate } from '../dist/src/client/index.js';

const endpoints = (process.env.CONCORD_ENDPOINTS || '127.0.0.1:2379,127.0.0.1:22379,127.0.0.1:32379').split(',');
const file = process.argv[2] ?? path.join(tmpdir(), 'concord-fenced-report.txt');

// The resource: in real life a storage service that remembers the highest token it has seen.
const gate = new FencingGate();
function storageWrite(token, text) {
  gate.admit(token); // throws FencedError for a token lower than one already admitted
  writeFileSync(file, `${text} (token ${token})\n`);
}

async function writer(name) {
  const client = new Concord({ endpoints });
  try {
    const lock = await client.lock('report-file', { ttl: 2 });
    console.log(`[${name}] holds ${lock.keyText} with token ${lock.token}`);
    try {
      storageWrite(lock.token, `written by ${name}`);
      console.log(`[${name}] wrote the file`);
    } catch (error) {
      console.log(`[${name}] refused by the storage: ${error.code}: ${error.message}`);
    }
    await lock.release().catch(() => {});
  } finally {
    client.close();
  }
}

// The slow writer takes the lock first and stalls (a GC pause, a swapped-out VM): a paused
// process sends no keep-alives, simulated by releasing the lease, which then expires after 2 s.
// The fast writer, queued behind it, gets the lock once the lease expired and writes; the slow
// one resumes after that with its old token.
const client = new Concord({ endpoints });
const lock = await client.lock('report-file', { ttl: 2 });
console.log(`[slow] holds ${lock.keyText} with token ${lock.token}, then stalls`);
lock.lease.release(); // a paused process sends no keep-alives: the lease expires after 2 s
const fast = writer('fast');
await fast; // the stall lasts until the next holder has written (however long its lease takes to expire)
console.log('[slow] resumes, still believing it holds the lock');
try {
  storageWrite(lock.token, 'written by slow');
  console.log('[slow] wrote the file (should not happen)');
} catch (error) {
  console.log(`[slow] refused by the storage: ${error.code}: ${error.message}`);
}
client.close();
console.log(`${file}: ${readFileSync(file, 'utf8').trim()}`);
