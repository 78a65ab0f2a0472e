import type { LogIndex } from '../raft/types.js';

/** SegmentName is a parsed WAL segment file name `<seq:016x>-<firstIndex:016x>.wal`. */
export interface SegmentName {
  readonly name: string;
  readonly seq: number;
  readonly firstIndex: LogIndex;
}

const pattern = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

/** TEMP_SUFFIX marks a file still being prepared (a new segment or snapshot before its rename). */
export const TEMP_SUFFIX = '.tmp';

/** segmentName formats the file name of segment `seq` starting at `firstIndex`. */
export function segmentName(seq: number, firstIndex: LogIndex): string {
  return `${hex16(seq)}-${hex16(firstIndex)}.wal`;
}

/** parseSegmentName parses a segment file name, or returns undefined for any other name. */
export function parseSegmentName(name: string): SegmentName | undefined {
  const m = pattern.exec(name);
  if (!m) return undefined;
  const seq = Number.parseInt(m[1]!, 16);
  const firstIndex = Number.parseInt(m[2]!, 16);
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(firstIndex)) return undefined;
  return { name, seq, firstIndex };
}

/** hex16 formats a safe integer as 16 lower-case hex digits (sorts like the number). */
export function hex16(n: number): string {
  return n.toString(16).padStart(16, '0');
}
