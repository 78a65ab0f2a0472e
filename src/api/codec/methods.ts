/**
 * The method table: every rpc of the etcd v3 services (KV, Watch, Lease, Cluster, Maintenance,
 * Auth), the lock and election services and grpc.health.v1.Health, keyed by gRPC path, with its
 * codecs and streaming kind, so the HTTP/2 server and the JSON gateway can be table-driven.
 */
import { METHOD_SCHEMAS, type MessageTypes } from './gen/schema.js';
import { codecFor, type MessageCodec } from './message-codec.js';

/** StreamingKind says which side streams: `unary`, `server-stream`, `client-stream`, `bidi`. */
export type StreamingKind = 'unary' | 'server-stream' | 'client-stream' | 'bidi';

/** MethodPath is a gRPC path: `/etcdserverpb.KV/Range`. */
export type MethodPath = keyof typeof METHOD_SCHEMAS;

/** RequestOf is the request message type of a method. */
export type RequestOf<P extends MethodPath> = MessageTypes[(typeof METHOD_SCHEMAS)[P]['requestType']];
/** ResponseOf is the response message type of a method. */
export type ResponseOf<P extends MethodPath> = MessageTypes[(typeof METHOD_SCHEMAS)[P]['responseType']];

/** MethodDescriptor is one rpc: its path, names, streaming kind and codecs. */
export interface MethodDescriptor<Req = unknown, Res = unknown> {
  /** path is the gRPC path (`:path` header): `/etcdserverpb.KV/Range`. */
  readonly path: string;
  /** service is the full service name: `etcdserverpb.KV`. */
  readonly service: string;
  /** name is the rpc name: `Range`. */
  readonly name: string;
  readonly kind: StreamingKind;
  readonly request: MessageCodec<Req>;
  readonly response: MessageCodec<Res>;
  /** httpPaths are the POST paths etcd's proto declares for the gateway (see GATEWAY_ROUTES). */
  readonly httpPaths: readonly string[];
}

function kindOf(requestStream: boolean, responseStream: boolean): StreamingKind {
  if (requestStream) return responseStream ? 'bidi' : 'client-stream';
  return responseStream ? 'server-stream' : 'unary';
}

function buildMethods(): { readonly [P in MethodPath]: MethodDescriptor<RequestOf<P>, ResponseOf<P>> } {
  const table: Record<string, MethodDescriptor> = {};
  for (const [path, m] of Object.entries(METHOD_SCHEMAS)) {
    table[path] = Object.freeze({
      path,
      service: m.service,
      name: m.name,
      kind: kindOf(m.requestStream, m.responseStream),
      request: codecFor(m.requestType) as MessageCodec<unknown>,
      response: codecFor(m.responseType) as MessageCodec<unknown>,
      httpPaths: m.httpPaths,
    });
  }
  return Object.freeze(table) as unknown as { readonly [P in MethodPath]: MethodDescriptor<RequestOf<P>, ResponseOf<P>> };
}

/** METHODS is every rpc keyed by gRPC path; typed, so `METHODS['/etcdserverpb.KV/Put'].request.decode()` is a PutRequest. */
export const METHODS = buildMethods();

/** findMethod looks a gRPC path up (undefined: answer UNIMPLEMENTED). */
export function findMethod(path: string): MethodDescriptor | undefined {
  return Object.prototype.hasOwnProperty.call(METHODS, path) ? (METHODS[path as MethodPath] as MethodDescriptor) : undefined;
}

/** GatewayRoute is one POST path of the JSON gateway and the rpc it calls. */
export interface GatewayRoute {
  /** httpPath is the POST path: `/v3/kv/range`. */
  readonly httpPath: string;
  readonly method: MethodDescriptor;
  /** note says why a route is not a plain binding of etcd 3.4's proto, when it is not. */
  readonly note?: string;
}

/**
 * EXTRA_ROUTES are routes beyond etcd 3.4's bindings. In 3.4 both Hash and HashKV declare
 * `/v3/maintenance/hash`; grpc-gateway dispatches to the first registered handler, so that path
 * is Hash and HashKV is unreachable over JSON. etcd 3.5 moved HashKV to `/v3/maintenance/hashkv`;
 * Concord serves that path too.
 */
const EXTRA_ROUTES: readonly { httpPath: string; path: MethodPath; note: string }[] = [
  { httpPath: '/v3/maintenance/hashkv', path: '/etcdserverpb.Maintenance/HashKV', note: 'etcd 3.5 path; 3.4 declares /v3/maintenance/hash, shadowed by Hash' },
];

function buildRoutes(): readonly GatewayRoute[] {
  const routes: GatewayRoute[] = [];
  const seen = new Set<string>();
  for (const method of Object.values(METHODS) as MethodDescriptor[]) {
    for (const httpPath of method.httpPaths) {
      if (seen.has(httpPath)) continue; // first registration wins, as in grpc-gateway's ServeMux
      seen.add(httpPath);
      routes.push(Object.freeze({ httpPath, method }));
    }
  }
  for (const extra of EXTRA_ROUTES) {
    if (seen.has(extra.httpPath)) continue;
    seen.add(extra.httpPath);
    routes.push(Object.freeze({ httpPath: extra.httpPath, method: METHODS[extra.path] as MethodDescriptor, note: extra.note }));
  }
  return Object.freeze(routes);
}

/**
 * GATEWAY_ROUTES are the JSON gateway's POST routes in registration order (etcd registers KV,
 * Watch, Lease, Cluster, Maintenance, Auth, Lock, Election; Health has none). Streaming routes
 * (`/v3/watch`, `/v3/lease/keepalive`, `/v3/maintenance/snapshot`, `/v3/election/observe`) answer
 * as a chunked stream of `{"result": <message>}` objects, one per line. etcd also rewrites a
 * `/v3beta/` prefix to `/v3/`.
 */
export const GATEWAY_ROUTES: readonly GatewayRoute[] = buildRoutes();

const routesByPath = new Map(GATEWAY_ROUTES.map((r) => [r.httpPath, r]));

/** findGatewayRoute looks a POST path up (after any `/v3beta/` -> `/v3/` rewrite). */
export function findGatewayRoute(httpPath: string): GatewayRoute | undefined {
  return routesByPath.get(httpPath);
}
