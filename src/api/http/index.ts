/**
 * The HTTP side of the client port: a router, the JSON gateway (grpc-gateway v1 conventions),
 * etcd's plain endpoints and the serving metrics. See docs/serving.md.
 */
export { HttpRouter, sendJson, sendText } from './http-router.js';
export type { RouteHandler } from './http-router.js';
export { addGatewayRoute } from './gateway.js';
export type { GatewayOptions, JsonCodec } from './gateway.js';
export { httpStatusFromGrpc, streamErrorChunk, unaryErrorBody } from './gateway-errors.js';
export { addEndpoints } from './endpoints.js';
export type { EndpointOptions, HealthReport } from './endpoints.js';
export { registerServingMetrics } from './serving-metrics.js';
export { JsonValueSplitter } from './json-splitter.js';
