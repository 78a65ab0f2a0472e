import http from 'node:http';
import { ConcordError, ErrorCode } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { KvError, encodeKvCommand, type KvApplyResult, type MvccStore } from '../kv/index.js';
import type { GroupHost } from './group-host.js';

/**
 * The internal client API: a small HTTP/JSON interface on the client port that tests and
 * operators use until the etcd v3 API (gRPC + JSON gateway) is served there.
 *
 *   PUT    /concord/v0/kv/<key>   body = value bytes          → {"revision": n}
 *   DELETE /concord/v0/kv/<key>                                → {"revision": n, "deleted": n}
 *   GET    /concord/v0/kv/<key>?consistency=linearizable|serializable
 *                                  → {"value": base64, "revision": n} or 404 {"error": "key not found"}
 *   GET    /concord/v0/status     → member, leader, term, indexes, counters
 *
 * It writes through the same replicated KV commands as the etcd API (the same store).
 *
 * Errors are JSON {"error": message, "code": stable code}: 503 for retryable conditions (no
 * leader, leader changed, dropped, stopping), 504 when the outcome is unknown, 400/404/413 for
 * bad requests.
 */
export const INTERNAL_API_LIMITS = {
  /** requestBytesMax is etcd's default request size limit (1.5 MiB). */
  requestBytesMax: 1.5 * 1024 * 1024,
  keyBytesMax: 64 * 1024,
} as const;

export interface InternalApiContext {
  readonly name: string;
  readonly group: GroupHost<KvApplyResult>;
  readonly store: () => MvccStore;
  readonly logger: Logger;
  readonly status: () => Record<string, unknown>;
}

const KV_PREFIX = '/concord/v0/kv/';

/** handleInternalApi serves one request; returns false if the path is not part of this API. */
export function handleInternalApi(ctx: InternalApiContext, req: http.IncomingMessage, res: http.ServerResponse): boolean {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/concord/v0/status' && req.method === 'GET') {
    reply(res, 200, ctx.status());
    return true;
  }
  if (!url.pathname.startsWith(KV_PREFIX)) return false;
  let key: string;
  try {
    key = decodeURIComponent(url.pathname.slice(KV_PREFIX.length));
  } catch {
    reply(res, 400, { error: 'invalid key encoding', code: 'CONCORD_BAD_REQUEST' });
    return true;
  }
  if (key.length === 0 || Buffer.byteLength(key) > INTERNAL_API_LIMITS.keyBytesMax) {
    reply(res, 400, { error: 'key is empty or too long', code: 'CONCORD_BAD_REQUEST' });
    return true;
  }
  const keyBytes = new TextEncoder().encode(key);
  switch (req.method) {
    case 'PUT':
      readBody(req, res, (body) => {
        ctx.group.propose(encodeKvCommand({ type: 'put', request: { key: keyBytes, value: body } })).then(
          (result) => (result.ok ? reply(res, 200, { revision: result.result.response.header.revision }) : replyError(ctx, res, result.error)),
          (error: unknown) => replyError(ctx, res, error),
        );
      });
      return true;
    case 'DELETE':
      ctx.group.propose(encodeKvCommand({ type: 'deleteRange', request: { key: keyBytes } })).then(
        (result) => {
          if (!result.ok) return replyError(ctx, res, result.error);
          const response = result.result;
          reply(res, 200, { revision: response.response.header.revision, deleted: response.type === 'deleteRange' ? response.response.deleted : 0 });
        },
        (error: unknown) => replyError(ctx, res, error),
      );
      return true;
    case 'GET': {
      const consistency = url.searchParams.get('consistency') ?? 'linearizable';
      if (consistency !== 'linearizable' && consistency !== 'serializable') {
        reply(res, 400, { error: `unknown consistency "${consistency}": expected linearizable or serializable`, code: 'CONCORD_BAD_REQUEST' });
        return true;
      }
      const serve = (): void => {
        const r = ctx.store().range({ key: keyBytes });
        const kv = r.ok ? r.response.kvs[0] : undefined;
        if (!kv) reply(res, 404, { error: 'key not found', applied: ctx.group.applied() });
        else reply(res, 200, { value: Buffer.from(kv.value).toString('base64'), revision: kv.modRevision, applied: ctx.group.applied() });
      };
      if (consistency === 'serializable') serve();
      else ctx.group.readBarrier().then(serve, (error: unknown) => replyError(ctx, res, error));
      return true;
    }
    default:
      reply(res, 405, { error: `method ${req.method ?? ''} not allowed`, code: 'CONCORD_BAD_REQUEST' });
      return true;
  }
}

function readBody(req: http.IncomingMessage, res: http.ServerResponse, then: (body: Uint8Array) => void): void {
  const chunks: Buffer[] = [];
  let bytes = 0;
  let refused = false;
  req.on('data', (chunk: Buffer) => {
    if (refused) return;
    bytes += chunk.byteLength;
    if (bytes > INTERNAL_API_LIMITS.requestBytesMax) {
      refused = true;
      reply(res, 413, { error: 'etcdserver: request is too large', code: 'CONCORD_REQUEST_TOO_LARGE' });
      req.resume();
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (!refused) then(new Uint8Array(Buffer.concat(chunks)));
  });
}

function replyError(ctx: InternalApiContext, res: http.ServerResponse, error: unknown): void {
  if (error instanceof ConcordError) {
    const status = error.code === ErrorCode.Timeout ? 504 : 503;
    reply(res, status, { error: error.message, code: error.code, leader: ctx.group.leaderId() });
    return;
  }
  if (error instanceof KvError) {
    reply(res, 400, { error: error.message, code: error.code });
    return;
  }
  ctx.logger.error('internal API request failed', { error: String(error) });
  reply(res, 500, { error: 'internal error', code: 'CONCORD_INTERNAL' });
}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
