import { assert } from '../lib/assert.js';
import {
  ConfChangeTransition, ConfChangeType, nodeId,
  type ConfChange, type ConfChangeSingle,
} from './types.js';

// Layout (version 1): [version u8][transition u8][count u16][count x (type u8, nodeId f64)]
//                     [contextLength u32][context bytes]. Little-endian.
const CODEC_VERSION = 1;
const transitions = [ConfChangeTransition.Auto, ConfChangeTransition.JointImplicit, ConfChangeTransition.JointExplicit] as const;
const changeTypes = [ConfChangeType.AddVoter, ConfChangeType.AddLearner, ConfChangeType.RemoveNode] as const;

/** CONF_CHANGE_CHANGES_MAX bounds the single changes of one ConfChange. */
export const CONF_CHANGE_CHANGES_MAX = 0xffff;

/** encodeConfChange writes a ConfChange as the data of a conf-change entry. */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  assert(cc.changes.length <= CONF_CHANGE_CHANGES_MAX, 'too many changes in one ConfChange');
  const bytes = new Uint8Array(4 + cc.changes.length * 9 + 4 + cc.context.byteLength);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, CODEC_VERSION);
  view.setUint8(1, transitions.indexOf(cc.transition));
  view.setUint16(2, cc.changes.length, true);
  let at = 4;
  for (const change of cc.changes) {
    view.setUint8(at, changeTypes.indexOf(change.type));
    view.setFloat64(at + 1, change.nodeId, true);
    at += 9;
  }
  view.setUint32(at, cc.context.byteLength, true);
  bytes.set(cc.context, at + 4);
  return bytes;
}

/**
 * decodeConfChange reads the data of a conf-change entry. Entries come from our own log, so a
 * malformed one is corruption and fails an assertion.
 */
export function decodeConfChange(data: Uint8Array): ConfChange {
  assert(data.byteLength >= 8, 'conf change too short');
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  assert(view.getUint8(0) === CODEC_VERSION, () => `unknown conf change version ${view.getUint8(0)}`);
  const transition = transitions[view.getUint8(1)];
  assert(transition !== undefined, 'bad conf change transition');
  const count = view.getUint16(2, true);
  assert(data.byteLength >= 8 + count * 9, 'conf change truncated');
  const changes: ConfChangeSingle[] = [];
  let at = 4;
  for (let i = 0; i < count; i++) {
    const type = changeTypes[view.getUint8(at)];
    assert(type !== undefined, 'bad conf change type');
    changes.push({ type, nodeId: nodeId(view.getFloat64(at + 1, true)) });
    at += 9;
  }
  const contextLength = view.getUint32(at, true);
  assert(data.byteLength === at + 4 + contextLength, 'conf change length mismatch');
  return { transition, changes, context: data.slice(at + 4, at + 4 + contextLength) };
}
