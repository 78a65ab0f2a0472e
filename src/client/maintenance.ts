/**
 * Maintenance calls the client does not wrap elsewhere: the streaming `Maintenance/Snapshot`,
 * which sends one member's whole store at one revision as a file (`etcdctl snapshot save`,
 * `concord snapshot save`), in chunks.
 */
import { METHODS } from '../api/codec/index.js';
import { ClientErrorCode, ConcordClientError } from './errors.js';
import type { EndpointPool } from './endpoint-pool.js';
import { revisionOf, type Revision } from './types.js';

const SNAPSHOT = METHODS['/etcdserverpb.Maintenance/Snapshot'];

/** SnapshotOptions: stop on `signal`; `endpointIndex` pins the call to one endpoint (default: the first that answers). */
export interface SnapshotOptions {
  readonly signal?: AbortSignal;
  readonly endpointIndex?: number;
}

/** SnapshotChunk is one piece of the snapshot file, in order; the last one has `remainingBytes` 0. */
export interface SnapshotChunk {
  readonly blob: Uint8Array;
  /** remainingBytes is how many bytes of the file follow this chunk. */
  readonly remainingBytes: number;
  /** endpoint is the member sending the snapshot (one member sends all of it). */
  readonly endpoint: string;
  /** revision is the serving member's revision when it sent the chunk (the header's). */
  readonly revision: Revision;
}

/**
 * snapshotStream yields the snapshot file of one member, chunk by chunk (`client.snapshot()`).
 * It fails over between endpoints only while connecting; a stream that breaks, or ends before
 * the member said the file was complete, throws (CONCORD_CLIENT_UNAVAILABLE): a snapshot is never
 * silently cut short. Breaking out of the loop cancels the call.
 */
export async function* snapshotStream(pool: EndpointPool, options: SnapshotOptions = {}): AsyncGenerator<SnapshotChunk, void, undefined> {
  const call = await pool.openStream(SNAPSHOT.path, {
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.endpointIndex === undefined ? {} : { endpointIndex: options.endpointIndex }),
  }, SNAPSHOT.request.encodeFrame({}), true, 'read');
  try {
    let complete = false;
    for (;;) {
      const bytes = await call.next();
      if (bytes === undefined) break;
      const r = SNAPSHOT.response.decode(bytes);
      const remainingBytes = revisionOf(r.remainingBytes);
      complete = remainingBytes === 0;
      yield { blob: r.blob, remainingBytes, endpoint: call.endpoint, revision: revisionOf(r.header?.revision ?? 0n) };
    }
    if (!complete) throw new ConcordClientError(ClientErrorCode.Unavailable, 'the snapshot stream ended before the whole file was sent', { endpoint: call.endpoint });
  } finally {
    call.cancel();
  }
}
