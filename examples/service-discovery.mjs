// Service discovery: instances register under a lease as "services/<service>/<instance>"
// (client.register); a watcher follows the members with client.watchMembers, which lists them
// and then delivers joins and leaves in order, none missed or repeated. A killed instance leaves
// when its lease expires (TTL 3 s here); one stopped with Ctrl-C leaves at once.
//
//   node examples/service-discovery.mjs watch api          # terminal 1: watch the members
//   node examples/service-discovery.mjs register api a1    # terminal 2 (Ctrl-C or kill -9 it)
//   node examples/service-discovery.mjs register api a2    # terminal 3
import { Concord } from '../dist/src/client/index.js';

const endpoints = (process.env.CONCORD_ENDPOINTS || '127.0.0.1:2379,127.0.0.1:22379,127.0.0.1:32379').split(',');
const [mode, service = 'api', instance = `i${process.pid}`] = process.argv.slice(2);
const client = new Concord({ endpoints });

if (mode === 'register') {
  const registration = await client.register(service, instance, { pid: process.pid, startedAt: new Date().toISOString() }, { ttl: 3 });
  console.log(`registered ${registration.key} (pid ${process.pid}); Ctrl-C to leave`);
  let leaving = false;
  registration.lost.addEventListener('abort', () => {
    if (leaving) return; // close() revokes the lease, which also fires `lost`
    console.error('lease lost: no longer registered');
    process.exit(1);
  });
  process.on('SIGINT', async () => {
    leaving = true;
    await registration.close();
    console.log(`left ${service}`);
    client.close();
    process.exit(0);
  });
} else if (mode === 'watch') {
  const stop = new AbortController();
  process.on('SIGINT', () => stop.abort());
  const members = new Set();
  console.log(`watching the members of ${service}`);
  for await (const ev of client.watchMembers(service, { signal: stop.signal })) {
    if (ev.type === 'leave') members.delete(ev.instance);
    else members.add(ev.instance);
    const sign = { join: '+', update: '~', leave: '-' }[ev.type];
    console.log(`${sign} ${ev.instance} ${ev.type} at revision ${ev.revision} -> ${[...members].join(', ') || '(none)'}`);
  }
  client.close();
} else {
  console.error('usage: node examples/service-discovery.mjs watch SERVICE | register SERVICE INSTANCE');
  process.exit(2);
}
