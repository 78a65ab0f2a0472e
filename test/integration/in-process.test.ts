import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodePut } from '../../src/kv/register-store.js';
import { ErrorCode, ConcordError } from '../../src/lib/errors.js';
import { FaultyFileSystem } from '../../src/storage/faulty-file-system.js';
import { NodeFileSystem, type AppendFile, type FileSystem } from '../../src/storage/file-system.js';
import type { NodeId } from '../../src/raft/index.js';
import { InProcessCluster } from './in-process-cluster.js';
import { decodeEnvelope } from '../../src/server/proposal-envelope.js';
import { EntryType } from '../../src/raft/index.js';

const text = new TextEncoder();

describe('members hosting several Raft groups over real TCP and real disks', { concurrency: false }, () => {
  test('each group elects, replicates and applies independently; peer messages carry the group id', async () => {
    const cluster = await InProcessCluster.start({ members: 3, groups: [1, 2, 3, 4] });
    try {
      for (const groupId of [1, 2, 3, 4]) {
        const leader = await cluster.leaderOf(groupId);
        const writes = groupId * 5;
        // Propose through a follower too: forwarding stays within the group.
        const follower = cluster.members.find((m) => m !== leader)!;
        for (let i = 0; i < writes; i++) {
          const via = i % 2 === 0 ? leader : follower;
          await via.groups.get(groupId)!.group.propose(encodePut(`g${groupId}-k${i}`, text.encode(`v${i}`)));
        }
      }
      for (const groupId of [1, 2, 3, 4]) {
        const leader = await cluster.leaderOf(groupId);
        await leader.groups.get(groupId)!.group.readBarrier();
        for (const m of cluster.members) {
          const { store, group } = m.groups.get(groupId)!;
          await waitUntil(() => group.applied() >= leader.groups.get(groupId)!.group.applied());
          // Each group holds exactly its own keys.
          assert.equal(store.size, groupId * 5, `member ${m.id} group ${groupId}`);
          assert.ok(store.get(`g${groupId}-k0`));
          for (const other of [1, 2, 3, 4]) if (other !== groupId) assert.equal(store.get(`g${other}-k0`), undefined);
        }
      }
    } finally {
      await cluster.stop();
    }
  });

  test('proposal ids stay unique across a restart, so an old entry applied after it cannot answer a new proposal', async () => {
    const first = await InProcessCluster.start({ members: 1, groups: [1] });
    const dir = first.dir;
    let second: InProcessCluster | undefined;
    try {
      const propose = async (cluster: InProcessCluster, prefix: string): Promise<void> => {
        const leader = await cluster.leaderOf(1);
        for (let i = 0; i < 5; i++) await leader.groups.get(1)!.group.propose(encodePut(`${prefix}${i}`, text.encode('v')));
      };
      await propose(first, 'before-');
      await first.stop({ keepDir: true });
      second = await InProcessCluster.start({ members: 1, groups: [1], dir });
      await propose(second, 'after-');
      const { storage } = second.member(1).groups.get(1)!;
      const ids = storage.entries(storage.firstIndex(), storage.lastIndex() + 1, Number.MAX_SAFE_INTEGER)
        .filter((e) => e.type === EntryType.Normal && e.data.byteLength > 0)
        .map((e) => { const env = decodeEnvelope(e.data); return `${env.proposer}:${env.sequence}`; });
      assert.equal(ids.length, 10, "both boots' proposals are in the log");
      assert.equal(new Set(ids).size, ids.length, `proposal ids repeat across the restart: ${ids.join(' ')}`);
    } finally {
      await (second ?? first).stop();
    }
  });

  test('a proposal a follower forwarded to a leader that then crashed answers "outcome unknown" once the next leader commits, not at the request timeout', async () => {
    const cluster = await InProcessCluster.start({ members: 3, groups: [1] });
    try {
      const leader = await cluster.leaderOf(1);
      const follower = cluster.members.find((m) => m !== leader)!;
      // Crash the leader: no more messages in or out.
      leader.host.stop();
      await leader.transport.stop();
      // The follower still believes in the old leader, so it forwards this one into the void.
      const outcome = await follower.groups.get(1)!.group.propose(encodePut('orphan', text.encode('v'))).then(
        () => 'applied',
        (error: unknown) => error,
      );
      assert.ok(outcome instanceof ConcordError, `expected a ConcordError, got ${String(outcome)}`);
      assert.equal(outcome.code, ErrorCode.Timeout, 'the outcome is unknown (the message may still reach a later leader)');
      assert.match(outcome.message, /leader changed/, 'answered when the next leader committed, not at the request deadline');
      // The survivors serve: a new proposal through the same follower is applied.
      await follower.groups.get(1)!.group.propose(encodePut('after', text.encode('v')));
      assert.ok(follower.groups.get(1)!.store.get('after'));
    } finally {
      await cluster.stop();
    }
  });

  test('a leader whose fsync stalls hands leadership to a caught-up follower', async () => {
    const { cluster, gates } = await startWithStallingDisks(300);
    try {
      const leader = await cluster.leaderOf(1);
      const group = leader.groups.get(1)!.group;
      await group.propose(encodePut('before', text.encode('x')));
      gates.get(leader.id)!.stall();
      const stalled = group.propose(encodePut('during-stall', text.encode('y')));
      stalled.catch(() => {});
      // The election timeout is 50 ticks x 20 ms = 1 s; the watchdog acts after 300 ms.
      await waitUntil(() => cluster.members.some((m) => m !== leader && m.groups.get(1)!.group.isLeader()), 5_000);
      assert.ok(group.stats.leaderTransfersForStall >= 1, 'the stalled leader asked for a transfer');
      gates.get(leader.id)!.release();
      const newLeader = await cluster.leaderOf(1);
      assert.notEqual(newLeader.id, leader.id);
      await newLeader.groups.get(1)!.group.propose(encodePut('after', text.encode('z')));
      assert.equal(cluster.members.flatMap((m) => m.fatal).length, 0);
    } finally {
      for (const g of gates.values()) g.release();
      await cluster.stop();
    }
  });

  test('one event-loop stall keeps leadership; a second within the window hands it over', async () => {
    const cluster = await InProcessCluster.start({ members: 3, groups: [1], tickMs: 20, electionTicks: 50, limits: { stallBoundMs: 300 } });
    try {
      const leader = await cluster.leaderOf(1);
      const group = leader.groups.get(1)!.group;
      await group.propose(encodePut('before', text.encode('x')));
      // The host reports how late its tick ran: the loop was blocked for 800 ms, then recovered.
      group.tick(800);
      assert.equal(group.stats.loopStallsTolerated, 1);
      assert.equal(group.stats.leaderTransfersForStall, 0);
      await group.propose(encodePut('after-one-stall', text.encode('y')));
      assert.equal(group.isLeader(), true, 'a single stall that is over does not move leadership');
      // It stalls again well within the window (5 s by default): the loop keeps stalling.
      group.tick(800);
      assert.equal(group.stats.leaderTransfersForStall, 1);
      await waitUntil(() => cluster.members.some((m) => m !== leader && m.groups.get(1)!.group.isLeader()), 5_000);
      const newLeader = await cluster.leaderOf(1);
      await newLeader.groups.get(1)!.group.propose(encodePut('after-transfer', text.encode('z')));
      assert.equal(cluster.members.flatMap((m) => m.fatal).length, 0);
    } finally {
      await cluster.stop();
    }
  });

  test('the members of a group snapshot a third of the interval apart, not at the same index', async () => {
    const every = 60;
    const cluster = await InProcessCluster.start({ members: 3, groups: [1], limits: { snapshotEntries: every, snapshotCatchUpEntries: 10 } });
    try {
      const leader = await cluster.leaderOf(1);
      const group = leader.groups.get(1)!.group;
      for (let i = 0; i < 3 * every; i++) await group.propose(encodePut(`s${i}`, text.encode('v')));
      await waitUntil(() => cluster.members.every((m) => m.groups.get(1)!.group.applied() >= 3 * every), 10_000);
      await waitUntil(() => cluster.members.every((m) => m.groups.get(1)!.storage.snapshotMetadata().index > every), 10_000);
      const indexes = cluster.members.map((m) => m.groups.get(1)!.storage.snapshotMetadata().index);
      // Ranks 0, 1 and 2 snapshot at multiples of 60 shifted by 0, 20 and 40 entries.
      const phases = indexes.map((i) => i % every).sort((a, b) => a - b);
      assert.equal(new Set(indexes).size, 3, `three different snapshot indexes: ${indexes.join(', ')}`);
      assert.deepEqual(phases.map((p) => Math.floor(p / 20)), [0, 1, 2], `staggered by a third: ${indexes.join(', ')}`);
    } finally {
      await cluster.stop();
    }
  });

  test('a leader holds commit notices one loop turn: they still reach idle followers, and a later append replaces them', async () => {
    // No ticks during the test (no heartbeats, which carry the commit index too): only the
    // leader's commit notices can tell the followers that an entry is committed.
    const cluster = await InProcessCluster.start({ members: 3, groups: [1], tickMs: 600_000 });
    try {
      const first = cluster.member(1).groups.get(1)!.group;
      first.node.campaign();
      first.tick(); // runs the loop once: the (pre-)vote requests go out
      const leader = await cluster.leaderOf(1);
      const group = leader.groups.get(1)!.group;
      const followers = cluster.members.filter((m) => m !== leader);
      await group.propose(encodePut('one', text.encode('v')));
      const index = group.applied();
      await waitUntil(() => followers.every((m) => m.groups.get(1)!.group.applied() >= index));
      assert.ok(group.stats.commitNoticesDeferred > 0, 'the notices were held');
      for (const m of followers) assert.equal(m.groups.get(1)!.store.get('one')?.value.length, 1);

      // A proposal every loop turn: most held notices are replaced by the next append.
      const superseded = group.stats.commitNoticesSuperseded;
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < 100; i++) {
        writes.push(group.propose(encodePut(`k${i}`, text.encode('v'))));
        await new Promise((resolve) => setImmediate(resolve));
      }
      await Promise.all(writes);
      const last = group.applied();
      await waitUntil(() => followers.every((m) => m.groups.get(1)!.group.applied() >= last));
      assert.ok(group.stats.commitNoticesSuperseded > superseded,
        `held notices replaced by later appends: ${group.stats.commitNoticesSuperseded - superseded}`);
      for (const m of followers) assert.equal(m.groups.get(1)!.store.size, 101);
    } finally {
      await cluster.stop();
    }
  });

  test('entries committed by a quorum are applied and answered while the member\'s own fsync is still held', async () => {
    // No leadership hand-over for the held fsync: this test holds it on purpose.
    const { cluster, gates } = await startWithStallingDisks(60_000);
    try {
      const leader = await cluster.leaderOf(1);
      const group = leader.groups.get(1)!.group;
      const [follower, other] = cluster.members.filter((m) => m !== leader);
      await group.propose(encodePut('before', text.encode('x')));
      await waitUntil(() => cluster.members.every((m) => m.groups.get(1)!.group.applied() >= group.applied()));

      // The leader's own write is held: the two followers' copies make the entry committed, and
      // the leader answers without waiting for its fdatasync.
      gates.get(leader.id)!.stall();
      const appliedBefore = group.stats.appliedDuringWrite;
      const answer = await Promise.race([
        group.propose(encodePut('leader-held', text.encode('y'))),
        new Promise<'held'>((resolve) => setTimeout(() => resolve('held'), 5_000)),
      ]);
      assert.notEqual(answer, 'held', 'the proposal was answered while the leader\'s fsync was held');
      assert.ok(group.stats.appliedDuringWrite > appliedBefore, 'applied during the write');
      assert.deepEqual(leader.groups.get(1)!.store.get('leader-held')?.value, text.encode('y'));
      gates.get(leader.id)!.release();

      // A follower's write is held: the leader and the other follower commit, and the held
      // follower applies the entry once it hears the commit index, before its own fsync ends.
      await waitUntil(() => cluster.members.every((m) => m.groups.get(1)!.group.applied() >= group.applied()));
      gates.get(follower!.id)!.stall();
      await group.propose(encodePut('follower-held', text.encode('z')));
      await waitUntil(() => follower!.groups.get(1)!.store.get('follower-held') !== undefined, 5_000);
      assert.ok(follower!.groups.get(1)!.group.stats.appliedDuringWrite > 0);
      gates.get(follower!.id)!.release();

      await group.propose(encodePut('after', text.encode('w')));
      await waitUntil(() => cluster.members.every((m) => m.groups.get(1)!.store.get('after') !== undefined));
      assert.equal(cluster.members.flatMap((m) => m.fatal).length, 0);
    } finally {
      for (const g of gates.values()) g.release();
      await cluster.stop({ keepDir: true });
    }
    // What was answered early is durable: every member restarted from its disk has it.
    const restarted = await InProcessCluster.start({ members: 3, groups: [1], tickMs: 20, electionTicks: 50, dir: cluster.dir });
    try {
      await restarted.leaderOf(1);
      await waitUntil(() => restarted.members.every((m) => m.groups.get(1)!.store.get('after') !== undefined));
      for (const m of restarted.members) {
        for (const key of ['leader-held', 'follower-held']) assert.ok(m.groups.get(1)!.store.get(key) !== undefined, `member ${m.id} has ${key}`);
      }
    } finally {
      await restarted.stop();
    }
  });

  test('a failed fsync is fatal for the member: waiting and later requests fail, nothing not committed is acknowledged', async () => {
    const faulty = new Map<NodeId, FaultyFileSystem>();
    const cluster = await InProcessCluster.start({
      members: 3, groups: [1],
      fileSystem: (id) => {
        const fsys = new FaultyFileSystem(new NodeFileSystem());
        faulty.set(id, fsys);
        return fsys;
      },
    });
    try {
      const leader = await cluster.leaderOf(1);
      const group = leader.groups.get(1)!.group;
      await group.propose(encodePut('ok', text.encode('1')));
      faulty.get(leader.id)!.schedule({ kind: 'fsync-error' });
      // The entry's answer fails with the member, unless both followers' copies committed it
      // (and the leader applied it) before its own fdatasync failed: then it is answered, and
      // it must be on the followers.
      const outcome = await group.propose(encodePut('doomed', text.encode('2'))).then(
        () => 'answered' as const,
        (error: unknown) => {
          assert.ok(error instanceof ConcordError && error.code === ErrorCode.Stopped, `unexpected ${String(error)}`);
          return 'failed' as const;
        });
      if (outcome === 'answered') {
        const followers = cluster.members.filter((m) => m !== leader);
        await waitUntil(() => followers.every((m) => m.groups.get(1)!.store.get('doomed') !== undefined));
        await waitUntil(() => leader.fatal.length > 0);
      }
      assert.equal(leader.fatal.length, 1, 'onFatal was called once');
      assert.match(leader.fatal[0]!.message, /EIO|fsync|WAL/i);
      await assert.rejects(group.propose(encodePut('later', text.encode('3'))), ConcordError);
    } finally {
      await cluster.stop();
    }
  });
});

/** startWithStallingDisks starts 3 members of group 1 whose fdatasyncs can be held (see StallingFileSystem). */
async function startWithStallingDisks(stallBoundMs: number): Promise<{ cluster: InProcessCluster; gates: Map<NodeId, StallingFileSystem> }> {
  const gates = new Map<NodeId, StallingFileSystem>();
  const cluster = await InProcessCluster.start({
    members: 3, groups: [1], tickMs: 20, electionTicks: 50,
    limits: { stallBoundMs },
    fileSystem: (id) => {
      const fsys = new StallingFileSystem(new NodeFileSystem());
      gates.set(id, fsys);
      return fsys;
    },
  });
  return { cluster, gates };
}

/** StallingFileSystem passes through, except that datasync can be held until released. */
class StallingFileSystem implements FileSystem {
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;
  constructor(private readonly inner: FileSystem) {}
  stall(): void {
    this.gate = new Promise((resolve) => { this.open = resolve; });
  }
  release(): void {
    this.open?.();
    this.gate = undefined;
  }
  async openAppend(file: string): Promise<AppendFile> {
    const f = await this.inner.openAppend(file);
    return {
      path: f.path,
      append: (chunks) => f.append(chunks),
      datasync: async () => {
        if (this.gate) await this.gate;
        await f.datasync();
      },
      close: () => f.close(),
    };
  }
  readFile(file: string): Promise<Uint8Array> { return this.inner.readFile(file); }
  fileBytes(file: string): Promise<number> { return this.inner.fileBytes(file); }
  list(dir: string): Promise<string[]> { return this.inner.list(dir); }
  rename(from: string, to: string): Promise<void> { return this.inner.rename(from, to); }
  unlink(file: string): Promise<void> { return this.inner.unlink(file); }
  truncate(file: string, lengthBytes: number): Promise<void> { return this.inner.truncate(file, lengthBytes); }
  mkdirp(dir: string): Promise<void> { return this.inner.mkdirp(dir); }
  exists(file: string): Promise<boolean> { return this.inner.exists(file); }
  syncDir(dir: string): Promise<void> { return this.inner.syncDir(dir); }
}

async function waitUntil(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
