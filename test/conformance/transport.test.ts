import { MemoryNetwork } from '../../src/transport/memory-transport.js';
import { TcpTransport } from '../../src/transport/tcp-transport.js';
import type { NodeId } from '../../src/raft/types.js';
import { SimTransportHub } from '../sim/sim-transport.js';
import { transportConformance } from './transport.js';
import { waitFor } from './transport-recorder.js';

transportConformance('TcpTransport', async (handlers) => {
  const transports = handlers.map((handler, i) => new TcpTransport({
    localId: (i + 1) as NodeId, clusterId: 'conformance', handler, limits: { reconnectBackoffMsMin: 5, reconnectBackoffMsMax: 50 },
  }));
  const close = async (): Promise<void> => { await Promise.all(transports.map((t) => t.stop())); };
  try {
    await Promise.all(transports.map((t) => t.start()));
    for (const t of transports) for (const peer of transports) if (peer !== t) t.addPeer(peer.localId, peer.url);
    await waitFor('all connected', () => transports.every((t) => transports.every((p) => p === t || t.isConnected(p.localId))));
  } catch (error) {
    await close();
    throw error;
  }
  return { transports, close };
});

transportConformance('MemoryTransport', async (handlers) => {
  const network = new MemoryNetwork();
  const transports = handlers.map((handler, i) => network.transport((i + 1) as NodeId, handler));
  await Promise.all(transports.map((t) => t.start()));
  for (const t of transports) for (const peer of transports) if (peer !== t) t.addPeer(peer.localId, peer.url);
  return { transports, close: async () => { await Promise.all(transports.map((t) => t.stop())); } };
});

transportConformance('SimTransport (the simulator network, no faults)', async (handlers) => {
  const hub = new SimTransportHub(1, {
    dropRate: 0, duplicateRate: 0, delayStepsMin: 1, delayStepsMax: 3, longDelayRate: 0, longDelayStepsMax: 3, reorder: false,
  });
  const transports = handlers.map((handler, i) => hub.transport((i + 1) as NodeId, handler));
  await Promise.all(transports.map((t) => t.start()));
  for (const t of transports) for (const peer of transports) if (peer !== t) t.addPeer(peer.localId);
  hub.run();
  return {
    transports,
    close: async () => {
      hub.stopRunning();
      await Promise.all(transports.map((t) => t.stop()));
    },
  };
});
