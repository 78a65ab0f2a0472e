// Unique usernames: 20 concurrent sign-ups race for the same name with claimUnique; exactly one
// wins (linearizably) and every other one is told who holds it. Then a few distinct names.
//
//   node examples/unique-usernames.mjs [NAME]
import { Concord } from '../dist/src/client/index.js';

const endpoints = (process.env.CONCORD_ENDPOINTS || '127.0.0.1:2379,127.0.0.1:22379,127.0.0.1:32379').split(',');
const client = new Concord({ endpoints });
const wanted = process.argv[2] ?? `alice-${Date.now()}`;

const results = await Promise.all(Array.from({ length: 20 }, (_, i) => client.claimUnique('usernames', wanted, `user-${i}`).then((r) => ({ owner: `user-${i}`, ...r }))));
const winners = results.filter((r) => r.claimed);
const toldTheWinner = results.filter((r) => !r.claimed && r.takenBy === winners[0]?.owner).length;
console.log(`"${wanted}": ${winners.length} winner (${winners.map((w) => w.owner).join(', ')}), ${toldTheWinner} told "taken by ${winners[0]?.owner}"`);

for (const [name, owner] of [['bob', 'user-100'], ['carol', 'user-101'], ['bob', 'user-102']]) {
  const r = await client.claimUnique('usernames', name, owner);
  console.log(r.claimed ? `${owner} now owns "${name}"` : `${owner} cannot have "${name}": taken by ${r.takenBy}`);
}
client.close();
