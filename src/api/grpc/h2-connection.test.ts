import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { decodeEcho, echo, echoFrame, echoMethod, type EchoMessage } from './echo-fixture.js';
import { H2ErrorCode, H2FrameType as T, H2Setting, settingsFrame } from './h2-frames.js';
import { H2Stream, type StreamOwner } from './h2-stream.js';
import { decodeHeaderBlock, HpackDynamicTable } from './hpack-decode.js';
import { encodeHeaderFields } from './hpack-encode.js';
import { h2Frame, TestHpackEncoder } from './hpack-fixture.js';
import { ClientPortServer, MethodRegistry } from './index.js';

const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

/** RawClient speaks HTTP/2 frame by frame on a socket, and collects what the server sends. */
class RawClient {
  readonly frames: Frame[] = [];
  private buffered = Buffer.alloc(0);
  private read = 0;
  private notify = (): void => {};
  readonly encoder = new TestHpackEncoder();
  readonly responseTable: HpackDynamicTable;
  ended = false;

  private constructor(
    readonly socket: net.Socket,
    tableBytes: number,
  ) {
    this.responseTable = new HpackDynamicTable(tableBytes);
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 9 && this.buffered.length >= 9 + this.buffered.readUIntBE(0, 3)) {
        const length = this.buffered.readUIntBE(0, 3);
        const b = this.buffered;
        this.frames.push({ type: b[3]!, flags: b[4]!, stream: b.readUInt32BE(5), payload: Buffer.from(b.subarray(9, 9 + length)) });
        this.buffered = b.subarray(9 + length);
      }
      this.notify();
    });
    socket.on('end', () => {
      this.ended = true;
      this.notify();
    });
    socket.on('error', () => {});
  }

  static async connect(port: number, settings: ReadonlyArray<readonly [number, number]> = [], tableBytes = 4096): Promise<RawClient> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    const client = new RawClient(socket, tableBytes);
    socket.write(Buffer.concat([preface, settingsFrame(settings)]));
    return client;
  }

  /** next returns the next frame, skipping SETTINGS (acknowledged) and WINDOW_UPDATEs unless asked for. */
  next(options: { keepControl?: boolean } = {}): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no frame from the server')), 3000);
      const check = (): void => {
        while (this.read < this.frames.length) {
          const frame = this.frames[this.read++]!;
          if (frame.type === T.settings && (frame.flags & 1) === 0) this.socket.write(h2Frame(T.settings, 1, 0));
          if (!options.keepControl && (frame.type === T.settings || frame.type === T.windowUpdate)) continue;
          clearTimeout(timer);
          resolve(frame);
          return;
        }
        if (this.ended) {
          clearTimeout(timer);
          reject(new Error('connection ended'));
        }
      };
      this.notify = check;
      check();
    });
  }

  requestBlock(path = '/concord.test.Echo/Unary', contentType = 'application/grpc'): Buffer {
    return this.encoder.encode([
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', path],
      [':authority', 'localhost'],
      ['content-type', contentType],
      ['te', 'trailers'],
    ]);
  }

  unary(streamId: number, m: EchoMessage): void {
    const body = echoFrame(m);
    const frames = [h2Frame(T.headers, 0x4, streamId, this.requestBlock())];
    for (let o = 0; o < body.length; o += 16_384) {
      const end = Math.min(body.length, o + 16_384);
      frames.push(h2Frame(T.data, end === body.length ? 0x1 : 0, streamId, body.subarray(o, end)));
    }
    this.socket.write(Buffer.concat(frames));
  }

  close(): void {
    this.socket.destroy();
  }
}

function fieldsOf(client: RawClient, frame: Frame): Map<string, string> {
  return new Map(decodeHeaderBlock(frame.payload, client.responseTable));
}

describe("Concord's own HTTP/2 framing (h2-connection.ts)", { timeout: 30_000 }, () => {
  const registry = new MethodRegistry();
  registry.unary(echoMethod('Unary'), async (req: EchoMessage) => echo(req.message, req.number + 1, req.payload));
  let server: ClientPortServer;
  let port: number;
  before(async () => {
    server = new ClientPortServer({ registry, limits: { keepaliveIntervalMs: 0, concurrentStreamsMax: 8 } });
    ({ port } = await server.listen(0));
  });
  after(() => server.close(100));

  test('a unary answer is HEADERS, DATA and trailers with END_STREAM, and the connection serves more calls', async () => {
    const client = await RawClient.connect(port);
    try {
      for (const id of [1, 3, 5]) {
        client.unary(id, echo(`call ${id}`, id));
        const headers = await client.next();
        assert.deepEqual([headers.type, headers.stream, headers.flags & 1], [T.headers, id, 0]);
        const fields = fieldsOf(client, headers);
        assert.equal(fields.get(':status'), '200');
        assert.equal(fields.get('content-type'), 'application/grpc');
        const data = await client.next();
        assert.deepEqual([data.type, data.stream], [T.data, id]);
        assert.deepEqual(decodeEcho(data.payload.subarray(5)).message, `call ${id}`);
        const trailers = await client.next();
        assert.deepEqual([trailers.type, trailers.stream, trailers.flags & 1], [T.headers, id, 1]);
        assert.equal(fieldsOf(client, trailers).get('grpc-status'), '0');
      }
    } finally {
      client.close();
    }
  });

  test('responses respect the client window and frame size: DATA waits for WINDOW_UPDATE, trailers come last', async () => {
    const client = await RawClient.connect(port, [[H2Setting.initialWindowSize, 1000]]);
    try {
      const payload = Buffer.alloc(40_000, 7);
      client.unary(1, echo('big', 0, payload));
      const headers = await client.next();
      assert.equal(headers.type, T.headers);
      let received = 0;
      const first = await client.next();
      assert.deepEqual([first.type, first.payload.length], [T.data, 1000], 'exactly the stream window');
      received += first.payload.length;
      // Nothing more until the window opens.
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(client.frames.filter((f) => f.type === T.data).length, 1);
      client.socket.write(h2Frame(T.windowUpdate, 0, 1, Buffer.from([0, 1, 0, 0]))); // +65536 on the stream
      const chunks = [first.payload];
      for (;;) {
        const frame = await client.next();
        if (frame.type === T.headers) {
          assert.equal(frame.flags & 1, 1);
          assert.equal(fieldsOf(client, frame).get('grpc-status'), '0');
          break;
        }
        assert.equal(frame.type, T.data);
        assert.ok(frame.payload.length <= 16_384, `DATA of ${frame.payload.length} bytes within SETTINGS_MAX_FRAME_SIZE`);
        received += frame.payload.length;
        chunks.push(frame.payload);
      }
      const body = Buffer.concat(chunks);
      assert.equal(received, body.length);
      const reply = decodeEcho(body.subarray(5, 5 + body.readUInt32BE(1)));
      assert.equal(Buffer.compare(reply.payload, payload), 0);
    } finally {
      client.close();
    }
  });

  test('PING is answered with the same payload; a HEADERS+CONTINUATION request is served', async () => {
    const client = await RawClient.connect(port);
    try {
      client.socket.write(h2Frame(T.ping, 0, 0, Buffer.from('12345678')));
      const pong = await client.next();
      assert.deepEqual([pong.type, pong.flags, pong.payload.toString()], [T.ping, 1, '12345678']);
      const block = client.requestBlock();
      client.socket.write(
        Buffer.concat([
          h2Frame(T.headers, 0, 1, block.subarray(0, 5)),
          h2Frame(T.continuation, 0, 1, block.subarray(5, 9)),
          h2Frame(T.continuation, 0x4, 1, block.subarray(9)),
          h2Frame(T.data, 0x1, 1, echoFrame(echo('split'))),
        ]),
      );
      assert.equal((await client.next()).type, T.headers);
      assert.equal(decodeEcho((await client.next()).payload.subarray(5)).message, 'split');
    } finally {
      client.close();
    }
  });

  test('a client that shrinks its HPACK table gets blocks starting with a table size update', async () => {
    const client = await RawClient.connect(port, [[H2Setting.headerTableSize, 0]], 0);
    try {
      client.unary(1, echo('small table'));
      const headers = await client.next();
      assert.equal(headers.payload[0], 0x20, 'dynamic table size update to 0');
      assert.equal(fieldsOf(client, headers).get(':status'), '200');
      await client.next();
      const trailers = await client.next();
      assert.equal(trailers.payload[0], 0x20);
      assert.equal(fieldsOf(client, trailers).get('grpc-status'), '0');
    } finally {
      client.close();
    }
  });

  test('a non-gRPC request on a gRPC connection gets 415 with INVALID_ARGUMENT, as grpc-go answers', async () => {
    const client = await RawClient.connect(port);
    try {
      client.unary(1, echo('first'));
      for (let i = 0; i < 3; i++) await client.next();
      client.socket.write(h2Frame(T.headers, 0x5, 3, client.requestBlock('/health', 'text/plain')));
      const answer = await client.next();
      assert.deepEqual([answer.type, answer.stream, answer.flags & 1], [T.headers, 3, 1]);
      const fields = fieldsOf(client, answer);
      assert.equal(fields.get(':status'), '415');
      assert.equal(fields.get('grpc-status'), '3');
      assert.match(fields.get('grpc-message') ?? '', /content-type "text\/plain"/);
      // The request had ended with its HEADERS: no RST_STREAM follows the answer.
      client.unary(5, echo('next'));
      const next = await client.next();
      assert.deepEqual([next.type, next.stream], [T.headers, 5]);
    } finally {
      client.close();
    }
  });

  test('streams above SETTINGS_MAX_CONCURRENT_STREAMS are refused with REFUSED_STREAM', async () => {
    const slow = new MethodRegistry();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    slow.unary(echoMethod('Unary'), async (req: EchoMessage) => {
      await gate;
      return req;
    });
    const own = new ClientPortServer({ registry: slow, limits: { keepaliveIntervalMs: 0, concurrentStreamsMax: 2 } });
    const { port: ownPort } = await own.listen(0);
    const client = await RawClient.connect(ownPort);
    try {
      for (const id of [1, 3, 5]) client.unary(id, echo(`s${id}`));
      const refused = await client.next();
      assert.deepEqual([refused.type, refused.stream, refused.payload.readUInt32BE(0)], [T.rstStream, 5, H2ErrorCode.refusedStream]);
      release();
      const answered = new Set<number>();
      while (answered.size < 2) {
        const frame = await client.next();
        if (frame.type === T.headers && frame.flags & 1) answered.add(frame.stream);
      }
      assert.deepEqual([...answered].sort(), [1, 3]);
    } finally {
      client.close();
      await own.close(50);
    }
  });

  const violations: Array<[string, (c: RawClient) => Buffer, number]> = [
    ['DATA on stream 0', () => h2Frame(T.data, 0, 0, Buffer.from('x')), H2ErrorCode.protocolError],
    ['a frame larger than SETTINGS_MAX_FRAME_SIZE', () => h2Frame(T.data, 0, 1, Buffer.alloc(16_385)), H2ErrorCode.frameSizeError],
    ['an undecodable header block', () => h2Frame(T.headers, 0x4, 1, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f])), H2ErrorCode.compressionError],
    ['an even stream id', (c) => h2Frame(T.headers, 0x4, 2, c.requestBlock()), H2ErrorCode.protocolError],
    ['a PING of 7 bytes', () => h2Frame(T.ping, 0, 0, Buffer.alloc(7)), H2ErrorCode.frameSizeError],
    ['WINDOW_UPDATE of 0 on the connection', () => h2Frame(T.windowUpdate, 0, 0, Buffer.alloc(4)), H2ErrorCode.protocolError],
    ['a window grown above 2^31-1', () => h2Frame(T.windowUpdate, 0, 0, Buffer.from([0x7f, 0xff, 0xff, 0xff])), H2ErrorCode.flowControlError],
    ['CONTINUATION without HEADERS', (c) => h2Frame(T.continuation, 0x4, 1, c.requestBlock()), H2ErrorCode.protocolError],
    ['PUSH_PROMISE from the client', () => h2Frame(T.pushPromise, 0x4, 1, Buffer.alloc(4)), H2ErrorCode.protocolError],
  ];
  for (const [name, frame, code] of violations) {
    test(`${name}: GOAWAY with the RFC's error code, and the server keeps serving`, async () => {
      const bad = await RawClient.connect(port);
      try {
        // First a good call, so the connection is a gRPC one served by our framing.
        bad.unary(1, echo('before'));
        for (let i = 0; i < 3; i++) await bad.next();
        bad.socket.write(frame(bad));
        const goaway = await bad.next();
        assert.equal(goaway.type, T.goaway);
        assert.equal(goaway.payload.readUInt32BE(0), 1, 'last stream id processed');
        assert.equal(goaway.payload.readUInt32BE(4), code);
        await new Promise<void>((resolve) => (bad.ended ? resolve() : bad.socket.once('end', resolve)));
      } finally {
        bad.close();
      }
      const good = await RawClient.connect(port);
      try {
        good.unary(1, echo('after'));
        await good.next();
        assert.equal(decodeEcho((await good.next()).payload.subarray(5)).message, 'after');
      } finally {
        good.close();
      }
    });
  }
});

describe('H2Stream framing', () => {
  function owner(): StreamOwner & { queued: Buffer[] } {
    const queued: Buffer[] = [];
    return {
      queued,
      sendWindow: 65_535,
      peerFrameBytesMax: 16_384,
      congested: false,
      headerBlockPrefix: undefined,
      queue: (bytes) => queued.push(bytes),
      blocked: () => {},
      grantReceive: () => {},
      streamClosed: () => {},
    };
  }
  function framesOf(bytes: Buffer): Frame[] {
    const out: Frame[] = [];
    for (let o = 0; o < bytes.length; ) {
      const length = bytes.readUIntBE(o, 3);
      out.push({ type: bytes[o + 3]!, flags: bytes[o + 4]!, stream: bytes.readUInt32BE(o + 5), payload: bytes.subarray(o + 9, o + 9 + length) });
      o += 9 + length;
    }
    return out;
  }

  test('a unary answer within the windows is one buffer: HEADERS, DATA, HEADERS with END_STREAM', () => {
    const o = owner();
    const stream = new H2Stream(7, o, 65_535, 65_535);
    stream.onPeerEnd();
    stream.respondUnary(undefined, Buffer.alloc(300, 1), { 'grpc-status': '0' });
    assert.equal(o.queued.length, 1, 'one write');
    const frames = framesOf(o.queued[0]!);
    assert.deepEqual(
      frames.map((f) => [f.type, f.flags, f.stream, f.type === T.data ? f.payload.length : -1]),
      [
        [T.headers, 0x4, 7, -1],
        [T.data, 0, 7, 300],
        [T.headers, 0x5, 7, -1],
      ],
    );
    const table = new HpackDynamicTable();
    assert.deepEqual(decodeHeaderBlock(frames[2]!.payload, table), [['grpc-status', '0']]);
    assert.equal(stream.closed, true, 'both sides ended');
    assert.equal(o.sendWindow, 65_535 - 300);
  });

  test('a large answer is queued as frame headers and views of the encoded message, not copied', () => {
    const o = owner();
    const stream = new H2Stream(3, o, 1_000_000, 1_000_000);
    stream.onPeerEnd();
    const message = Buffer.alloc(40_000);
    for (let i = 0; i < message.length; i++) message[i] = i % 251;
    stream.respondUnary(undefined, message, { 'grpc-status': '0' });
    const frames = framesOf(Buffer.concat(o.queued));
    const data = frames.filter((f) => f.type === T.data);
    assert.deepEqual(data.map((f) => f.payload.length), [16_384, 16_384, 7_232]);
    assert.equal(Buffer.compare(Buffer.concat(data.map((f) => f.payload)), message), 0);
    const views = o.queued.filter((q) => q.buffer === message.buffer);
    assert.equal(views.length, 3, 'each DATA payload is a view of the message');
    assert.deepEqual(frames.map((f) => f.type), [T.headers, T.data, T.data, T.data, T.headers]);
  });

  test('user trailers and headers are encoded; a non-OK status after messages goes in the trailers', () => {
    const o = owner();
    const stream = new H2Stream(1, o, 65_535, 65_535);
    stream.respondUnary({ 'x-extra': 'h' }, Buffer.alloc(5), { 'grpc-status': '0', 'x-trailer': 't' });
    const frames = framesOf(Buffer.concat(o.queued));
    const table = new HpackDynamicTable();
    assert.deepEqual(new Map(decodeHeaderBlock(frames[0]!.payload, table)).get('x-extra'), 'h');
    assert.deepEqual(decodeHeaderBlock(frames[2]!.payload, table), [
      ['grpc-status', '0'],
      ['x-trailer', 't'],
    ]);
  });

  test('encodeHeaderFields refuses upper-case names and CR/LF in values', () => {
    assert.throws(() => encodeHeaderFields([['X-Upper', 'v']]), /lowercase token/);
    assert.throws(() => encodeHeaderFields([['x-ok', 'a\r\nb']]), /forbidden character/);
    assert.deepEqual(decodeHeaderBlock(encodeHeaderFields([[':status', '200'], ['content-type', 'application/grpc'], ['x-new', 'v']]), new HpackDynamicTable()), [
      [':status', '200'],
      ['content-type', 'application/grpc'],
      ['x-new', 'v'],
    ]);
  });
});
