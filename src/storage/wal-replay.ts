import { EMPTY_HARD_STATE, type Entry, type HardState, type LogIndex } from '../raft/types.js';
import { WalCorruptionError } from './errors.js';
import type { SnapshotMarker } from './wal-record.js';

/** RecordPlace locates a record for error messages. */
export interface RecordPlace {
  readonly path: string;
  readonly offset: number;
}

/**
 * WalReplay rebuilds the log from records in write order (pure; no I/O). The last writer wins
 * for each index: an entry at index i drops every entry from i on before it is appended (a
 * follower's tail being repaired). A snapshot marker drops entries up to its index: a local
 * snapshot keeps the suffix after it when the log holds its (index, term); an installed snapshot
 * (from the leader) drops the whole log, like MemoryStorage.applySnapshot.
 */
export class WalReplay {
  hardState: HardState = EMPTY_HARD_STATE;
  marker: SnapshotMarker;
  // Invariant: floor >= marker.index; entries are contiguous and entries[0].index === floor + 1.
  // Indexes <= floor are covered by a snapshot or lived in segments that were purged.
  private floor: LogIndex;
  private readonly ents: Entry[] = [];

  /**
   * @param marker the snapshot marker in the header of the oldest segment.
   * @param purgedBelow the oldest segment's firstIndex when older segments were purged (entries
   *   before it are gone, so a later snapshot marker must cover them), else 0.
   */
  constructor(marker: SnapshotMarker, purgedBelow: LogIndex) {
    this.marker = marker;
    this.floor = Math.max(marker.index, purgedBelow - 1);
  }

  /** lastIndex is the index of the last entry, or the floor when there is none. */
  get lastIndex(): LogIndex {
    return this.floor + this.ents.length;
  }

  /** entries are the entries after the snapshot marker (valid after `finish`). */
  get entries(): readonly Entry[] {
    return this.ents;
  }

  addEntry(entry: Entry, at: RecordPlace): void {
    if (entry.index <= this.floor) return;
    if (entry.index > this.lastIndex + 1) {
      throw new WalCorruptionError(at.path, at.offset, `entry ${entry.index} follows entry ${this.lastIndex} (a gap)`);
    }
    this.ents.length = entry.index - this.floor - 1;
    this.ents.push(entry);
  }

  addHardState(hardState: HardState): void {
    this.hardState = hardState;
  }

  addSnapshotMarker(marker: SnapshotMarker, at: RecordPlace): void {
    if (marker.index < this.marker.index || (marker.index === this.marker.index && marker.term !== this.marker.term)) {
      throw new WalCorruptionError(at.path, at.offset,
        `snapshot marker (${marker.index}, ${marker.term}) goes back from (${this.marker.index}, ${this.marker.term})`);
    }
    if (marker.index === this.marker.index) return; // repeated in a segment header
    if (marker.index <= this.floor && !marker.installed) {
      // A local snapshot inside the purged range: the entries above the floor stay anchored there.
    } else if (!marker.installed && marker.index <= this.lastIndex &&
        this.ents[marker.index - this.floor - 1]!.term === marker.term) {
      this.ents.splice(0, marker.index - this.floor);
    } else {
      this.ents.length = 0;
    }
    this.marker = marker;
    this.floor = Math.max(this.floor, marker.index);
  }

  /** finish checks that the entries continue right after the snapshot. */
  finish(at: RecordPlace): void {
    if (this.floor !== this.marker.index) {
      throw new WalCorruptionError(at.path, at.offset,
        `entries ${this.marker.index + 1}..${this.floor} are missing (purged segments not covered by a snapshot)`);
    }
  }
}
