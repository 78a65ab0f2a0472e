import { checkSequencerNext, type SequencerNextRequest } from '../../kv/index.js';
import type { concordv1 } from '../codec/index.js';
import type { MethodRegistry } from '../grpc/method-registry.js';
import type { EtcdBackend } from './backend.js';
import { headerOut } from './convert.js';
import { ETCD_ERRORS, toGrpcError } from './errors.js';
import { ok } from './kv-service.js';
import { defOf } from './method-defs.js';
import { withSession } from './session.js';

/**
 * registerSequencer serves concord.v1.Sequencer (docs/sequencer.md): Next proposes a
 * `sequencerNext` command and answers with the numbers it took once applied, so the numbers of a
 * counter are unique and gapless in log order. Exactly-once under session metadata.
 */
export function registerSequencer(registry: MethodRegistry, backend: EtcdBackend): void {
  registry.unary(defOf('/concord.v1.Sequencer/Next'), async (req, call): Promise<concordv1.NextResponse> => {
    if (call.requestBytes > backend.maxRequestBytes) throw ETCD_ERRORS.requestTooLarge();
    const request: SequencerNextRequest = { name: new TextEncoder().encode(req.name), count: req.count };
    const invalid = checkSequencerNext(request);
    if (invalid !== undefined) throw toGrpcError(invalid) ?? invalid;
    const result = ok(await backend.propose(withSession({ type: 'sequencerNext', request } as const, call.metadata)));
    if (result.type !== 'sequencerNext') throw new Error('unexpected result type');
    const r = result.response;
    return { header: headerOut(backend.header, r.header.revision), first: BigInt(r.first), count: r.count };
  });
}
