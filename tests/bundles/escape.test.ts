// A bundle cannot make the app fetch or read from outside its own folder (issue 23 item 6): every unsafe path form
// is refused by the manifest check and by bundleFileUrl (written plainly, percent-encoded, double-encoded), good nested
// paths pass; a manifest naming another host is refused before any request reaches that host; and a host that
// redirects a file out of the bundle's folder (another origin, or another folder of the same origin) is refused with
// BUNDLE_REDIRECT_REFUSED — even when the other place serves the right bytes — while a redirect inside the folder is
// followed. The servers are real (node:http on loopback), the fetch is Node's own.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, cpSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freshDatabase } from '../storage/helpers';
import { buildBundles } from '../../scripts/models/bundle';
import { serveBundle, type RunningServer } from '../../scripts/serve-bundle';
import { bundleFileUrl, checkManifest, isSafeBundlePath, isWithinBundle, type BundleManifest } from '../../src/shared/bundle';
import { AppError } from '../../src/shared/errors';
import { Installer, type DeviceChoice } from '../../src/engine/bundles/installer';
import { MemoryStore } from '../../src/engine/bundles/store';
import { httpReader } from '../../src/engine/bundle-reader';
import { fsReader } from '../../src/engine/node-reader';

const BASE = 'https://models.example/bundles/demo/';

/** Every form the issue names, each of which would resolve outside BASE (or could, on a server that decodes). */
const BAD: Record<string, string> = {
  'dot-dot segment': '../x.onnx',
  'nested dot-dot': 'unet/../../x.onnx',
  'dot segment': './unet/model.onnx',
  'percent-encoded dot-dot': '%2e%2e/x.onnx',
  'mixed-case encoded dot-dot': '%2E%2e/secret',
  'half-encoded dot-dot': '.%2e/x.onnx',
  'double-encoded dot-dot': '%252e%252e/x.onnx',
  'encoded slash making a dot-dot segment': 'unet%2f..%2f..%2fx',
  'scheme without slashes': 'http:other.host/x',
  'https scheme': 'https://other.host/x.onnx',
  'data URL': 'data:application/octet-stream;base64,AAAA',
  'blob URL': 'blob:https://models.example/1234',
  'javascript URL': 'javascript:alert(1)',
  'encoded scheme colon': 'http%3Aother.host/x',
  'leading slash': '/etc/passwd',
  'protocol-relative': '//other.host/x.onnx',
  'encoded leading slash': '%2fetc/passwd',
  'leading backslash': '\\other.host\\x',
  'backslash inside': 'unet\\..\\..\\x',
  'encoded backslash': 'unet%5c..%5cx',
  'empty segment': 'unet//model.onnx',
  'trailing slash (empty last segment)': 'unet/',
  'tab inside a dot-dot': '.\t./x.onnx',
  'newline': 'unet/model.onnx\n',
  'NUL': 'unet/model\u0000.onnx',
  'encoded NUL': 'unet/model%00.onnx',
  'leading space before a slash': ' /x.onnx',
  'query': 'unet/model.onnx?x=1',
  'fragment': 'unet/model.onnx#x',
  'encoded query': 'unet/model.onnx%3Fx=1',
  'malformed escape': 'unet/model%zz.onnx',
  'empty string': '',
};

const GOOD = ['manifest.json', 'unet/model.onnx', 'unet/model.onnx_data', 'a/b/c/d/e.bin', 'tokenizer/vocab.json', 'psa/embedding_template.txt', 'unet/model.int8.onnx', 'weights..bin', '.well-known-ish/x', 'my model/v1.0/file name.onnx'];

describe('bundle paths', () => {
  for (const [what, p] of Object.entries(BAD)) {
    it(`refuses ${what}: ${JSON.stringify(p)}`, () => {
      expect(isSafeBundlePath(p)).toBe(false);
      expect(() => bundleFileUrl(BASE, p)).toThrow(AppError);
      try {
        bundleFileUrl(BASE, p);
      } catch (e) {
        expect((e as AppError).code).toBe('BUNDLE_INVALID');
      }
    });
  }

  it('accepts relative nested paths, and their URLs lie under the base', () => {
    for (const p of GOOD) {
      expect(isSafeBundlePath(p), p).toBe(true);
      const url = bundleFileUrl(BASE, p);
      expect(url.startsWith(BASE), url).toBe(true);
      expect(isWithinBundle(url, BASE)).toBe(true);
    }
    // A base given without its trailing slash is the same folder (not its parent).
    expect(bundleFileUrl('https://models.example/bundles/demo', 'unet/model.onnx')).toBe(`${BASE}unet/model.onnx`);
  });

  it('isWithinBundle compares scheme, host, port and folder', () => {
    expect(isWithinBundle('https://models.example/bundles/demo/unet/model.onnx', BASE)).toBe(true);
    expect(isWithinBundle('http://models.example/bundles/demo/unet/model.onnx', BASE)).toBe(false);
    expect(isWithinBundle('https://models.example:8443/bundles/demo/unet/model.onnx', BASE)).toBe(false);
    expect(isWithinBundle('https://cdn.example/bundles/demo/unet/model.onnx', BASE)).toBe(false);
    expect(isWithinBundle('https://models.example/bundles/demo-evil/x', BASE)).toBe(false);
    expect(isWithinBundle('https://models.example/bundles/other/x', BASE)).toBe(false);
    expect(isWithinBundle('not a url', BASE)).toBe(false);
  });

  it('the manifest check names a file path that leaves the bundle, in files, variants, external data and tokenizer', () => {
    const m = {
      format: 'psa-web-bundle', formatVersion: 1, id: 'x', version: '1', name: 'x', license: 'MIT',
      image: { width: 64, height: 64 }, tokenizer: { path: 'http:other.host/tok' },
      components: {
        text_encoder: { variants: { fp32: { path: '%2e%2e/te.onnx' } } },
        unet: { variants: { fp32: { path: 'unet/model.onnx', externalData: [{ path: 'data:,x' }] } } },
        vae_decoder: { variants: { fp32: { path: 'vae/model.onnx' } } },
      },
    };
    const problems = checkManifest(m).join('\n');
    expect(problems).toMatch(/text_encoder\.variants\.fp32\.path must be a relative path inside the bundle \(got "%2e%2e\/te\.onnx"\)/);
    expect(problems).toMatch(/unet\.variants\.fp32\.externalData\[0\]\.path must be a relative path inside the bundle \(got "data:,x"\)/);
    expect(problems).toMatch(/manifest\.tokenizer\.path must be a relative path/);
    expect(problems).not.toMatch(/vae_decoder/);
  });

  it('the disk reader refuses a path out of its folder instead of reading it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'psa-escape-fs-'));
    try {
      writeFileSync(join(dir, 'inside.txt'), 'ok');
      const r = fsReader(join(dir));
      expect(new TextDecoder().decode(await r.bytes('inside.txt'))).toBe('ok');
      await expect(r.bytes('../inside.txt')).rejects.toMatchObject({ code: 'BUNDLE_INVALID' });
      await expect(r.exists('%2e%2e/etc/passwd')).rejects.toMatchObject({ code: 'BUNDLE_INVALID' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---- against real servers ------------------------------------------------------------------------------------

let root: string;
let demoDir: string;
let manifest: BundleManifest;
const cpu: DeviceChoice = { order: ['fp32', 'int8', 'fp16', 'q4'], features: new Set() };
const noSleep = async () => undefined;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'psa-escape-'));
  buildBundles({ outDir: root, bundles: ['demo'] });
  demoDir = join(root, 'demo');
  manifest = JSON.parse(readFileSync(join(demoDir, 'manifest.json'), 'utf8'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeEach(freshDatabase);

interface Front {
  url: string;
  /** Paths asked for, in order ("GET /bundle/unet/model.onnx"). */
  log: string[];
  close(): Promise<void>;
}

/**
 * The bundle's host: serves `dir` under /bundle/ (whole files; HEAD too), and answers 302 with the Location that
 * `redirect` gives for a path (relative to the bundle) — to another origin or to another folder of its own, which it
 * also serves (/elsewhere/ = the same files).
 */
async function front(dir: string, redirect: (path: string, self: string) => string | undefined): Promise<Front> {
  const log: string[] = [];
  let self = '';
  const server: Server = createServer((req, res) => {
    const p = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    log.push(`${req.method} ${p}`);
    const m = /^\/(bundle|elsewhere)\/(.+)$/.exec(p);
    if (!m) return void res.writeHead(404).end();
    const to = m[1] === 'bundle' ? redirect(m[2], self) : undefined;
    if (to) return void res.writeHead(302, { Location: to }).end();
    const file = join(dir, ...m[2].split('/'));
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      return void res.writeHead(404).end();
    }
    const type = file.endsWith('.json') ? 'application/json' : 'application/octet-stream';
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': String(size) });
    res.end(req.method === 'HEAD' ? undefined : readFileSync(file));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  self = `http://127.0.0.1:${port}`;
  return {
    url: `${self}/bundle/`,
    log,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Node's fetch keeps connections alive; without this, close waits for them to time out.
      server.closeAllConnections();
    }),
  };
}

async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    return e as AppError;
  }
  throw new Error('expected a rejection');
}

describe('downloads stay where the bundle is', () => {
  it('a manifest naming a file on another host is refused at planning; that host gets no request', async () => {
    const other = await serveBundle({ dir: demoDir });
    const dir = join(root, 'other-host-manifest');
    cpSync(demoDir, dir, { recursive: true });
    const m = JSON.parse(JSON.stringify(manifest)) as BundleManifest;
    const evil = `http:127.0.0.1:${other.port}/unet/model.onnx`;
    m.components.unet.variants.fp32!.path = evil;
    m.files.find((f) => f.path === 'unet/model.onnx')!.path = evil;
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
    const host = await serveBundle({ dir });
    try {
      const err = await rejection(new Installer({ store: new MemoryStore(), sleep: noSleep }).plan(host.url, cpu));
      expect(err.code).toBe('BUNDLE_INVALID');
      expect(err.message).toContain(`got ${JSON.stringify(evil)}`);
      expect(other.log).toHaveLength(0);
    } finally {
      await host.close();
      await other.close();
    }
  });

  it('a file redirected to another origin is refused — even though that origin serves the right bytes — and not stored', async () => {
    const other: RunningServer = await serveBundle({ dir: demoDir });
    const host = await front(demoDir, (p) => (p === 'unet/model.onnx' ? `${other.url}unet/model.onnx` : undefined));
    try {
      const store = new MemoryStore();
      const inst = new Installer({ store, sleep: noSleep });
      const state = await inst.plan(host.url, cpu);
      const err = await rejection(inst.run(state, () => undefined, new AbortController().signal));
      expect(err).toBeInstanceOf(AppError);
      expect(err.code).toBe('BUNDLE_REDIRECT_REFUSED');
      expect(err.message).toContain(`unet/model.onnx: the host at ${host.url} redirected it to ${other.url}unet/model.onnx`);
      // Refused once, not retried as a network failure.
      expect(host.log.filter((l) => l === 'GET /bundle/unet/model.onnx')).toHaveLength(1);
      const unet = state.files.find((f) => f.path === 'unet/model.onnx')!;
      expect(unet.done).toBe(false);
      expect(store.files.get(`${state.key}/unet/model.onnx`)?.length ?? 0).toBe(0);
      expect(store.files.has(`${state.key}/manifest.json`)).toBe(false);
      expect(state.status).toBe('error');
      expect(state.error?.code).toBe('BUNDLE_REDIRECT_REFUSED');
    } finally {
      await host.close();
      await other.close();
    }
  });

  it('a redirect to another folder of the same host is refused too; the plan\'s own manifest.json likewise', async () => {
    const sideways = await front(demoDir, (p, self) => (p === 'tokenizer/tokenizer.json' ? `${self}/elsewhere/${p}` : undefined));
    const away = await front(demoDir, (p, self) => (p === 'manifest.json' ? `${self}/elsewhere/manifest.json` : undefined));
    try {
      const inst = new Installer({ store: new MemoryStore(), sleep: noSleep });
      const state = await inst.plan(sideways.url, cpu);
      const err = await rejection(inst.run(state, () => undefined, new AbortController().signal));
      expect(err.code).toBe('BUNDLE_REDIRECT_REFUSED');
      expect(err.message).toMatch(/^tokenizer\/tokenizer\.json: .* redirected it to http:\/\/127\.0\.0\.1:\d+\/elsewhere\/tokenizer\/tokenizer\.json/);
      const planErr = await rejection(new Installer({ store: new MemoryStore(), sleep: noSleep }).plan(away.url, cpu));
      expect(planErr.code).toBe('BUNDLE_REDIRECT_REFUSED');
    } finally {
      await sideways.close();
      await away.close();
    }
  });

  it('a redirect inside the bundle\'s folder is followed and the install completes', async () => {
    const dir = join(root, 'moved-inside');
    cpSync(demoDir, dir, { recursive: true });
    cpSync(join(dir, 'unet', 'model.onnx'), join(dir, 'unet', 'moved', 'model.onnx'), { recursive: true });
    const host = await front(dir, (p, self) => (p === 'unet/model.onnx' ? `${self}/bundle/unet/moved/model.onnx` : undefined));
    try {
      const inst = new Installer({ store: new MemoryStore(), sleep: noSleep });
      const state = await inst.plan(host.url, cpu);
      const bundle = await inst.run(state, () => undefined, new AbortController().signal);
      expect(bundle.status).toBe('complete');
      expect(host.log).toContain('GET /bundle/unet/moved/model.onnx');
    } finally {
      await host.close();
    }
  });

  it('the engine\'s HTTP reader refuses a file redirected to another origin', async () => {
    const other = await serveBundle({ dir: demoDir });
    const host = await front(demoDir, (p) => (p === 'unet/model.onnx' ? `${other.url}unet/model.onnx` : undefined));
    try {
      const r = httpReader(host.url);
      expect(await r.exists('manifest.json')).toBe(true);
      expect((await r.bytes('manifest.json')).length).toBeGreaterThan(0);
      await expect(r.bytes('unet/model.onnx')).rejects.toMatchObject({ code: 'BUNDLE_REDIRECT_REFUSED' });
      await expect(r.exists('unet/model.onnx')).rejects.toMatchObject({ code: 'BUNDLE_REDIRECT_REFUSED' });
      await expect(r.bytes('../manifest.json')).rejects.toMatchObject({ code: 'BUNDLE_INVALID' });
    } finally {
      await host.close();
      await other.close();
    }
  });
});
