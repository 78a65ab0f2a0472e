import type { Registry } from 'prom-client';
import type { Logger } from '../../lib/logger.js';
import { GATEWAY_ROUTES, type MethodPath } from '../codec/index.js';
import { resolveServingLimits } from '../grpc/limits.js';
import { MethodRegistry } from '../grpc/method-registry.js';
import { addGatewayRoute } from '../http/gateway.js';
import { addEndpoints } from '../http/endpoints.js';
import { HttpRouter } from '../http/http-router.js';
import type { EtcdBackend } from './backend.js';
import { toGrpcError } from './errors.js';
import { registerKv } from './kv-service.js';
import { registerLease } from './lease-service.js';
import { registerLockAndElection } from './lock-election-service.js';
import { registerSequencer } from './sequencer-service.js';
import { ETCD_VERSION, registerMaintenance } from './maintenance-service.js';
import { jsonCodecOf } from './method-defs.js';
import { registerWatch } from './watch-service.js';

export type { EtcdBackend, MemberInfo, ServerStatus } from './backend.js';
export { toGrpcError } from './errors.js';
export { READ_CONSISTENCY_HEADER } from './read-consistency.js';
export { ACK_HEADER, SEQ_HEADER, SESSION_HEADER, SESSION_LEASE_HEADER } from './session.js';

/**
 * createEtcdApi builds the etcd v3 API of one member: every service method registered once and
 * served both as gRPC and through the JSON gateway (`POST /v3/...`), plus /health, /livez,
 * /readyz, /version and /metrics on the HTTP side.
 */
export function createEtcdApi(backend: EtcdBackend, options: { logger: Logger; metrics?: Registry }): {
  registry: MethodRegistry;
  router: HttpRouter;
} {
  const registry = new MethodRegistry();
  registerKv(registry, backend);
  registerWatch(registry, backend);
  registerLease(registry, backend);
  registerMaintenance(registry, backend);
  registerLockAndElection(registry, backend);
  registerSequencer(registry, backend);

  const router = new HttpRouter((error) => options.logger.warn('http request failed', { error: String(error) }));
  const limits = resolveServingLimits();
  for (const route of GATEWAY_ROUTES) {
    const method = registry.lookup(route.method.path);
    if (!method) continue;
    addGatewayRoute(router, route.httpPath, method.binding, jsonCodecOf(route.method.path as MethodPath), {
      limits, logger: options.logger, mapError: toGrpcError,
    });
  }
  addEndpoints(router, {
    health: () => (backend.leaderKnown() ? { ok: true } : { ok: false, reason: 'no leader' }),
    versions: { etcdserver: ETCD_VERSION, etcdcluster: '3.4.0' },
    ...(options.metrics ? { metrics: options.metrics } : {}),
  });
  return { registry, router };
}
