import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { EntryType, type Entry, type LogIndex, type Term } from '../raft/types.js';
import type { WalIdentity } from './wal-record.js';

/**
 * Helpers shared by the storage tests (not part of the public entry point): temp directories
 * under os.tmpdir() and entry builders whose data is never all zeros (so a zeroed sector in a
 * file is never mistaken for data).
 */

/** TEST_IDENTITY is the WAL identity the tests use. */
export const TEST_IDENTITY: WalIdentity = { clusterId: 'c0ffee0000000001', groupId: 1, nodeId: 1 };

/** withTempDir runs `body` with a fresh directory and removes it afterwards. */
export async function withTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'concord-storage-'));
  try {
    return await body(dir);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/** makeEntry builds an entry with `dataBytes` of non-zero data derived from (index, term). */
export function makeEntry(index: LogIndex, term: Term, dataBytes = 16): Entry {
  const data = new Uint8Array(dataBytes);
  for (let i = 0; i < dataBytes; i++) data[i] = ((index * 31 + term * 7 + i) % 255) + 1;
  return { index, term, type: EntryType.Normal, data };
}

/** makeEntries builds entries lo..hi (inclusive) of one term. */
export function makeEntries(lo: LogIndex, hi: LogIndex, term: Term, dataBytes = 16): Entry[] {
  const out: Entry[] = [];
  for (let i = lo; i <= hi; i++) out.push(makeEntry(i, term, dataBytes));
  return out;
}

/** describeLog prints entries as "index/term" for readable assertion failures. */
export function describeLog(entries: readonly Entry[]): string {
  return entries.map((e) => `${e.index}/${e.term}`).join(' ');
}
