// Service discovery: instances register under a lease in "services/<service>/<instance>"; a
// watcher lists the members and prints joins and leaves in order. A killed instance disappears
// when its lease expires (TTL 3 s here).
//
//   node examples/service-discovery.mjs watch api          # terminal 1: watch the members
//   node examples/service-discovery.mjs register api a1    # terminal 2 (Ctrl-C or kill -9 it)
//   node examples/service-discovery.mjs register api a2    # terminal 3
import { Concord } from '../dist/src/client/index.js';

const endpoints = (process.env.CONCORD_ENDPOINTS || '127.0.0.1:2379,127.0.0.1:22379,127.0.0.1:32379').split(',');
const [mode, service = 'api', instance = `i${process.pid}`] = process.argv.slice(2);
const client = new Concord({ endpoints });
const prefix = `services/${service}/`;

if (mode === 'register') {
  const lease = await client.lease(3);
  await client.put(prefix + instance, JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() }), { lease: lease.id });
  console.log(`registered ${prefix + instance} under lease ${lease.id.toString(16)}; Ctrl-C to leave`);
  lease.onLost(() => { console.error('lease lost: no longer registered'); process.exit(1); });
  process.on('SIGINT', async () => { await lease.revoke(); client.close(); process.exit(0); });
} else if (mode === 'watch') {
  const { kvs, header } = await client.getRange(prefix);
  const members = new Set(kvs.map((kv) => kv.keyText.slice(prefix.length)));
  console.log(`members of ${service} at revision ${header.revision}: ${[...members].join(', ') || '(none)'}`);
  // From the revision after the listing: no join or leave is missed or seen twice.
  for await (const ev of client.watch(prefix, { fromRevision: header.revision + 1 })) {
    const name = ev.key.slice(prefix.length);
    if (ev.type === 'put' && !members.has(name)) { members.add(name); console.log(`+ ${name} joined  -> ${[...members].join(', ')}`); }
    if (ev.type === 'delete') { members.delete(name); console.log(`- ${name} left    -> ${[...members].join(', ') || '(none)'}`); }
  }
} else {
  console.error('usage: node examples/service-discovery.mjs watch SERVICE | register SERVICE INSTANCE');
  process.exit(2);
}
