/**
 * The gRPC serving layer's public entry point: a ClientPortServer carrying gRPC (node:http2,
 * static codecs) and the HTTP side on one port, a MethodRegistry the etcd service layer fills,
 * and the status vocabulary. See docs/serving.md.
 */
export { ClientPortServer, isGrpcContentType, unknownMethodMessage } from './grpc-server.js';
export type { ClientPortServerOptions, HttpRequest, HttpRequestHandler, HttpResponse, ServerStats } from './grpc-server.js';
export { canceledMessage, deadlineMessage } from './grpc-call.js';
export { MethodRegistry, MethodStats } from './method-registry.js';
export type { RegisteredMethod } from './method-registry.js';
export type {
  BidiHandler,
  CallContext,
  ClientStreamHandler,
  Metadata,
  MethodBinding,
  MethodDef,
  MethodKind,
  ResponseStream,
  ServerStreamHandler,
  UnaryHandler,
} from './method.js';
export { defaultServingLimits, grpcOverheadBytes, resolveServingLimits } from './limits.js';
export type { ServingLimits } from './limits.js';
export {
  GrpcError,
  GrpcStatus,
  decodeGrpcMessage,
  encodeGrpcMessage,
  grpcStatusNames,
  isGrpcStatusCode,
} from './status.js';
export type { GrpcStatusCode } from './status.js';
export { parseGrpcTimeout } from './timeout.js';
export { RequestQueue } from './request-queue.js';
