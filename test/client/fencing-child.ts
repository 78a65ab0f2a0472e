/**
 * A lock holder in its own process, for the fencing test: takes the lock, prints
 * `{"token":N}`, then on each stdin line `write <value>` makes a guarded write and prints
 * `{"result":"ok"|"fenced"|"error","lost":bool}`. Usage: node fencing-child.js <endpoints,> <lock> <ttl>
 */
import readline from 'node:readline';
import { Concord, FencedError } from '../../src/client/index.js';

const [endpoints = '', name = 'lock', ttl = '2'] = process.argv.slice(2);
const client = new Concord({ endpoints: endpoints.split(',') });
const lock = await client.lock(name, { ttl: Number(ttl) });
process.stdout.write(`${JSON.stringify({ token: lock.token, key: lock.keyText })}\n`);
for await (const line of readline.createInterface({ input: process.stdin })) {
  const [command, value = ''] = line.split(' ');
  if (command !== 'write') continue;
  // Deliberately no check of lock.lost first: a paused process does not know it was paused.
  try {
    await client.guarded(lock).put('fenced/resource', value);
    process.stdout.write(`${JSON.stringify({ result: 'ok', lost: lock.lost.aborted })}\n`);
  } catch (error) {
    const result = error instanceof FencedError ? 'fenced' : 'error';
    process.stdout.write(`${JSON.stringify({ result, lost: lock.lost.aborted, message: String(error) })}\n`);
  }
}
client.close();
