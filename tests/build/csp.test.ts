// The Content-Security-Policy (src/shared/csp.ts): its directives, the origin check that keeps a host list from
// changing the policy, the connect-src extension the service worker applies for user-added hosts (and that
// public/sw.js's copy of it gives the same answers), and that vite.config.ts sends it on the dev and preview servers.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { describe, expect, it, vi } from 'vitest';
import { checkOrigin, contentSecurityPolicy, extendConnectSrc, parseOriginList } from '../../src/shared/csp';

const ROOT = path.resolve(import.meta.dirname, '../..');
interface ViteShape {
  preview: { headers: Record<string, string> };
  server: { headers: Record<string, string> };
  html?: { cspNonce: string };
}
const directives = (policy: string) => Object.fromEntries(policy.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));

describe('contentSecurityPolicy', () => {
  it('has the directives the app needs and nothing that admits inline or injected script', () => {
    const d = directives(contentSecurityPolicy());
    expect(d['default-src']).toEqual(["'self'"]);
    expect(d['script-src']).toEqual(["'self'", "'wasm-unsafe-eval'"]);
    expect(d['worker-src']).toEqual(["'self'", 'blob:']);
    expect(d['connect-src']).toEqual(["'self'"]);
    expect(d['img-src']).toEqual(["'self'", 'data:', 'blob:']);
    expect(d['style-src']).toEqual(["'self'"]);
    expect(d['object-src']).toEqual(["'none'"]);
    expect(d['frame-ancestors']).toEqual(["'none'"]);
    expect(contentSecurityPolicy()).not.toMatch(/'unsafe-inline'|'unsafe-eval'|\*/);
  });

  it('adds model hosts to connect-src only, once each, and a dev nonce to script-src and style-src', () => {
    const d = directives(contentSecurityPolicy({ connect: ['https://models.example.org', 'http://127.0.0.1:8787/', 'https://models.example.org'], devNonce: 'abc' }));
    expect(d['connect-src']).toEqual(["'self'", 'https://models.example.org', 'http://127.0.0.1:8787']);
    expect(d['script-src']).toEqual(["'self'", "'wasm-unsafe-eval'", "'nonce-abc'"]);
    expect(d['style-src']).toEqual(["'self'", "'nonce-abc'"]);
    expect(d['default-src']).toEqual(["'self'"]);
  });
});

describe('origins', () => {
  it('accepts http(s) origins, with or without a trailing slash', () => {
    expect(checkOrigin('https://a.example')).toBe('https://a.example');
    expect(checkOrigin('http://127.0.0.1:8787/')).toBe('http://127.0.0.1:8787');
    expect(parseOriginList(' https://a.example,http://b.example:81  https://c.example ')).toEqual(['https://a.example', 'http://b.example:81', 'https://c.example']);
    expect(parseOriginList(undefined)).toEqual([]);
    expect(parseOriginList('')).toEqual([]);
  });

  it('refuses anything that would change the policy or is not an origin', () => {
    for (const bad of ["'unsafe-inline'", 'https://a.example; script-src *', '*', 'https://a.example/models/', 'ftp://a.example', 'a.example', 'data:']) {
      expect(() => checkOrigin(bad), bad).toThrow(/not an origin/);
    }
    expect(() => parseOriginList('https://a.example *')).toThrow(/"\*"/);
  });
});

/** public/sw.js's own extendConnectSrc, run in a bare context (top-level functions become globals there). */
function swExtend(): (policy: string, origins: string[]) => string {
  const ctx = vm.createContext({ self: { location: { href: 'http://app.test/' }, addEventListener: () => undefined }, URL, Set, Headers: class {}, Response: class {} });
  vm.runInContext(readFileSync(path.join(ROOT, 'public/sw.js'), 'utf8'), ctx);
  return ctx.extendConnectSrc as (policy: string, origins: string[]) => string;
}

describe('extendConnectSrc (and its copy in public/sw.js)', () => {
  const cases: [string, string, string[], string][] = [
    ['the app policy', contentSecurityPolicy(), ['http://127.0.0.1:9000'], contentSecurityPolicy({ connect: ['http://127.0.0.1:9000'] })],
    ['hosts already listed stay once', contentSecurityPolicy({ connect: ['https://a.example'] }), ['https://a.example', 'https://b.example'], contentSecurityPolicy({ connect: ['https://a.example', 'https://b.example'] })],
    ['no hosts: unchanged', "default-src 'self'; connect-src 'self'", [], "default-src 'self'; connect-src 'self'"],
    ['no connect-src: copied from default-src', "default-src 'self' https://cdn.example; img-src *", ['https://a.example'], "default-src 'self' https://cdn.example; img-src *; connect-src 'self' https://cdn.example https://a.example"],
    ["connect-src 'none' is replaced", "default-src 'self'; connect-src 'none'", ['https://a.example'], "default-src 'self'; connect-src https://a.example"],
    ['no connect-src nor default-src: fetch is not restricted, left alone', "frame-ancestors 'none'", ['https://a.example'], "frame-ancestors 'none'"],
    ['two policies (two headers) each get the hosts', "connect-src 'self', default-src 'self'; frame-ancestors 'none'", ['https://a.example'], "connect-src 'self' https://a.example, default-src 'self'; frame-ancestors 'none'; connect-src 'self' https://a.example"],
    ['directive names in any case', "DEFAULT-SRC 'self'; Connect-Src 'self'", ['https://a.example'], "DEFAULT-SRC 'self'; connect-src 'self' https://a.example"],
  ];
  const sw = swExtend();
  for (const [name, policy, origins, want] of cases) {
    it(name, () => {
      expect(extendConnectSrc(policy, origins)).toBe(want);
      expect(sw(policy, origins)).toBe(want);
    });
  }

  it('the service worker reads the hosts from the cache the page writes them to', () => {
    const swText = readFileSync(path.join(ROOT, 'public/sw.js'), 'utf8');
    const pageText = readFileSync(path.join(ROOT, 'src/engine/bundles/connect-hosts.ts'), 'utf8');
    const name = /HOSTS_CACHE = '([^']+)'/;
    expect(name.exec(swText)?.[1]).toBe(name.exec(pageText)?.[1]);
    expect(swText).toContain("'__psa/connect-hosts'");
    expect(pageText).toContain('__psa/connect-hosts`');
  });
});

describe('vite.config.ts', () => {
  it('sends the policy (with PSA_CSP_CONNECT hosts) and the isolation headers from preview and dev', async () => {
    const before = process.env.PSA_CSP_CONNECT;
    process.env.PSA_CSP_CONNECT = 'https://models.example.org';
    try {
      // Read at the config's load: a fresh copy sees the variable set above.
      vi.resetModules();
      const { default: config } = (await import('../../vite.config')) as unknown as { default: (e: { command: string; mode: string }) => ViteShape };
      const c = config({ command: 'serve', mode: 'production' });
      const preview = c.preview.headers;
      expect(preview['Content-Security-Policy']).toBe(contentSecurityPolicy({ connect: ['https://models.example.org'] }));
      expect(preview['Cross-Origin-Embedder-Policy']).toBe('require-corp');
      const dev = directives(c.server.headers['Content-Security-Policy']);
      expect(dev['connect-src']).toEqual(["'self'", 'https://models.example.org', 'http://127.0.0.1:8787', 'http://localhost:8787']);
      expect(dev['script-src']).toEqual(["'self'", "'wasm-unsafe-eval'", `'nonce-${c.html?.cspNonce}'`]);
      expect(config({ command: 'build', mode: 'production' }).html).toBeUndefined();
    } finally {
      if (before === undefined) delete process.env.PSA_CSP_CONNECT;
      else process.env.PSA_CSP_CONNECT = before;
    }
  });
});
