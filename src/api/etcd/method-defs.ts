import { METHODS, type MethodPath, type RequestOf, type ResponseOf } from '../codec/index.js';
import type { MethodDef } from '../grpc/method.js';
import type { JsonCodec } from '../http/gateway.js';

/** defOf adapts the codec layer's method table to the serving layer's MethodDef. */
export function defOf<P extends MethodPath>(path: P): MethodDef<RequestOf<P>, ResponseOf<P>> {
  const d = METHODS[path];
  return {
    path: d.path,
    kind: d.kind,
    decodeRequest: (bytes) => d.request.decode(bytes) as RequestOf<P>,
    encodeResponseFrame: (response) => d.response.encodeFrame(response as never),
  };
}

/** jsonCodecOf is the gateway's JSON codec of a method (etcd's grpc-gateway conventions). */
export function jsonCodecOf<P extends MethodPath>(path: P): JsonCodec<RequestOf<P>, ResponseOf<P>> {
  const d = METHODS[path];
  return {
    decodeJson: (text) => d.request.fromJson(text.trim() === '' ? {} : JSON.parse(text)) as RequestOf<P>,
    encodeJson: (response) => JSON.stringify(d.response.toJson(response as never)),
  };
}
