/** `concord lease grant TTL | revoke ID | keep-alive ID | ttl ID`. IDs are hex, as `grant` prints them. */
import { METHODS } from '../../api/codec/index.js';
import { ClientErrorCode, ConcordClientError } from '../../client/index.js';
import { CommandFailure, expectPositionals, interruptSignal, leaseHex, parseCommand, parseInteger, parseLeaseId, UsageError, withCtl, type Ctl } from './context.js';

const REVOKE = METHODS['/etcdserverpb.Lease/LeaseRevoke'];
const TTL = METHODS['/etcdserverpb.Lease/LeaseTimeToLive'];
const KEEP_ALIVE = METHODS['/etcdserverpb.Lease/LeaseKeepAlive'];

const LEASE_USAGE = 'concord lease grant TTL | revoke ID | keep-alive ID [--once] | ttl ID [--keys]';

/** runLease is `concord lease <grant|revoke|keep-alive|ttl> ...`. */
export async function runLease(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseCommand(args, { once: { type: 'boolean', default: false }, keys: { type: 'boolean', default: false } });
  const [sub, arg] = positionals;
  expectPositionals(positionals, 2, 2, LEASE_USAGE);
  switch (sub) {
    case 'grant': {
      const ttl = parseInteger(arg, 'TTL', { min: 1 });
      return withCtl(values, env, async (ctl) => {
        const lease = await ctl.client().lease(ttl, { keepAlive: false });
        ctl.out(`lease ${leaseHex(lease.id)} granted with TTL(${lease.ttlSeconds}s)`, { id: leaseHex(lease.id), ttl: lease.ttlSeconds });
        return 0;
      });
    }
    case 'revoke': {
      const id = parseLeaseId(arg);
      return withCtl(values, env, async (ctl) => {
        await ctl.pool().unary(REVOKE, { ID: id }, 'write');
        ctl.out(`lease ${leaseHex(id)} revoked`, { id: leaseHex(id), revoked: true });
        return 0;
      });
    }
    case 'ttl': {
      const id = parseLeaseId(arg);
      return withCtl(values, env, async (ctl) => {
        const r = await ctl.pool().unary(TTL, { ID: id, keys: values.keys }, 'read');
        if (r.TTL < 0n) throw new ConcordClientError(ClientErrorCode.LeaseNotFound, `lease ${leaseHex(id)} already expired or not found`);
        const keys = r.keys.map((k) => Buffer.from(k).toString('utf8'));
        ctl.out(`lease ${leaseHex(id)} granted with TTL(${r.grantedTTL}s), remaining(${r.TTL}s)${values.keys ? `, attached keys(${keys.join(', ')})` : ''}`,
          { id: leaseHex(id), ttl: Number(r.TTL), grantedTtl: Number(r.grantedTTL), ...(values.keys ? { keys } : {}) });
        return 0;
      });
    }
    case 'keep-alive':
    case 'keepalive': {
      const id = parseLeaseId(arg);
      return withCtl(values, env, (ctl) => keepAlive(ctl, id, values.once));
    }
    default:
      throw new UsageError(`usage: ${LEASE_USAGE}`);
  }
}

/** keepAlive renews the lease every TTL/3 until interrupted (or once), printing each renewal. */
async function keepAlive(ctl: Ctl, id: bigint, once: boolean): Promise<number> {
  const signal = interruptSignal();
  const call = await ctl.pool().openStream(KEEP_ALIVE.path, { signal }, undefined, false, 'idempotent');
  try {
    while (!signal.aborted) {
      call.write(KEEP_ALIVE.request.encodeFrame({ ID: id }));
      const bytes = await call.next();
      if (bytes === undefined) throw new CommandFailure(`keep-alive stream for lease ${leaseHex(id)} ended`);
      const r = KEEP_ALIVE.response.decode(bytes);
      if (r.TTL <= 0n) throw new ConcordClientError(ClientErrorCode.LeaseNotFound, `lease ${leaseHex(id)} expired or revoked`);
      ctl.out(`lease ${leaseHex(id)} keepalived with TTL(${r.TTL})`, { id: leaseHex(id), ttl: Number(r.TTL) });
      if (once) return 0;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(500, (Number(r.TTL) * 1000) / 3));
        signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
      });
    }
    return 0;
  } catch (error) {
    if (signal.aborted) return 0;
    throw error;
  } finally {
    call.cancel();
  }
}
