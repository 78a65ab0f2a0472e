/**
 * Membership and service discovery: an instance registers as the ephemeral key
 * `services/<service>/<instance>` (JSON metadata) under a lease the client keeps alive, so a
 * crashed instance disappears within its TTL. `discover` is a linearizable read of the prefix;
 * `watchMembers` is a snapshot at revision R followed by a watch from R + 1 (no gap, no
 * duplicate), delivered as joins, updates and leaves in revision order.
 *
 * The methods are installed on `Concord` here (declaration merging) because this file is
 * loaded by the client's one entry point, index.ts.
 */
import type { Concord } from './client.js';
import { ClientErrorCode, ConcordClientError, WatchCompactedError } from './errors.js';
import type { Lease } from './lease.js';
import type { KeyValue, Revision } from './types.js';

/** SERVICES_PREFIX is the key prefix of every registration: `services/<service>/<instance>`. */
export const SERVICES_PREFIX = 'services/';

/** MemberMetadata is an instance's JSON metadata (an object). */
export type MemberMetadata = Readonly<Record<string, unknown>>;

/** RegisterOptions: the lease TTL in seconds (default 10). */
export interface RegisterOptions {
  readonly ttl?: number;
}

/** ServiceInstance is one registered instance as read from the store. */
export interface ServiceInstance {
  readonly instance: string;
  readonly metadata: MemberMetadata;
  /** createRevision is the revision the registration was created at. */
  readonly createRevision: Revision;
  /** modRevision is the revision of the last (re-)registration. */
  readonly modRevision: Revision;
}

/**
 * MemberEvent is one change to a service's members. `revision` is the revision of the change
 * (for the initial joins, the member key's mod revision). `update` is a re-registration of a
 * known instance (new metadata or lease); a `leave` carries the last known metadata.
 */
export interface MemberEvent {
  readonly type: 'join' | 'update' | 'leave';
  readonly instance: string;
  readonly metadata: MemberMetadata;
  readonly revision: Revision;
}

/** WatchMembersOptions: abort `signal` to stop (the loop then ends). */
export interface WatchMembersOptions {
  readonly signal?: AbortSignal;
}

/** Registration is a registered instance, alive while its lease is. Stop when `lost` aborts. */
export class Registration {
  /** lost aborts when the lease is lost (or the registration closed): the key is (or will be) gone. */
  readonly lost: AbortSignal;

  constructor(
    readonly service: string,
    readonly instance: string,
    /** key is `services/<service>/<instance>`. */
    readonly key: string,
    /** revision is the revision at which this registration was written. */
    readonly revision: Revision,
    readonly lease: Lease,
  ) {
    this.lost = lease.lost;
  }

  /** close revokes the lease, deleting the key at once (watchers see a leave). */
  async close(): Promise<void> {
    await this.lease.revoke();
  }
}


/** servicePrefix is `services/<service>/`, after checking the name. */
export function servicePrefix(service: string): string {
  checkName('service', service);
  return `${SERVICES_PREFIX}${service}/`;
}

function checkName(what: string, name: string): void {
  if (name.length === 0 || name.includes('/')) {
    throw new ConcordClientError(ClientErrorCode.InvalidArgument, `${what} name must be non-empty and contain no '/', got ${JSON.stringify(name)}`);
  }
}

/** registerInstance is `client.register`. */
export async function registerInstance(
  client: Concord, service: string, instance: string, metadata: MemberMetadata = {}, options: RegisterOptions = {},
): Promise<Registration> {
  checkName('instance', instance);
  const key = servicePrefix(service) + instance;
  const value = JSON.stringify(metadata);
  const lease = await grantLease(client, options.ttl ?? 10);
  try {
    let revision: Revision;
    try {
      revision = (await client.put(key, value, { lease: lease.id })).revision;
    } catch (error) {
      if (!(error instanceof ConcordClientError && error.code === ClientErrorCode.OutcomeUnknown)) throw error;
      // The same value under the same lease: writing it twice is the same registration.
      revision = (await client.put(key, value, { lease: lease.id })).revision;
    }
    return new Registration(service, instance, key, revision, lease);
  } catch (error) {
    await lease.revoke().catch(() => {});
    throw error;
  }
}

/**
 * grantLease grants the registration's lease, asking once more when the first grant's outcome is
 * unknown (a timeout on a busy cluster): a lease granted by the first attempt has no key attached
 * and simply expires after its TTL, so asking again is safe.
 */
async function grantLease(client: Concord, ttlSeconds: number): Promise<Lease> {
  try {
    return await client.lease(ttlSeconds);
  } catch (error) {
    if (!(error instanceof ConcordClientError && error.code === ClientErrorCode.OutcomeUnknown)) throw error;
    return client.lease(ttlSeconds);
  }
}

/** snapshotMembers reads the members of `service` at one revision (linearizable). */
export async function snapshotMembers(client: Concord, service: string): Promise<{ members: ServiceInstance[]; revision: Revision }> {
  const prefix = servicePrefix(service);
  const r = await client.getRange(prefix);
  const members = r.kvs.map((kv) => instanceOf(prefix, kv)).sort((a, b) => (a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : 0));
  return { members, revision: r.header.revision };
}

/** discoverInstances is `client.discover`. */
export async function discoverInstances(client: Concord, service: string): Promise<ServiceInstance[]> {
  return (await snapshotMembers(client, service)).members;
}

/**
 * watchMemberBatches yields member events grouped: first the whole snapshot (joins, in mod
 * revision order, possibly empty), then one batch per watched change. After a compaction it
 * re-reads the members and yields the difference (leaves, then joins and updates) as one batch.
 * Consumers that recompute something per membership (the allocator) act once per batch.
 */
export async function* watchMemberBatches(
  client: Concord, service: string, options: WatchMembersOptions = {},
): AsyncGenerator<MemberEvent[], void, undefined> {
  const prefix = servicePrefix(service);
  const known = new Map<string, ServiceInstance>();
  let snapshot = await snapshotMembers(client, service);
  let first: MemberEvent[] = [...snapshot.members]
    .sort((a, b) => a.modRevision - b.modRevision)
    .map((m) => ({ type: 'join', instance: m.instance, metadata: m.metadata, revision: m.modRevision }));
  for (const m of snapshot.members) known.set(m.instance, m);
  for (;;) {
    yield first;
    try {
      for await (const ev of client.watch(prefix, { fromRevision: snapshot.revision + 1, ...(options.signal ? { signal: options.signal } : {}) })) {
        const instance = ev.key.slice(prefix.length);
        if (ev.type === 'delete') {
          const before = known.get(instance);
          if (!before) continue; // not a member we reported (cannot happen after a snapshot; dropped)
          known.delete(instance);
          yield [{ type: 'leave', instance, metadata: before.metadata, revision: ev.revision }];
        } else {
          const now = instanceOf(prefix, ev.kv);
          const type = known.has(instance) ? 'update' : 'join';
          known.set(instance, now);
          yield [{ type, instance, metadata: now.metadata, revision: ev.revision }];
        }
      }
      return; // aborted
    } catch (error) {
      if (!(error instanceof WatchCompactedError)) throw error;
      // History is gone: re-read and report the difference, then watch from the new snapshot.
      snapshot = await snapshotMembers(client, service);
      first = diffMembers(known, snapshot.members, snapshot.revision);
      known.clear();
      for (const m of snapshot.members) known.set(m.instance, m);
    }
  }
}

/** watchMemberEvents is `client.watchMembers`: the batches, flattened. */
export async function* watchMemberEvents(
  client: Concord, service: string, options: WatchMembersOptions = {},
): AsyncGenerator<MemberEvent, void, undefined> {
  for await (const batch of watchMemberBatches(client, service, options)) yield* batch;
}

function diffMembers(known: ReadonlyMap<string, ServiceInstance>, now: readonly ServiceInstance[], revision: Revision): MemberEvent[] {
  const events: MemberEvent[] = [];
  const nowByName = new Map(now.map((m) => [m.instance, m]));
  for (const [instance, before] of known) {
    const after = nowByName.get(instance);
    if (!after || after.createRevision !== before.createRevision) events.push({ type: 'leave', instance, metadata: before.metadata, revision });
  }
  for (const m of now) {
    const before = known.get(m.instance);
    if (!before || before.createRevision !== m.createRevision) events.push({ type: 'join', instance: m.instance, metadata: m.metadata, revision });
    else if (before.modRevision !== m.modRevision) events.push({ type: 'update', instance: m.instance, metadata: m.metadata, revision });
  }
  return events;
}

function instanceOf(prefix: string, kv: KeyValue): ServiceInstance {
  return { instance: kv.keyText.slice(prefix.length), metadata: parseMetadata(kv.valueText), createRevision: kv.createRevision, modRevision: kv.modRevision };
}

/** parseMetadata reads a registration's value; a value that is not a JSON object (written by another tool) is kept as `{ raw }`. */
function parseMetadata(text: string): MemberMetadata {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as MemberMetadata;
  } catch {
    // fall through
  }
  return { raw: text };
}
