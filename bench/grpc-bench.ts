/**
 * grpc-bench: unary echo through the serving layer, driven by the grpc-js client.
 *   node dist/bench/grpc-bench.js [--seconds 5] [--concurrency 64] [--payload 64]
 * The server runs in a child process, so its CPU per call (process.cpuUsage over the measured
 * window, divided by the calls in it) is the server's alone. Prints figures; asserts nothing.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { echoMethod, writeEchoProto, type EchoMessage } from '../src/api/grpc/echo-fixture.js';
import { ClientPortServer, MethodRegistry } from '../src/api/grpc/index.js';

const args = process.argv.slice(2);
function flag(name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(args[i + 1]);
}

async function serve(): Promise<void> {
  const registry = new MethodRegistry();
  registry.unary(echoMethod('Unary'), (req: EchoMessage) => req);
  const server = new ClientPortServer({ registry });
  const { port } = await server.listen(0);
  let mark = process.cpuUsage();
  process.on('message', (m: string) => {
    if (m === 'mark') {
      mark = process.cpuUsage();
      process.send!({ type: 'marked' });
    } else if (m === 'read') {
      const d = process.cpuUsage(mark);
      process.send!({ type: 'cpu', user: d.user, system: d.system });
    } else if (m === 'stop') {
      void server.close(100).then(() => process.exit(0));
    }
  });
  process.send!({ type: 'ready', port });
}

function ask(child: ReturnType<typeof fork>, message: string, type: string): Promise<any> {
  return new Promise((resolve) => {
    const on = (m: any): void => {
      if (m.type === type) {
        child.off('message', on);
        resolve(m);
      }
    };
    child.on('message', on);
    child.send(message);
  });
}

async function main(): Promise<void> {
  const seconds = flag('seconds', 5);
  const concurrency = flag('concurrency', 64);
  const payloadBytes = flag('payload', 64);
  const child = fork(fileURLToPath(import.meta.url), ['--serve'], { stdio: 'inherit' });
  const { port } = await new Promise<any>((resolve) => child.once('message', resolve));
  const def = protoLoader.loadSync(writeEchoProto(), { keepCase: true, defaults: true });
  const Echo = (grpc.loadPackageDefinition(def) as any).concord.test.Echo as typeof grpc.Client;
  const client = new Echo(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as any;
  const request = { message: 'bench', count: 1, payload: Buffer.alloc(payloadBytes, 1) };
  const call = (): Promise<void> =>
    new Promise((resolve, reject) => client.Unary(request, (e: Error | null) => (e ? reject(e) : resolve())));

  let calls = 0;
  let stopAt = 0;
  const worker = async (): Promise<void> => {
    while (Date.now() < stopAt) {
      await call();
      calls++;
    }
  };
  // Warm-up, then the measured window.
  stopAt = Date.now() + 1000;
  await Promise.all(Array.from({ length: concurrency }, worker));
  await ask(child, 'mark', 'marked');
  calls = 0;
  const started = process.hrtime.bigint();
  stopAt = Date.now() + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedS = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = await ask(child, 'read', 'cpu');
  const serverCpuUs = cpu.user + cpu.system;
  console.log(`grpc-bench: unary echo, ${concurrency} concurrent calls, ${payloadBytes} B payload, ${seconds} s`);
  console.log(`  calls/s                 ${(calls / elapsedS).toFixed(0)}`);
  console.log(`  server CPU µs per call  ${(serverCpuUs / calls).toFixed(1)} (user ${(cpu.user / calls).toFixed(1)}, system ${(cpu.system / calls).toFixed(1)})`);
  client.close();
  child.send('stop');
}

if (process.argv.includes('--serve')) void serve();
else void main();
