/**
 * profile-areas: the areas of the code a profile's frames are counted under, shared by the CPU
 * and the allocation profile summaries.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface CallFrame { functionName: string; url: string; lineNumber: number }

/** AREAS map a script URL (or a V8 pseudo-frame's name) to an area of the code, first match wins. */
const AREAS: readonly (readonly [RegExp, string])[] = [
  [/^\(garbage collector\)$/, 'GC'],
  [/^\(idle\)$/, 'idle'],
  [/^\(program\)$/, 'V8/native (program)'],
  [/node:internal\/http2|node:http2/, 'node http2'],
  [/node:internal\/(stream_base_commons|streams)|node:stream/, 'node streams'],
  [/node:internal\/(fs|url)|node:fs/, 'node fs'],
  [/node:net|node:internal\/net/, 'node net'],
  [/node:internal\/(timers|process\/task_queues|async_hooks)|node:timers/, 'node timers/microtasks'],
  [/node:(internal\/)?(events|buffer)/, 'node events/buffer'],
  [/^node:/, 'node other'],
  [/\/src\/api\/grpc\//, 'src/api/grpc (serving)'],
  [/\/src\/api\/codec\/|@bufbuild\/protobuf/, 'protobuf codecs'],
  [/\/src\/api\/(etcd|http)\//, 'src/api/etcd (services)'],
  [/\/src\/raft\//, 'src/raft'],
  [/\/src\/storage\//, 'src/storage (WAL)'],
  [/\/src\/transport\//, 'src/transport'],
  [/\/src\/kv\//, 'src/kv (MVCC)'],
  [/\/src\/server\//, 'src/server (host, apply)'],
  [/\/src\/lib\//, 'src/lib'],
  [/\/bench\//, 'bench (load generator)'],
  [/node_modules\/([^/]+)/, 'node_modules'],
  [/\/src\//, 'src other'],
];

/** areaOf names the area of one frame. */
export function areaOf(frame: CallFrame): string {
  const subject = frame.url === '' ? frame.functionName : frame.url;
  for (const [pattern, area] of AREAS) if (pattern.test(subject)) return area;
  return frame.url === '' ? `native: ${frame.functionName || '(anonymous)'}` : 'other';
}

/** frameLabel names a frame as `function file:line`, the file relative to the repository. */
export function frameLabel(frame: CallFrame): string {
  const where = frame.url === '' ? '' : ` ${frame.url.replace(/^file:\/\/.*?\/(dist\/)?/, '')}:${frame.lineNumber + 1}`;
  return `${frame.functionName || '(anonymous)'}${where}`;
}

/** profileFiles lists `target` itself, or the files of directory `target` ending in `extension`, sorted. */
export function profileFiles(target: string, extension: string): string[] {
  return fs.statSync(target).isDirectory()
    ? fs.readdirSync(target).filter((f) => f.endsWith(extension)).sort().map((f) => path.join(target, f))
    : [target];
}
