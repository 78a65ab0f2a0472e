import { BinaryReader, BinaryWriter } from '../lib/binary.js';

/**
 * RegisterStore is the minimal replicated key-value map the node host serves until the MVCC
 * store of the etcd API replaces it: put and delete of string keys to byte values, each answered
 * with the log index that applied it. Pure: the same commands give the same state everywhere.
 *
 * Command layout (version 1): u8 op (1 put, 2 delete), string key, [bytes value].
 * Snapshot layout (version 1): u8 version, u32 count, count x (string key, bytes value, n index).
 */
export const RegisterOp = { Put: 1, Delete: 2 } as const;

export interface RegisterValue {
  readonly value: Uint8Array;
  /** index is the log index of the write that set it. */
  readonly index: number;
}

export interface RegisterResult {
  readonly index: number;
  /** existed is false for a delete of a missing key. */
  readonly existed: boolean;
}

const SNAPSHOT_VERSION = 1;

export function encodePut(key: string, value: Uint8Array): Uint8Array {
  return new BinaryWriter(16 + key.length + value.byteLength).u8(RegisterOp.Put).string(key).bytes(value).finish().slice();
}

export function encodeDelete(key: string): Uint8Array {
  return new BinaryWriter(16 + key.length).u8(RegisterOp.Delete).string(key).finish().slice();
}

export class RegisterStore {
  private readonly map = new Map<string, RegisterValue>();
  private lastIndex = 0;

  get(key: string): RegisterValue | undefined {
    return this.map.get(key);
  }

  get size(): number {
    return this.map.size;
  }

  /** appliedIndex is the index of the last command applied. */
  get appliedIndex(): number {
    return this.lastIndex;
  }

  apply(index: number, command: Uint8Array): RegisterResult {
    this.lastIndex = index;
    const r = new BinaryReader(command);
    const op = r.u8('op');
    const key = r.string('key');
    if (op === RegisterOp.Put) {
      const existed = this.map.has(key);
      this.map.set(key, { value: r.bytes('value'), index });
      return { index, existed };
    }
    if (op === RegisterOp.Delete) return { index, existed: this.map.delete(key) };
    // Commands were validated before being proposed; an unknown op in the log is a no-op for
    // every member alike, so state stays identical.
    return { index, existed: false };
  }

  snapshot(): Uint8Array {
    const w = new BinaryWriter(1024);
    w.u8(SNAPSHOT_VERSION).u32(this.map.size);
    for (const [key, v] of this.map) w.string(key).bytes(v.value).u53(v.index);
    w.u53(this.lastIndex);
    return w.finish().slice();
  }

  restore(data: Uint8Array): void {
    const r = new BinaryReader(data);
    const version = r.u8('snapshot version');
    if (version !== SNAPSHOT_VERSION) throw new Error(`unknown register snapshot version ${version}`);
    const count = r.u32('count');
    this.map.clear();
    for (let i = 0; i < count; i++) {
      const key = r.string('key');
      const value = r.bytes('value');
      this.map.set(key, { value, index: r.u53('index') });
    }
    this.lastIndex = r.u53('applied index');
    r.end('register snapshot');
  }
}
