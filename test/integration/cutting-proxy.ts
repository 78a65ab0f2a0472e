import net from 'node:net';

/**
 * A TCP proxy for exactly-once tests (test/integration/sessions.test.ts, test/client/
 * exactly-once.test.ts): it cuts the client's connection right when the response to a request
 * starts coming back, i.e. after the request reached the server and was applied, so the client
 * cannot know the outcome.
 */

/**
 * CuttingProxy forwards bytes to `targetPort` and cuts every `cutEvery`-th response (HTTP/2
 * HEADERS of a new stream). `cutEvery` may be changed while it runs (0: cut nothing, 1: cut
 * every response).
 */
export class CuttingProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  responses = 0;
  cuts = 0;
  /** refusing: new connections are closed at once and nothing is forwarded (see `refuse`). */
  private refusing = false;

  constructor(private readonly targetPort: number, public cutEvery: number) {
    this.server = net.createServer((client) => this.accept(client));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  /**
   * refuse(true) cuts every open connection and closes new ones at once, so no request reaches
   * the server (a partition of the client); refuse(false) forwards again.
   */
  refuse(on: boolean): void {
    this.refusing = on;
    if (on) for (const s of this.sockets) s.destroy();
  }

  private accept(client: net.Socket): void {
    if (this.refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(this.targetPort, '127.0.0.1');
    this.sockets.add(client).add(upstream);
    const cut = (): void => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('data', (d) => upstream.write(d));
    client.on('error', cut).on('close', cut);
    upstream.on('error', cut).on('close', cut);
    // Server-to-client bytes are HTTP/2 frames from the first byte: 24-bit length, type, flags,
    // 31-bit stream id. The first HEADERS frame of a stream starts that request's response.
    let pending = Buffer.alloc(0);
    const streams = new Set<number>();
    upstream.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      const forward: Buffer[] = [];
      while (pending.length >= 9) {
        const length = pending.readUIntBE(0, 3);
        if (pending.length < 9 + length) break;
        const type = pending[3]!;
        const stream = pending.readUInt32BE(5) & 0x7fffffff;
        const frame = pending.subarray(0, 9 + length);
        pending = pending.subarray(9 + length);
        if (type === 1 && stream !== 0 && !streams.has(stream)) {
          streams.add(stream);
          this.responses++;
          if (this.cutEvery > 0 && this.responses % this.cutEvery === 0) {
            this.cuts++;
            if (forward.length > 0) client.write(Buffer.concat(forward));
            cut();
            return;
          }
        }
        forward.push(frame);
      }
      if (forward.length > 0) client.write(Buffer.concat(forward));
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
