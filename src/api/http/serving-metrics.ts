import { Counter, Gauge, type Registry } from 'prom-client';
import type { ServerStats } from '../grpc/grpc-server.js';
import type { MethodKind } from '../grpc/method.js';
import { handlingBucketBounds, type MethodRegistry } from '../grpc/method-registry.js';
import { grpcStatusNames } from '../grpc/status.js';
import { registerBucketHistogram } from './bucket-histogram.js';

const grpcTypes: Record<MethodKind, string> = {
  unary: 'unary',
  'server-stream': 'server_stream',
  'client-stream': 'client_stream',
  bidi: 'bidi_stream',
};

/**
 * registerServingMetrics exposes the serving layer's counters in `registry` under the names etcd
 * exposes through go-grpc-prometheus (`grpc_server_started_total`, `grpc_server_handled_total`,
 * `grpc_server_msg_received_total`, `grpc_server_msg_sent_total`) plus connection gauges. The
 * values are read from plain counters at scrape time, so the call path pays nothing for them.
 */
export function registerServingMetrics(registry: Registry, methods: MethodRegistry, stats: ServerStats): void {
  const labelsOf = (path: string, kind: MethodKind): { grpc_type: string; grpc_service: string; grpc_method: string } => {
    const slash = path.lastIndexOf('/');
    return { grpc_type: grpcTypes[kind], grpc_service: path.slice(1, slash), grpc_method: path.slice(slash + 1) };
  };
  const perMethod = (name: string, help: string, read: (s: { started: number; messagesReceived: number; messagesSent: number }) => number): void => {
    new Counter({
      name,
      help,
      labelNames: ['grpc_type', 'grpc_service', 'grpc_method'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [path, m] of methods.entries()) this.inc(labelsOf(path, m.binding.kind), read(m.stats));
      },
    });
  };
  perMethod('grpc_server_started_total', 'Total number of RPCs started on the server.', (s) => s.started);
  perMethod('grpc_server_msg_received_total', 'Total number of RPC stream messages received on the server.', (s) => s.messagesReceived);
  perMethod('grpc_server_msg_sent_total', 'Total number of gRPC stream messages sent by the server.', (s) => s.messagesSent);
  new Counter({
    name: 'grpc_server_handled_total',
    help: 'Total number of RPCs completed on the server, regardless of success or failure.',
    labelNames: ['grpc_type', 'grpc_service', 'grpc_method', 'grpc_code'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [path, m] of methods.entries()) {
        const labels = labelsOf(path, m.binding.kind);
        m.stats.handled.forEach((n, code) => {
          if (n > 0 || code === 0) this.inc({ ...labels, grpc_code: grpcStatusNames[code]! }, n);
        });
      }
    },
  });
  registerHandlingHistogram(registry, methods, labelsOf);
  new Gauge({
    name: 'concord_grpc_calls_active',
    help: 'gRPC calls whose stream is open.',
    registers: [registry],
    collect() {
      this.set(stats.grpcCallsActive);
    },
  });
  new Counter({
    name: 'concord_client_connections_total',
    help: 'Client-port connections accepted (HTTP/1.1 and HTTP/2).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats.connectionsAccepted);
    },
  });
  new Counter({
    name: 'concord_client_connections_own_http2_total',
    help: "Client-port connections whose first request was gRPC, served by Concord's own HTTP/2 framing (the rest of HTTP/2 goes to node:http2).",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats.ownHttp2Connections);
    },
  });
}

/**
 * registerHandlingHistogram exposes `grpc_server_handling_seconds` (go-grpc-prometheus's name,
 * which etcd serves with --metrics=extensive): per method, how long calls took from their stream
 * opening to their status, from each method's plain bucket counts (a call pays one bucket
 * search). Methods never called are left out.
 */
function registerHandlingHistogram(
  registry: Registry,
  methods: MethodRegistry,
  labelsOf: (path: string, kind: MethodKind) => Record<string, string>,
): void {
  registerBucketHistogram(registry, 'grpc_server_handling_seconds',
    'Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.',
    handlingBucketBounds,
    () => [...methods.entries()].map(([path, m]) => ({ labels: labelsOf(path, m.binding.kind), counts: m.stats.handlingBuckets, sumSeconds: m.stats.handlingSecondsSum })));
}
