import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MvccStore, applyKvCommand, decodeKvCommand, type KvApplyResult, type KvCommand } from '../kv/index.js';
import { ConcordError, ErrorCode } from '../lib/errors.js';
import { nullLogger } from '../lib/logger.js';
import { Lessor, leaseTail, type LeaseTail, type LessorOptions } from './lessor.js';

/** HeldProposal is a proposal the test applies (or fails) when it chooses. */
interface HeldProposal {
  readonly command: KvCommand;
  apply(): void;
  fail(error: Error): void;
}

/**
 * setup builds a lessor over a real MvccStore. Proposals are applied at once, or with `hold` kept
 * in `held` until the test applies or fails them (a proposal in flight).
 */
function setup(options: Partial<LessorOptions> & { hold?: boolean; confirm?: () => Promise<void>; tail?: () => LeaseTail } = {}) {
  const { hold = false, confirm, tail, ...lessorOptions } = options;
  const store = new MvccStore({ limits: { leaseTtlSecondsMin: 1 } });
  let nowMs = 1_000_000;
  const proposals: KvCommand[] = [];
  const held: HeldProposal[] = [];
  let lessor!: Lessor;
  const apply = (command: KvCommand): KvApplyResult => {
    const result = applyKvCommand(store, command);
    lessor.onApplied(command, result);
    return result;
  };
  const propose = async (bytes: Uint8Array): Promise<KvApplyResult> => {
    const command = decodeKvCommand(bytes);
    proposals.push(command);
    if (!hold) return apply(command);
    return await new Promise<KvApplyResult>((resolve, reject) => {
      held.push({ command, apply: () => resolve(apply(command)), fail: reject });
    });
  };
  lessor = new Lessor(() => store, () => nowMs, propose, nullLogger,
    { checkpointIntervalMs: 5_000, promoteGraceMs: 1_000, ...lessorOptions }, confirm, tail);
  const grant = (ttl: number): bigint => {
    const r = apply({ type: 'leaseGrant', request: { ttl } });
    assert.ok(r.ok && r.result.type === 'leaseGrant');
    return r.result.response.id;
  };
  return { store, lessor, proposals, held, apply, grant, advance: (ms: number) => { nowMs += ms; } };
}

/** checkpointsOf lists the (lease, TTL) pairs of every leaseCheckpoint proposal. */
function checkpointsOf(proposals: readonly KvCommand[]): { id: bigint; remainingTtl: number }[][] {
  return proposals.flatMap((p) => (p.type === 'leaseCheckpoint' ? [p.request.checkpoints.map((c) => ({ ...c }))] : []));
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

test('the leader revokes an expired lease; a follower never does', async () => {
  const { lessor, proposals, grant, advance, store } = setup();
  const id = grant(10);
  advance(11_000);
  lessor.tick();
  assert.equal(proposals.length, 0, 'not primary: nothing proposed');
  lessor.setPrimary(true);
  lessor.tick();
  // Promotion gives a grace period: not yet.
  assert.equal(proposals.filter((p) => p.type === 'leaseRevoke').length, 0);
  advance(1_500);
  lessor.tick();
  await settle();
  assert.equal(proposals.filter((p) => p.type === 'leaseRevoke').length, 1);
  assert.equal(store.leaseInfo(id), undefined);
});

test('keep-alive renews through the log and reports the TTL', async () => {
  const { lessor, grant, advance, proposals } = setup();
  lessor.setPrimary(true);
  const id = grant(10);
  advance(8_000);
  assert.equal(await lessor.keepAlive(id), 10);
  assert.equal(lessor.remainingTtlSeconds(id), 10);
  advance(8_000);
  lessor.tick();
  await settle();
  assert.equal(proposals.filter((p) => p.type === 'leaseRevoke').length, 0, 'renewed, so alive at 16 s');
  assert.equal(await lessor.keepAlive(12345n), 0, 'an unknown lease answers TTL 0');
});

test('a checkpoint applied after a keep-alive never shortens the lease', () => {
  const { lessor, grant, advance, apply } = setup();
  const id = grant(10);
  advance(9_000);
  // A periodic checkpoint computed now (1 s left) ...
  const stale: KvCommand = { type: 'leaseCheckpoint', request: { checkpoints: [{ id, remainingTtl: 1 }] } };
  // ... a keep-alive is applied first ...
  apply({ type: 'leaseCheckpoint', request: { checkpoints: [{ id, remainingTtl: 10 }] } });
  // ... then the stale checkpoint.
  apply(stale);
  assert.equal(lessor.remainingTtlSeconds(id), 10);
});

test('periodic checkpoints cover every lease, in bounded commands', async () => {
  const { lessor, grant, advance, proposals } = setup();
  const ids = Array.from({ length: 2_500 }, () => grant(60));
  lessor.setPrimary(true);
  advance(5_000);
  lessor.tick();
  await settle();
  const checkpoints = proposals.filter((p) => p.type === 'leaseCheckpoint');
  assert.equal(checkpoints.length, 3);
  const covered = new Set(checkpoints.flatMap((p) => (p.type === 'leaseCheckpoint' ? p.request.checkpoints.map((c) => c.id) : [])));
  assert.equal(covered.size, ids.length);
});

test('keep-alives of one turn are coalesced: N keep-alives of M leases make ceil(M / max) proposals', async () => {
  const { lessor, grant, proposals } = setup({ checkpointsPerCommandMax: 1_000 });
  const leaseCount = 2_500;
  const ttls = Array.from({ length: leaseCount }, (_, i) => 10 + (i % 7));
  const ids = ttls.map((ttl) => grant(ttl));
  // Three keep-alives of every lease, interleaved, all in one turn.
  const answers = await Promise.all([0, 1, 2].flatMap(() => ids.map((id) => lessor.keepAlive(id))));
  assert.deepEqual(answers, [...ttls, ...ttls, ...ttls], 'every waiter is answered with its lease\'s TTL');
  const commands = checkpointsOf(proposals);
  assert.equal(commands.length, Math.ceil(leaseCount / 1_000));
  for (const checkpoints of commands) {
    assert.ok(checkpoints.length <= 1_000);
    assert.equal(new Set(checkpoints.map((c) => c.id)).size, checkpoints.length, 'one checkpoint per distinct lease');
  }
  const carried = new Map(commands.flat().map((c) => [c.id, c.remainingTtl]));
  assert.deepEqual(ids.map((id) => carried.get(id)), ttls, 'each lease renewed once, with its full TTL');
  for (const [i, id] of ids.entries()) assert.equal(lessor.remainingTtlSeconds(id), ttls[i]);
});

test('a keep-alive joins a renewal proposed and not yet applied; the answer follows the apply', async () => {
  const { lessor, grant, proposals, held, advance } = setup({ hold: true });
  const a = grant(10);
  const b = grant(20);
  advance(6_000);
  const first = lessor.keepAlive(a);
  await settle();
  assert.equal(held.length, 1, 'the first keep-alive is proposed');
  advance(2_000);
  const joined = lessor.keepAlive(a);
  const other = lessor.keepAlive(b);
  await settle();
  assert.equal(held.length, 2);
  assert.deepEqual(checkpointsOf(proposals)[1], [{ id: b, remainingTtl: 20 }], 'a joined the renewal in flight: only b proposed');
  let answered = false;
  void joined.then(() => { answered = true; });
  await settle();
  assert.equal(answered, false, 'not answered before the renewal applies');
  advance(1_000);
  held[0]!.apply();
  assert.deepEqual(await Promise.all([first, joined]), [10, 10]);
  // Expiry is apply time + TTL (the joined keep-alive arrived 1 s before the apply).
  advance(9_900);
  assert.equal(lessor.remainingTtlSeconds(a), 1, 'renewed from the apply, not from the first request');
  held[1]!.apply();
  assert.equal(await other, 20);
  // Once applied, the renewal is closed: a later keep-alive proposes again.
  const later = lessor.keepAlive(a);
  await settle();
  assert.equal(held.length, 3);
  held[2]!.apply();
  assert.equal(await later, 10);
});

test('a keep-alive never joins a periodic checkpoint, nor a renewal whose lease was checkpointed since', async () => {
  const { lessor, grant, proposals, held, advance, apply } = setup({ hold: true });
  const a = grant(10);
  lessor.setPrimary(true);
  advance(5_000);
  lessor.tick();
  await settle();
  assert.deepEqual(checkpointsOf(proposals), [[{ id: a, remainingTtl: 5 }]], 'periodic checkpoint of the remaining TTL in flight');
  const renewed = lessor.keepAlive(a);
  await settle();
  assert.equal(held.length, 2, 'the keep-alive is proposed with the full TTL, not joined to the remaining-TTL checkpoint');
  assert.deepEqual(checkpointsOf(proposals)[1], [{ id: a, remainingTtl: 10 }]);
  // Some checkpoint of a applies (here, one from another member) while the renewal is in flight:
  // the renewal's entry could be that one, so a later keep-alive no longer joins it.
  apply({ type: 'leaseCheckpoint', request: { checkpoints: [{ id: a, remainingTtl: 10 }] } });
  const after = lessor.keepAlive(a);
  await settle();
  assert.equal(held.length, 3);
  for (const h of held) h.apply();
  assert.deepEqual(await Promise.all([renewed, after]), [10, 10]);
});

test('a failed renewal fails every keep-alive waiting for it, joined ones included', async () => {
  const { lessor, grant, held } = setup({ hold: true, renewalWaitersMax: 4 });
  const a = grant(10);
  const b = grant(10);
  const waiting = [lessor.keepAlive(a), lessor.keepAlive(b), lessor.keepAlive(a)];
  await settle();
  waiting.push(lessor.keepAlive(b)); // joins the proposal in flight
  await assert.rejects(lessor.keepAlive(a), (error: unknown) => error instanceof ConcordError && error.code === ErrorCode.TooManyRequests,
    'beyond renewalWaitersMax a keep-alive is refused');
  assert.equal(held.length, 1);
  const failure = new ConcordError(ErrorCode.LeaderChanged, 'leader changed');
  held[0]!.fail(failure);
  const outcomes = await Promise.allSettled(waiting);
  assert.deepEqual(outcomes.map((o) => (o.status === 'rejected' ? o.reason : o.value)), [failure, failure, failure, failure]);
  // The waiters are released: new keep-alives are taken and proposed afresh.
  const again = [lessor.keepAlive(a), lessor.keepAlive(b)];
  await settle();
  assert.equal(held.length, 2);
  held[1]!.apply();
  assert.deepEqual(await Promise.all(again), [10, 10]);
});

test('a keep-alive of an unknown or revoked lease answers 0', async () => {
  const { lessor, grant, proposals, held, apply } = setup({ hold: true });
  assert.equal(await lessor.keepAlive(12345n), 0, 'unknown: answered at once');
  assert.equal(proposals.length, 0, 'nothing proposed for it');
  const a = grant(10);
  const renewing = lessor.keepAlive(a);
  await settle();
  apply({ type: 'leaseRevoke', request: { id: a } });
  held[0]!.apply();
  assert.equal(await renewing, 0, 'revoked before its renewal applied');
});

test('the leader does not push its own expiry out with a periodic checkpoint; a follower applies it', () => {
  const leader = setup({ hold: true });
  const follower = setup();
  const id = leader.grant(10);
  follower.apply({ type: 'leaseGrant', request: { ttl: 10, id } });
  leader.lessor.setPrimary(true);
  // 6 s later, a periodic checkpoint (4 s left) is applied 3 s after it was proposed.
  leader.advance(6_000);
  follower.advance(6_000);
  const checkpoint: KvCommand = { type: 'leaseCheckpoint', request: { checkpoints: [{ id, remainingTtl: 4 }] } };
  leader.advance(3_000);
  follower.advance(3_000);
  leader.apply(checkpoint);
  follower.apply(checkpoint);
  assert.equal(leader.lessor.remainingTtlSeconds(id), 1, 'the leader keeps its exact expiry (10 s after the grant)');
  assert.equal(follower.lessor.remainingTtlSeconds(id), 4, 'a follower takes the checkpoint (never shortening)');
  leader.advance(1_500);
  leader.lessor.tick();
  assert.ok(leader.proposals.some((p) => p.type === 'leaseRevoke'), 'revoked at its TTL despite the late checkpoint');
});

test('an expired lease whose revoke does not apply is proposed again with backoff, not every tick', () => {
  const { lessor, proposals, grant, advance } = setup({ hold: true, revokeRetryMs: 1_000, revokeRetryMaxMs: 2_000 });
  lessor.setPrimary(true);
  grant(5);
  advance(6_000);
  const revokesAfter = (ms: number): number => {
    for (let t = 0; t < ms; t += 100) {
      lessor.tick();
      advance(100);
    }
    return proposals.filter((p) => p.type === 'leaseRevoke').length;
  };
  assert.equal(revokesAfter(100), 1);
  assert.equal(revokesAfter(900), 1, 'not again within the first second');
  assert.equal(revokesAfter(200), 2, 'again after 1 s');
  assert.equal(revokesAfter(1_800), 2, 'then not before 2 s');
  assert.equal(revokesAfter(10_000), 7, 'then every 2 s');
});

/** Confirmations is a controllable confirmLeadership: each call waits until the test settles it. */
function confirmations() {
  const pending: { resolve: () => void; reject: (e: Error) => void }[] = [];
  const confirm = (): Promise<void> => new Promise<void>((resolve, reject) => pending.push({ resolve, reject }));
  return { confirm, pending };
}

test('on the leader a keep-alive renews in memory once leadership is confirmed: no log entry', async () => {
  const c = confirmations();
  const { lessor, proposals, grant, advance } = setup({ confirm: c.confirm });
  lessor.setPrimary(true);
  const id = grant(10);
  advance(8_000);
  let answered: number | undefined;
  const renewal = lessor.keepAlive(id).then((ttl) => { answered = ttl; });
  await settle();
  assert.equal(answered, undefined, 'not answered before a quorum confirms the leadership');
  assert.equal(c.pending.length, 1);
  advance(500);
  c.pending[0]!.resolve();
  await renewal;
  assert.equal(answered, 10);
  assert.equal(proposals.length, 0, 'no log entry for a renewal on the leader');
  assert.equal(lessor.remainingTtlSeconds(id), 10, 'expiry = confirmation time + TTL');
  advance(9_900);
  lessor.tick();
  assert.ok(!proposals.some((p) => p.type === 'leaseRevoke'), 'alive until 10 s after the confirmation');
  advance(200);
  lessor.tick();
  assert.ok(proposals.some((p) => p.type === 'leaseRevoke'));
});

test('on the leader: an expired lease is not brought back, a failed confirmation fails the keep-alive, a lost leadership falls back to the log', async () => {
  const c = confirmations();
  const { lessor, proposals, grant, advance } = setup({ confirm: c.confirm });
  lessor.setPrimary(true);
  const expired = grant(2);
  const live = grant(10);
  advance(2_500);
  assert.equal(await lessor.keepAlive(expired), 0, 'past its expiry: TTL 0, even before the revoke applies');
  assert.equal(c.pending.length, 0);

  const failing = lessor.keepAlive(live);
  await settle();
  c.pending.shift()!.reject(new ConcordError(ErrorCode.LeaderChanged, 'leader changed during a linearizable read'));
  await assert.rejects(failing, /leader changed/);

  const moved = lessor.keepAlive(live);
  await settle();
  lessor.setPrimary(false);
  c.pending.shift()!.resolve();
  assert.equal(await moved, 10, 'renewed through the log instead');
  assert.deepEqual(checkpointsOf(proposals).flat().map((x) => x.remainingTtl), [10]);
});

test('with in-memory renewals a new leader gives every lease its full TTL', () => {
  const c = confirmations();
  const { lessor, grant, advance } = setup({ confirm: c.confirm, promoteGraceMs: 1_000 });
  const id = grant(30);
  advance(25_000);
  lessor.setPrimary(true);
  assert.equal(lessor.remainingTtlSeconds(id), 30, 'the old leader may have renewed it just before the election');
  const logOnly = setup({ promoteGraceMs: 1_000 });
  const other = logOnly.grant(30);
  logOnly.advance(29_500);
  logOnly.lessor.setPrimary(true);
  assert.equal(logOnly.lessor.remainingTtlSeconds(other), 1, 'without them, only the promotion grace');
});

test('an expired lease is not revoked behind a renewal still in the leader\'s log, nor re-revoked while its revoke is there', () => {
  let tailCommands: KvCommand[] = [];
  const env = setup({ hold: true, revokeRetryMs: 1_000, revokeRetryMaxMs: 2_000, tail: () => leaseTail(tailCommands, env.store) });
  const { lessor, proposals, grant, advance } = env;
  lessor.setPrimary(true);
  const id = grant(5);
  advance(6_000);
  tailCommands = [{ type: 'leaseCheckpoint', request: { checkpoints: [{ id, remainingTtl: 5 }] } }];
  lessor.tick();
  assert.equal(proposals.filter((p) => p.type === 'leaseRevoke').length, 0, 'a renewal is queued: it applies first and is answered');
  // A periodic checkpoint (less than the TTL) in the tail is no renewal.
  tailCommands = [{ type: 'leaseCheckpoint', request: { checkpoints: [{ id, remainingTtl: 1 }] } }];
  lessor.tick();
  assert.equal(proposals.filter((p) => p.type === 'leaseRevoke').length, 1);
  // The revoke sits in the tail (a slow pipeline): not proposed again, however long it takes.
  tailCommands = [{ type: 'leaseRevoke', request: { id } }];
  for (let t = 0; t < 100; t++) {
    advance(100);
    lessor.tick();
  }
  assert.equal(proposals.filter((p) => p.type === 'leaseRevoke').length, 1, 'no duplicate revokes into a slow pipeline');
  // Gone from the tail without applying (lost with a leader change): proposed again.
  tailCommands = [];
  lessor.tick();
  assert.equal(proposals.filter((p) => p.type === 'leaseRevoke').length, 2);
});

test('a periodic checkpoint leaves out a lease whose renewal is still in the leader\'s log (it would overwrite the full TTL with less)', async () => {
  let tailCommands: KvCommand[] = [];
  const env = setup({ tail: () => leaseTail(tailCommands, env.store) });
  const { lessor, proposals, grant, advance, store } = env;
  lessor.setPrimary(true);
  const renewed = grant(7);
  const other = grant(7);
  advance(5_000);
  // The renewal of `renewed` is in the log, not applied: ordered before the checkpoint, applied
  // first, it sets the remaining TTL to 7; the checkpoint's 2 s (computed before) must not follow.
  tailCommands = [{ type: 'leaseCheckpoint', request: { checkpoints: [{ id: renewed, remainingTtl: 7 }] } }];
  lessor.tick();
  await settle();
  const checkpointed = proposals.flatMap((p) => (p.type === 'leaseCheckpoint' ? p.request.checkpoints.map((c) => c.id) : []));
  assert.deepEqual(checkpointed, [other]);
  assert.equal(store.leaseInfo(other)?.remainingTtl, 2);
  // Next round, with the renewal applied, the lease is checkpointed again.
  env.apply(tailCommands[0]!);
  tailCommands = [];
  advance(5_000);
  lessor.tick();
  await settle();
  const later = proposals.flatMap((p) => (p.type === 'leaseCheckpoint' ? p.request.checkpoints.map((c) => c.id) : []));
  assert.ok(later.includes(renewed));
});
