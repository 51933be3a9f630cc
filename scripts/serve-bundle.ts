// A small Range-capable static file server for model bundles — for the browser tests (cut connections, throttling,
// a flipped byte, a request log) and for people hosting their own bundle on their machine.
//
//   npm run serve-bundle -- DIR [--port N] [--origin URL]... [--throttle BYTES/S] [--cut-after BYTES]
//                              [--hold-after-cut] [--flip PATH:OFFSET] [--log FILE]
//
// - GET and HEAD; `Range: bytes=a-b | a- | -n` (one range) → 206 with Content-Range; unsatisfiable → 416;
//   `If-Range` with the file's ETag (or its Last-Modified date) → the range, anything else → the whole file (200).
// - Headers a cross-origin-isolated page (COEP require-corp) needs to fetch from here: CORS (Range and If-Range
//   allowed, Content-Range/ETag/Content-Length exposed; OPTIONS preflight answered) and
//   `Cross-Origin-Resource-Policy: cross-origin`.
// - Only the app origins it is told may read it: `--origin URL` (repeatable; default the app's own loopback
//   addresses, DEFAULT_ORIGINS: `npm start` and `npm run preview` on their default ports). A request carrying
//   another Origin gets 403 and no CORS headers, so a web page elsewhere cannot read the files through the visitor's
//   browser; requests without an Origin (curl, the tests' Node side) are served.
// - `--throttle BYTES/S`: every response body is paced to about that rate (per response).
// - `--cut-after BYTES`: ONCE per server run — when the response bodies sent so far add up to BYTES, the connection
//   carrying the byte that crosses the mark is destroyed mid-body (the client sees a network error, not a short
//   200). Later requests are served whole. `--hold-after-cut`: after the cut, file requests get 503 until
//   `GET /__release` is asked (so a test can reload the page before the client's own retries succeed).
// - `--flip PATH:OFFSET`: ONCE, the byte at OFFSET of PATH (relative to DIR) is sent bit-flipped (a corrupt
//   transfer; the file on disk is untouched); later responses are correct.
// - Request log: one JSON object per request ({method, path, range, ifRange, status, start, end, sent, cut, flipped});
//   `GET /__log` answers the array so far (to loopback clients only), `--log FILE` appends JSON lines.
// - Loopback only: it binds 127.0.0.1 (or ::1 with --host ::1); any other host is refused. `--port 0` picks a
//   free port; the first line printed is `serving DIR at http://127.0.0.1:PORT/`.
// Only files under DIR are served (no listing, no '..', no dotfiles).

import { createReadStream, appendFileSync, statSync, type Stats } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import path from 'node:path';
import { parseCli, UsageError, wholeArg } from './lib/args';

export interface ServeOptions {
  dir: string;
  port?: number;
  host?: '127.0.0.1' | '::1' | 'localhost';
  throttle?: number;
  cutAfter?: number;
  holdAfterCut?: boolean;
  flip?: { path: string; offset: number };
  logFile?: string;
  /** App origins allowed to read the files (CORS); default DEFAULT_ORIGINS. */
  origins?: readonly string[];
}

/** The app on this machine: `npm start` (dev server) and `npm run preview`, each by IPv4 address and by name. */
export const DEFAULT_ORIGINS: readonly string[] = [
  'http://127.0.0.1:5173', 'http://localhost:5173', 'http://127.0.0.1:4173', 'http://localhost:4173',
];

/** Headers for a request from `origin`: CORS for an allowed one; undefined (→ 403) for another; {} with none. */
export function corsFor(origin: string | undefined, allowed: readonly string[]): Record<string, string> | undefined {
  if (origin === undefined) return {};
  if (!allowed.includes(origin)) return undefined;
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
    'Access-Control-Allow-Headers': 'Range, If-Range',
    'Access-Control-Expose-Headers': 'Content-Range, Content-Length, ETag, Accept-Ranges, Last-Modified',
    'Access-Control-Max-Age': '600',
    'Timing-Allow-Origin': origin,
  };
}

/** A client address on this machine (IPv4, IPv6, or IPv4 mapped into IPv6). */
export const isLoopbackAddress = (a: string | undefined): boolean => !!a && (a === '::1' || /^(::ffff:)?127\./.test(a));

export interface LogEntry {
  method: string;
  path: string;
  range?: string;
  ifRange?: string;
  status: number;
  start?: number;
  end?: number;
  /** Body bytes actually written. */
  sent: number;
  cut?: boolean;
  flipped?: boolean;
}

/**
 * Parses one `Range` header against a file size: `{start, end}` (inclusive), `'unsatisfiable'` (→ 416), or
 * `undefined` when the header is absent or not a single byte range (served as a whole file, as RFC 9110 allows).
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (!m[1] && !m[2])) return undefined;
  if (!m[1]) {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
  if (m[2] && Number(m[2]) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/** Strong ETag from size and modification time (a rewritten file gets a new one). */
export const etagOf = (st: Stats): string => `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;

/** Whether `If-Range` still names this file version (then the Range applies). */
export function ifRangeMatches(ifRange: string | undefined, st: Stats): boolean {
  if (!ifRange) return true;
  if (ifRange.startsWith('"') || ifRange.startsWith('W/')) return ifRange === etagOf(st);
  const t = Date.parse(ifRange);
  return Number.isFinite(t) && Math.floor(st.mtimeMs / 1000) <= Math.floor(t / 1000);
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export interface RunningServer {
  server: Server;
  url: string;
  port: number;
  log: LogEntry[];
  close(): Promise<void>;
}

export async function serveBundle(o: ServeOptions): Promise<RunningServer> {
  const host = o.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host)) throw new Error(`serve-bundle binds loopback only (127.0.0.1 or ::1), not ${host}`);
  const origins = (o.origins ?? DEFAULT_ORIGINS).map((u) => new URL(u).origin);
  const root = path.resolve(o.dir);
  if (!statSync(root).isDirectory()) throw new Error(`${root} is not a folder`);
  const log: LogEntry[] = [];
  let sentTotal = 0;
  let cutDone = false;
  let holding = false;
  let flipDone = false;

  // Entries join the log in arrival order (a fast second request must not be listed before a slow first one);
  // `record` completes an entry (status, bytes sent) and writes its line to --log.
  const record = (e: LogEntry) => {
    if (!log.includes(e)) log.push(e);
    if (o.logFile) appendFileSync(o.logFile, `${JSON.stringify(e)}\n`);
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // The answer depends on Origin: caches must not hand one origin's answer to another.
    res.setHeader('Vary', 'Origin');
    const cors = corsFor(req.headers.origin, origins);
    if (!cors) {
      res.writeHead(403, { 'Content-Type': 'text/plain' }).end(`origin ${req.headers.origin} is not allowed: start serve-bundle with --origin ${req.headers.origin}`);
      return;
    }
    for (const [k, v] of Object.entries(cors)) res.setHeader(k, v);
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    const urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (req.method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }
    // The request log names every path asked for: only for this machine (the server binds loopback, but a
    // forwarded port or proxy could still bring a request from elsewhere).
    if ((urlPath === '/__log' || urlPath === '/__release') && !isLoopbackAddress(req.socket.remoteAddress)) {
      res.writeHead(403, { 'Content-Type': 'text/plain' }).end('loopback clients only');
      return;
    }
    if (urlPath === '/__log') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(JSON.stringify(log));
      return;
    }
    if (urlPath === '/__release') {
      holding = false;
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-store' }).end('released');
      return;
    }
    const entry: LogEntry = { method: req.method ?? '?', path: urlPath, status: 0, sent: 0 };
    log.push(entry);
    const range = req.headers.range;
    const ifRange = req.headers['if-range'];
    if (range) entry.range = range;
    if (typeof ifRange === 'string') entry.ifRange = ifRange;
    const finish = (status: number, body?: string) => {
      entry.status = status;
      res.writeHead(status, { 'Content-Type': 'text/plain' }).end(body);
      record(entry);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return finish(405, 'only GET and HEAD');
    const rel = urlPath.replace(/^\/+/, '');
    const file = path.resolve(root, rel);
    if (!rel || rel.split('/').some((s) => s.startsWith('.')) || !file.startsWith(root + path.sep)) return finish(404, 'not found');
    let st: Stats;
    try {
      st = statSync(file);
    } catch {
      return finish(404, 'not found');
    }
    if (!st.isFile()) return finish(404, 'not found');
    if (holding) return finish(503, 'held after a cut: GET /__release to serve again');

    let r = parseRange(range, st.size);
    if (r !== undefined && !ifRangeMatches(typeof ifRange === 'string' ? ifRange : undefined, st)) r = undefined;
    const headers: Record<string, string | number> = {
      'Content-Type': /\.json$/.test(file) ? 'application/json' : /\.txt$/.test(file) ? 'text/plain; charset=utf-8' : 'application/octet-stream',
      'Accept-Ranges': 'bytes',
      ETag: etagOf(st),
      'Last-Modified': st.mtime.toUTCString(),
      'Cache-Control': 'no-cache',
    };
    if (r === 'unsatisfiable') {
      entry.status = 416;
      res.writeHead(416, { ...headers, 'Content-Range': `bytes */${st.size}` }).end();
      record(entry);
      return;
    }
    const start = r?.start ?? 0;
    const end = r?.end ?? st.size - 1;
    const length = st.size === 0 ? 0 : end - start + 1;
    entry.status = r ? 206 : 200;
    entry.start = start;
    entry.end = end;
    res.writeHead(entry.status, { ...headers, 'Content-Length': length, ...(r ? { 'Content-Range': `bytes ${start}-${end}/${st.size}` } : {}) });
    if (req.method === 'HEAD' || length === 0) {
      res.end();
      record(entry);
      return;
    }

    const flipAt = o.flip && !flipDone && o.flip.path === rel && o.flip.offset >= start && o.flip.offset <= end ? o.flip.offset - start : -1;
    const started = Date.now();
    const stream = createReadStream(file, { start, end, highWaterMark: o.throttle ? Math.max(1024, Math.min(65536, Math.floor(o.throttle / 20))) : 256 * 1024 });
    try {
      for await (const raw of stream) {
        let chunk = raw as Buffer;
        if (flipAt >= entry.sent && flipAt < entry.sent + chunk.length) {
          chunk = Buffer.from(chunk);
          chunk[flipAt - entry.sent] ^= 0xff;
          flipDone = true;
          entry.flipped = true;
        }
        if (o.cutAfter !== undefined && !cutDone && sentTotal + chunk.length >= o.cutAfter) {
          const part = chunk.subarray(0, Math.max(0, o.cutAfter - sentTotal));
          cutDone = true;
          holding = !!o.holdAfterCut;
          entry.cut = true;
          entry.sent += part.length;
          sentTotal += part.length;
          await new Promise<void>((done) => res.write(part, () => done()));
          res.destroy();
          stream.destroy();
          record(entry);
          return;
        }
        entry.sent += chunk.length;
        sentTotal += chunk.length;
        if (!res.write(chunk)) await once(res, 'drain');
        if (o.throttle) {
          const due = started + (entry.sent / o.throttle) * 1000;
          const wait = due - Date.now();
          if (wait > 0) await new Promise((t) => setTimeout(t, wait));
        }
        if (res.destroyed) break;
      }
      res.end();
    } catch {
      res.destroy();
    }
    record(entry);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  server.listen(o.port ?? 0, host);
  await once(server, 'listening');
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port ?? 0;
  const shown = host === '::1' ? '[::1]' : host;
  return {
    server,
    port,
    url: `http://${shown}:${port}/`,
    log,
    close: () => new Promise<void>((done) => {
      server.closeAllConnections();
      server.close(() => done());
    }),
  };
}

function parseServeArgs(argv: string[]): ServeOptions {
  const usage = 'usage: npm run serve-bundle -- DIR [--port N] [--host 127.0.0.1|::1] [--origin URL]... [--throttle BYTES/S] [--cut-after BYTES] [--hold-after-cut] [--flip PATH:OFFSET] [--log FILE]\n'
    + `  --origin: an app origin allowed to read the files (repeatable; default ${DEFAULT_ORIGINS.join(' ')})`;
  const fail = (message: string): never => {
    throw new UsageError(`${message}\n${usage}`);
  };
  const num = (flag: string, v: string | undefined): number | undefined => {
    try {
      return wholeArg(flag, v, 0);
    } catch (e) {
      return fail((e as Error).message);
    }
  };
  let parsed;
  try {
    parsed = parseCli(argv, {
      port: { type: 'string' }, host: { type: 'string' }, origin: { type: 'string', multiple: true }, throttle: { type: 'string' },
      'cut-after': { type: 'string' }, 'hold-after-cut': { type: 'boolean' }, flip: { type: 'string' }, log: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    }, { positionals: true });
  } catch (e) {
    return fail((e as Error).message);
  }
  const { values: v, positionals } = parsed;
  if (v.help) throw new UsageError(usage);
  const o: Partial<ServeOptions> = {};
  if (positionals.length > 1) fail(`one folder only (got ${positionals.join(' and ')})`);
  o.dir = positionals[0];
  if (v.port !== undefined) o.port = num('port', v.port);
  if (v.host !== undefined) o.host = v.host as ServeOptions['host'];
  for (const value of v.origin ?? []) {
    let origin: string | undefined;
    try {
      origin = new URL(value).origin;
    } catch {
      origin = undefined;
    }
    if (!origin || origin === 'null') fail(`--origin needs an origin such as https://app.example.org (got ${value})`);
    o.origins = [...(o.origins ?? []), origin!];
  }
  if (v.throttle !== undefined) o.throttle = num('throttle', v.throttle) || undefined;
  if (v['cut-after'] !== undefined) o.cutAfter = num('cut-after', v['cut-after']);
  if (v['hold-after-cut']) o.holdAfterCut = true;
  if (v.log !== undefined) o.logFile = v.log;
  if (v.flip !== undefined) {
    const m = /^(.+):(\d+)$/.exec(v.flip);
    if (!m) fail('--flip needs PATH:OFFSET');
    o.flip = { path: m![1], offset: Number(m![2]) };
  }
  if (!o.dir) throw new UsageError(usage);
  return o as ServeOptions;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  try {
    const opts = parseServeArgs(process.argv.slice(2));
    const s = await serveBundle({ port: 8787, ...opts });
    console.log(`serving ${path.resolve(opts.dir)} at ${s.url}`);
    console.log(`readable by ${(opts.origins ?? DEFAULT_ORIGINS).join(', ')} (--origin to change)`);
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
}
