// scripts/serve-bundle.ts: Range semantics (206/416/If-Range), HEAD, the CORS/CORP headers an isolated page
// needs, the once-only cut and flip, hold-after-cut, the request log, path safety, loopback only, throttling, and
// the origin rule (only the app origins it is told may read it; the log for loopback clients only).
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ORIGINS, ifRangeMatches, isLoopbackAddress, parseRange, serveBundle, etagOf, type RunningServer, type ServeOptions } from '../../scripts/serve-bundle';
import { withServer as serveAround } from '../helpers/serve';

let dir: string;
const SIZE = 300_000;
const data = Buffer.alloc(SIZE);
for (let i = 0; i < SIZE; i++) data[i] = (i * 7 + (i >> 8)) & 0xff;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'psa-serve-'));
  writeFileSync(join(dir, 'model.onnx'), data);
  writeFileSync(join(dir, '.secret'), 'no');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A server on the test folder, with `opts` on top. */
const withServer = <T>(opts: Partial<ServeOptions>, fn: (s: RunningServer) => Promise<T>): Promise<T> => serveAround({ dir, ...opts }, fn);

describe('parseRange', () => {
  it('reads the three single-range forms and clamps the end', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=50-1000', 100)).toEqual({ start: 50, end: 99 });
    expect(parseRange('bytes=-1000', 100)).toEqual({ start: 0, end: 99 });
  });
  it('416 past the end; multi-range, inverted or foreign units are served whole', () => {
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=-0', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-1,5-6', 100)).toBeUndefined();
    expect(parseRange('bytes=9-3', 100)).toBeUndefined();
    expect(parseRange('items=0-3', 100)).toBeUndefined();
    expect(parseRange(undefined, 100)).toBeUndefined();
  });
  it('If-Range: the ETag or a date not older than the file keeps the range; anything else does not', () => {
    const st = statSync(join(dir, 'model.onnx'));
    expect(ifRangeMatches(etagOf(st), st)).toBe(true);
    expect(ifRangeMatches('"other"', st)).toBe(false);
    expect(ifRangeMatches(new Date(st.mtimeMs + 5000).toUTCString(), st)).toBe(true);
    expect(ifRangeMatches(new Date(st.mtimeMs - 60_000).toUTCString(), st)).toBe(false);
  });
});

describe('server', () => {
  it('GET whole, GET range (206 + Content-Range), HEAD, 416, with CORS + CORP headers', () =>
    withServer({}, async (s) => {
      const whole = await fetch(`${s.url}model.onnx`, { headers: { Origin: DEFAULT_ORIGINS[0] } });
      expect(whole.status).toBe(200);
      expect(Buffer.from(await whole.arrayBuffer()).equals(data)).toBe(true);
      expect(whole.headers.get('access-control-allow-origin')).toBe(DEFAULT_ORIGINS[0]);
      expect(whole.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
      expect(whole.headers.get('accept-ranges')).toBe('bytes');
      expect(whole.headers.get('access-control-expose-headers')).toMatch(/Content-Range/);
      const etag = whole.headers.get('etag')!;

      const part = await fetch(`${s.url}model.onnx`, { headers: { Range: 'bytes=1000-', 'If-Range': etag } });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe(`bytes 1000-${SIZE - 1}/${SIZE}`);
      expect(Buffer.from(await part.arrayBuffer()).equals(data.subarray(1000))).toBe(true);

      const stale = await fetch(`${s.url}model.onnx`, { headers: { Range: 'bytes=1000-', 'If-Range': '"stale"' } });
      expect(stale.status).toBe(200);
      expect((await stale.arrayBuffer()).byteLength).toBe(SIZE);

      const head = await fetch(`${s.url}model.onnx`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe(String(SIZE));

      expect((await fetch(`${s.url}model.onnx`, { headers: { Range: `bytes=${SIZE}-` } })).status).toBe(416);
      const pre = await fetch(`${s.url}model.onnx`, { method: 'OPTIONS', headers: { Origin: DEFAULT_ORIGINS[0] } });
      expect(pre.status).toBe(204);
      expect(pre.headers.get('access-control-allow-headers')).toMatch(/If-Range/);

      const log = (await (await fetch(`${s.url}__log`)).json()) as { status: number; range?: string }[];
      expect(log.map((e) => e.status)).toEqual([200, 206, 200, 200, 416]);
      expect(log[1].range).toBe('bytes=1000-');
    }));

  it('serves nothing outside the folder, no dotfiles, 404 for missing files', () =>
    withServer({}, async (s) => {
      expect((await fetch(`${s.url}.secret`)).status).toBe(404);
      expect((await fetch(`${s.url}%2e%2e/%2e%2e/etc/passwd`)).status).toBe(404);
      expect((await fetch(`${s.url}nope.onnx`)).status).toBe(404);
    }));

  it('--cut-after cuts one connection mid-body once; --hold-after-cut answers 503 until /__release', () =>
    withServer({ cutAfter: 100_000, holdAfterCut: true }, async (s) => {
      const res = await fetch(`${s.url}model.onnx`);
      expect(res.status).toBe(200);
      await expect(res.arrayBuffer()).rejects.toThrow();
      expect((await fetch(`${s.url}model.onnx`)).status).toBe(503);
      await fetch(`${s.url}__release`);
      const rest = await fetch(`${s.url}model.onnx`, { headers: { Range: 'bytes=100000-' } });
      expect(rest.status).toBe(206);
      expect(Buffer.from(await rest.arrayBuffer()).equals(data.subarray(100_000))).toBe(true);
      expect(s.log[0]).toMatchObject({ status: 200, cut: true, sent: 100_000 });
    }));

  it('--flip corrupts one byte of one response only', () =>
    withServer({ flip: { path: 'model.onnx', offset: 12_345 } }, async (s) => {
      const a = Buffer.from(await (await fetch(`${s.url}model.onnx`)).arrayBuffer());
      expect(a[12_345]).toBe(data[12_345] ^ 0xff);
      a[12_345] ^= 0xff;
      expect(a.equals(data)).toBe(true);
      const b = Buffer.from(await (await fetch(`${s.url}model.onnx`)).arrayBuffer());
      expect(b.equals(data)).toBe(true);
      expect(s.log.map((e) => !!e.flipped)).toEqual([true, false]);
    }));

  it('--throttle paces the body', () =>
    withServer({ throttle: 1_000_000 }, async (s) => {
      const t0 = Date.now();
      await (await fetch(`${s.url}model.onnx`)).arrayBuffer();
      // 300 kB at 1 MB/s cannot take less than ~0.3 s (an upper bound would depend on the machine).
      expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    }));

  it('answers only the origins it is told: CORS for those, 403 for any other, plain files without an Origin', () =>
    withServer({ origins: ['http://127.0.0.1:4293'] }, async (s) => {
      const allowed = await get(`${s.url}model.onnx`, { Origin: 'http://127.0.0.1:4293', Range: 'bytes=0-9' });
      expect(allowed.status).toBe(206);
      expect(allowed.headers['access-control-allow-origin']).toBe('http://127.0.0.1:4293');
      expect(allowed.headers['access-control-expose-headers']).toMatch(/Content-Range/);
      expect(allowed.headers.vary).toBe('Origin');

      for (const other of ['http://evil.example', 'http://127.0.0.1:5173', 'null']) {
        const refused = await get(`${s.url}model.onnx`, { Origin: other });
        expect(refused.status, other).toBe(403);
        expect(refused.headers['access-control-allow-origin'], other).toBeUndefined();
        expect(refused.body).toMatch(/--origin/);
      }
      const preflight = await get(`${s.url}model.onnx`, { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'GET' }, 'OPTIONS');
      expect(preflight.status).toBe(403);
      const okPreflight = await get(`${s.url}model.onnx`, { Origin: 'http://127.0.0.1:4293', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'range' }, 'OPTIONS');
      expect(okPreflight.status).toBe(204);
      expect(okPreflight.headers['access-control-allow-headers']).toMatch(/Range/);

      const plain = await get(`${s.url}model.onnx`, { Range: 'bytes=0-9' });
      expect(plain.status).toBe(206);
      expect(plain.headers['access-control-allow-origin']).toBeUndefined();
      // The log is read by loopback clients (this test): allowed.
      expect((await get(`${s.url}__log`, {})).status).toBe(200);
      expect((await get(`${s.url}__log`, { Origin: 'http://evil.example' })).status).toBe(403);
    }));

  it('without --origin, the app on this machine (dev and preview ports) may read it', () =>
    withServer({}, async (s) => {
      for (const o of DEFAULT_ORIGINS) expect((await get(`${s.url}model.onnx`, { Origin: o, Range: 'bytes=0-0' })).status).toBe(206);
      expect((await get(`${s.url}model.onnx`, { Origin: 'https://example.org' })).status).toBe(403);
    }));

  it('tells loopback client addresses from others', () => {
    for (const a of ['127.0.0.1', '127.5.0.1', '::1', '::ffff:127.0.0.1']) expect(isLoopbackAddress(a), a).toBe(true);
    for (const a of ['10.0.0.1', '::ffff:192.168.1.2', '2001:db8::1', undefined, '']) expect(isLoopbackAddress(a), String(a)).toBe(false);
  });

  it('refuses a non-loopback host', async () => {
    await expect(serveBundle({ dir, host: '0.0.0.0' as '127.0.0.1' })).rejects.toThrow(/loopback only/);
  });

  it('the CLI prints its URL and serves', async () => {
    const child = spawn(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'scripts/serve-bundle.ts', dir, '--port', '0', '--origin', 'https://app.example.org'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (b: Buffer) => resolve(b.toString()));
        child.on('exit', (c) => reject(new Error(`exited ${c}`)));
      });
      const url = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(line)![1];
      expect((await fetch(`${url}model.onnx`, { headers: { Range: 'bytes=0-9' } })).status).toBe(206);
      const told = await get(`${url}model.onnx`, { Origin: 'https://app.example.org', Range: 'bytes=0-9' });
      expect(told.headers['access-control-allow-origin']).toBe('https://app.example.org');
      // --origin replaces the defaults.
      expect((await get(`${url}model.onnx`, { Origin: DEFAULT_ORIGINS[0] })).status).toBe(403);
    } finally {
      child.kill();
    }
  });
});

/** One request through node:http, which sends the Origin header as given (a browser-like client would refuse to). */
function get(url: string, headers: Record<string, string>, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
