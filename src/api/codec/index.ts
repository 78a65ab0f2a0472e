/**
 * The etcd v3 wire layer: message types, binary codecs, the gateway JSON mapping and the method
 * table. One entry point for src/api/grpc, the gateway, the client and the tests; docs/wire.md
 * explains the choices.
 *
 * Message types live in namespaces named after etcd's proto packages (`etcdserverpb.PutRequest`,
 * `mvccpb.KeyValue`, `authpb.Permission`, `v3lockpb.LockRequest`, `v3electionpb.LeaderKey`,
 * `healthpb.HealthCheckResponse`); their fields are ts-proto's camelCase (`createRevision`,
 * `prevKv`, `clusterId`; `TTL`, `ID` stay as written), every 64-bit integer is a `bigint`, bytes
 * are `Uint8Array`, submessages are optional, oneofs are `{ $case, value }` unions, enums are
 * const objects (`mvccpb.Event_EventType.DELETE`). Concord's own extensions live in `concordv1`
 * (`concord.v1.Sequencer`, docs/sequencer.md).
 */
export * as authpb from './gen/authpb/auth.js';
export * as concordv1 from './gen/concord/v1/sequencer.js';
export * as etcdserverpb from './gen/etcdserverpb/rpc.js';
export * as healthpb from './gen/grpc/health/v1/health.js';
export * as mvccpb from './gen/mvccpb/kv.js';
export * as v3electionpb from './gen/v3electionpb/v3election.js';
export * as v3lockpb from './gen/v3lockpb/v3lock.js';

export {
  ENUM_SCHEMAS,
  MESSAGE_SCHEMAS,
  METHOD_SCHEMAS,
  type EnumTypes,
  type FieldKind,
  type FieldSchema,
  type MessageTypeName,
  type MessageTypes,
  type MethodSchema,
} from './gen/schema.js';
export { decodeBase64, encodeBase64 } from './base64.js';
export { fromJson, JSON_DEPTH_MAX, toJson, type JsonObject, type JsonValue } from './json.js';
export { codecFor, decodeMessage, encodeMessage, isMessageTypeName, type MessageCodec } from './message-codec.js';
export { directEncode, encodeRangeRecords, type DirectlyEncoded, type KeyValueRecord, type RangeRecords } from './kv-list-encode.js';
export {
  findGatewayRoute,
  findMethod,
  GATEWAY_ROUTES,
  METHODS,
  type GatewayRoute,
  type MethodDescriptor,
  type MethodPath,
  type RequestOf,
  type ResponseOf,
  type StreamingKind,
} from './methods.js';
export { WireError, WireErrorCode } from './wire-error.js';
