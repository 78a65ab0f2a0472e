import { unreachable } from '../lib/assert.js';
import { decodeConfChange } from './conf-change-codec.js';
import {
  ConfChangeTransition, ConfChangeType, EntryType,
  type ConfChange, type ConfState, type Entry, type HardState, type Message, type ReadState,
  type Ready, type Snapshot, type SoftState,
} from './types.js';

/**
 * The describe* formatters render core data as one readable line (Ready as a few lines). The
 * same text is used by logs, the interaction scripts' expected traces and the simulator's
 * traces, so a diff of behaviour reads the same everywhere.
 */

/** DataFormatter renders entry payloads; the default prints printable ASCII quoted, else hex. */
export type DataFormatter = (data: Uint8Array) => string;

/** defaultDataFormatter quotes printable ASCII and hex-encodes anything else (first 32 bytes). */
export const defaultDataFormatter: DataFormatter = (data) => {
  let printable = true;
  for (const b of data) if (b < 0x20 || b > 0x7e) { printable = false; break; }
  if (printable) {
    const text = String.fromCharCode(...data.subarray(0, 64));
    return JSON.stringify(data.byteLength > 64 ? text + '…' : text);
  }
  let hex = '';
  for (const b of data.subarray(0, 32)) hex += b.toString(16).padStart(2, '0');
  return `0x${hex}${data.byteLength > 32 ? '…' : ''}`;
};

/** describeConfChange renders a ConfChange the way etcd does: `v2 l3 r4`, plus its transition. */
export function describeConfChange(cc: ConfChange): string {
  const parts = cc.changes.map((c) => {
    switch (c.type) {
      case ConfChangeType.AddVoter: return `v${c.nodeId}`;
      case ConfChangeType.AddLearner: return `l${c.nodeId}`;
      case ConfChangeType.RemoveNode: return `r${c.nodeId}`;
      default: return unreachable(c.type);
    }
  });
  if (cc.transition !== ConfChangeTransition.Auto) parts.push(`transition=${cc.transition}`);
  return parts.length === 0 ? 'leave-joint' : parts.join(' ');
}

/** describeEntry renders `term/index EntryNormal "data"` or `term/index EntryConfChange v2 l3`. */
export function describeEntry(entry: Entry, format: DataFormatter = defaultDataFormatter): string {
  switch (entry.type) {
    case EntryType.Normal:
      return `${entry.term}/${entry.index} EntryNormal${entry.data.byteLength > 0 ? ' ' + format(entry.data) : ''}`;
    case EntryType.ConfChange:
      return `${entry.term}/${entry.index} EntryConfChange ${describeConfChange(decodeConfChange(entry.data))}`;
    default:
      return unreachable(entry.type);
  }
}

/** describeEntries renders a list of entries, one per line, each prefixed by `indent`. */
export function describeEntries(entries: readonly Entry[], indent = '', format?: DataFormatter): string {
  return entries.map((e) => indent + describeEntry(e, format)).join('\n');
}

/** describeHardState renders `HardState Term:1 Vote:2 Commit:3`. */
export function describeHardState(hs: HardState): string {
  return `HardState Term:${hs.term} Vote:${hs.vote} Commit:${hs.commit}`;
}

/** describeSoftState renders `Lead:1 State:leader`. */
export function describeSoftState(ss: SoftState): string {
  return `Lead:${ss.leader} State:${ss.role}`;
}

/** describeConfState renders `Voters:[1 2 3] VotersOutgoing:[] Learners:[] LearnersNext:[] AutoLeave:false`. */
export function describeConfState(cs: ConfState): string {
  const list = (ids: readonly number[]): string => `[${[...ids].sort((a, b) => a - b).join(' ')}]`;
  return `Voters:${list(cs.voters)} VotersOutgoing:${list(cs.votersOutgoing)} Learners:${list(cs.learners)} ` +
    `LearnersNext:${list(cs.learnersNext)} AutoLeave:${cs.autoLeave}`;
}

/** describeSnapshot renders `Snapshot Index:5 Term:2 ConfState:...` (data is not printed). */
export function describeSnapshot(snapshot: Snapshot): string {
  const m = snapshot.metadata;
  return `Snapshot Index:${m.index} Term:${m.term} ${describeConfState(m.confState)}`;
}

/** describeReadState renders `ReadState Index:7 Context:"abc"`. */
export function describeReadState(rs: ReadState): string {
  return `ReadState Index:${rs.index} Context:${JSON.stringify(rs.context)}`;
}

/** describeMessage renders one message on one line, e.g. `1->2 MsgApp Term:1 Log:1/2 Commit:2 Entries:[1/3 EntryNormal "x"]`. */
export function describeMessage(m: Message, format?: DataFormatter): string {
  const head = `${m.from}->${m.to} ${m.type} Term:${m.term}`;
  switch (m.type) {
    case 'MsgApp':
      return `${head} Log:${m.logTerm}/${m.index} Commit:${m.commit}${m.commitOnly ? ' CommitOnly' : ''}${describeEntryList(m.entries, format)}`;
    case 'MsgAppResp':
      return m.reject
        ? `${head} Log:${m.logTerm}/${m.index} Rejected (Hint: ${m.rejectHint})`
        : `${head} Log:${m.logTerm}/${m.index}`;
    case 'MsgVote':
    case 'MsgPreVote':
      return `${head} Log:${m.logTerm}/${m.index}${m.transfer ? ' Transfer' : ''}`;
    case 'MsgVoteResp':
    case 'MsgPreVoteResp':
      return `${head}${m.reject ? ' Rejected' : ''}`;
    case 'MsgHeartbeat':
      return `${head} Commit:${m.commit}${m.context ? ` Context:${JSON.stringify(m.context)}` : ''}`;
    case 'MsgHeartbeatResp':
      return `${head}${m.context ? ` Context:${JSON.stringify(m.context)}` : ''}`;
    case 'MsgSnap':
      return `${head} ${describeSnapshot(m.snapshot)}`;
    case 'MsgProp':
      return `${head}${describeEntryList(m.entries, format)}`;
    case 'MsgReadIndex':
      return `${head} Context:${JSON.stringify(m.context)}`;
    case 'MsgReadIndexResp':
      return `${head} Index:${m.index} Context:${JSON.stringify(m.context)}`;
    case 'MsgTimeoutNow':
      return head;
    case 'MsgTransferLeader':
      return `${head} Target:${m.target}`;
    default:
      return unreachable(m);
  }
}

function describeEntryList(entries: readonly Entry[], format?: DataFormatter): string {
  if (entries.length === 0) return '';
  return ` Entries:[${entries.map((e) => describeEntry(e, format)).join(', ')}]`;
}

/** describeReady renders a Ready as a block of lines, omitting empty parts. */
export function describeReady(rd: Ready, format?: DataFormatter): string {
  const lines: string[] = [`Ready MustSync=${rd.mustSync}:`];
  if (rd.softState) lines.push(describeSoftState(rd.softState));
  if (rd.hardState) lines.push(describeHardState(rd.hardState));
  if (rd.readStates.length > 0) {
    lines.push('ReadStates:', ...rd.readStates.map(describeReadState));
  }
  if (rd.entries.length > 0) lines.push('Entries:', describeEntries(rd.entries, '', format));
  if (rd.snapshot) lines.push(describeSnapshot(rd.snapshot));
  if (rd.committedEntries.length > 0) {
    lines.push('CommittedEntries:', describeEntries(rd.committedEntries, '', format));
  }
  if (rd.messages.length > 0) {
    lines.push('Messages:', ...rd.messages.map((m) => describeMessage(m, format)));
  }
  return lines.join('\n');
}
