/**
 * Member and cluster ids, derived deterministically like etcd's: a founding member's id comes from
 * its peer URLs and the cluster token, so every member computes the same ids for --initial-cluster
 * without talking to the others, and the cluster id comes from the founding member ids.
 *
 * etcd's ids are 64-bit (sha1 of the same inputs). Concord's member ids are chosen below 2^53 so
 * they are exact in JavaScript numbers (NodeId is a safe integer) and print the same in hex
 * everywhere (`formatMemberId`); only the hash (sha256) and that range differ from etcd.
 */
import { createHash } from 'node:crypto';
import { assert } from '../lib/assert.js';
import { nodeId, type NodeId } from '../raft/types.js';
import { formatUrl } from './config.js';

/** MEMBER_ID_MAX is the largest member id: 2^53 - 1 (Number.MAX_SAFE_INTEGER). */
export const MEMBER_ID_MAX = Number.MAX_SAFE_INTEGER;

/**
 * computeMemberId derives a member's id from its peer URLs (order does not matter) and the
 * cluster token: sha256 of the sorted `scheme://host:port` texts and the token, one per line,
 * read as a big-endian 64-bit number and reduced into [1, 2^53 - 1].
 */
export function computeMemberId(peerUrls: readonly URL[], clusterToken: string): NodeId {
  assert(peerUrls.length > 0, 'computeMemberId: a member has at least one peer URL');
  const texts = peerUrls.map(formatUrl).sort();
  const digest = createHash('sha256').update([...texts, clusterToken].join('\n'), 'utf8').digest();
  const value = digest.readBigUInt64BE(0) % BigInt(MEMBER_ID_MAX) + 1n;
  return nodeId(Number(value));
}

/**
 * computeClusterId derives the cluster id (16 lowercase hex characters) from the founding
 * members' ids (order does not matter; no duplicates) and the cluster token: sha256 of the
 * sorted ids as 64-bit big-endian numbers followed by the token, first 8 bytes.
 */
export function computeClusterId(memberIds: readonly NodeId[], clusterToken: string): string {
  assert(memberIds.length > 0, 'computeClusterId: a cluster has at least one member');
  const sorted = [...memberIds].sort((a, b) => a - b);
  const bytes = Buffer.alloc(8 * sorted.length);
  sorted.forEach((id, index) => {
    assert(index === 0 || id !== sorted[index - 1], () => `computeClusterId: duplicate member id ${id}`);
    bytes.writeBigUInt64BE(BigInt(id), 8 * index);
  });
  const digest = createHash('sha256').update(bytes).update(clusterToken, 'utf8').digest();
  return digest.subarray(0, 8).toString('hex');
}

/**
 * initialClusterMemberIds computes every founding member's id from --initial-cluster; two
 * members with the same id (impossible unless they share peer URLs) is a programmer error.
 */
export function initialClusterMemberIds(
  initialCluster: ReadonlyMap<string, readonly URL[]>,
  clusterToken: string,
): Map<string, NodeId> {
  const ids = new Map<string, NodeId>();
  const names = new Map<NodeId, string>();
  for (const [name, urls] of initialCluster) {
    const id = computeMemberId(urls, clusterToken);
    const other = names.get(id);
    assert(other === undefined, () => `members ${other} and ${name} have the same id ${formatMemberId(id)}`);
    names.set(id, name);
    ids.set(name, id);
  }
  return ids;
}

/** formatMemberId prints a member id in hex, as etcdctl prints member ids (no padding). */
export function formatMemberId(id: NodeId): string {
  return id.toString(16);
}
