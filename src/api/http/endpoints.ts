import type { Registry } from 'prom-client';
import type { HttpRouter } from './http-router.js';
import { sendJson, sendText } from './http-router.js';

/** HealthReport is the answer of a health check: ok, or not with a reason. */
export interface HealthReport {
  readonly ok: boolean;
  readonly reason?: string;
}

/** EndpointOptions configure the plain HTTP endpoints of the client port. */
export interface EndpointOptions {
  /** health decides /health and /readyz (etcd: a leader is known and no alarm is raised). */
  readonly health: () => HealthReport | Promise<HealthReport>;
  /** versions is served at /version. */
  readonly versions: { readonly etcdserver: string; readonly etcdcluster: string };
  /** metrics is the Prometheus registry served at /metrics (never prom-client's global one). */
  readonly metrics?: Registry;
}

/**
 * addEndpoints registers etcd's plain HTTP endpoints on `router`:
 *   GET /health  → 200 {"health":"true"} | 503 {"health":"false","reason":"..."}
 *   GET /livez   → 200 "ok" while the process serves requests
 *   GET /readyz  → 200 "ok" | 503 "[-]health failed: <reason>\nreadyz check failed"
 *   GET /version → {"etcdserver":"3.4.x","etcdcluster":"3.4.0"}
 *   GET /metrics → Prometheus text format from `metrics`
 */
export function addEndpoints(router: HttpRouter, options: EndpointOptions): void {
  router.route('GET', '/health', async (_req, res) => {
    const report = await options.health();
    sendJson(res, report.ok ? 200 : 503, JSON.stringify(report.ok ? { health: 'true' } : { health: 'false', reason: report.reason ?? '' }));
  });
  router.route('GET', '/livez', (_req, res) => sendText(res, 200, 'ok'));
  router.route('GET', '/readyz', async (_req, res) => {
    const report = await options.health();
    if (report.ok) sendText(res, 200, 'ok');
    else sendText(res, 503, `[-]health failed: ${report.reason ?? ''}\nreadyz check failed`);
  });
  const version = JSON.stringify({ etcdserver: options.versions.etcdserver, etcdcluster: options.versions.etcdcluster });
  router.route('GET', '/version', (_req, res) => sendJson(res, 200, version));
  const metrics = options.metrics;
  if (metrics !== undefined) {
    router.route('GET', '/metrics', async (_req, res) => {
      const text = await metrics.metrics();
      res.statusCode = 200;
      res.setHeader('content-type', metrics.contentType);
      res.end(text);
    });
  }
}
