// Vite config: React SPA + the engine's module worker. COOP/COEP on dev and preview so WASM threads
// (SharedArrayBuffer) work; ORT and transformers.js are excluded from pre-bundling so their wasm/mjs files are
// served as emitted assets (never from a CDN). Builds also write the offline shell list into dist/sw.js
// (scripts/build/sw-shell.ts). Both servers also send the app's Content-Security-Policy (src/shared/csp.ts): its
// connect-src names PSA_CSP_CONNECT's origins (fixed model hosts); the dev server, which has no service worker to add
// the hosts a user types, also allows serve-bundle's default port.
import { defineConfig, type Plugin } from 'vitest/config';
import react from '@vitejs/plugin-react';
import { createReadStream, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { swShell } from './scripts/build/sw-shell.js';
import { buildInputs } from './scripts/build/inputs.js';
import { contentSecurityPolicy, parseOriginList } from './src/shared/csp.js';

const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/** Model hosts every visitor may download from, besides those each user adds (README "Hosting"). */
const connect = parseOriginList(process.env.PSA_CSP_CONNECT);
/** `npm run serve-bundle`'s default address: the dev server has no service worker, so it is allowed up front. */
const SERVE_BUNDLE_DEFAULT = ['http://127.0.0.1:8787', 'http://localhost:8787'];
/**
 * Dev only: Vite writes this nonce on the inline scripts/styles it injects (React Refresh's preamble, CSS as
 * <style>). New per server start; builds never get one (a nonce in a static file would admit any inline script).
 */
const devNonce = randomBytes(16).toString('base64url');

/**
 * Test-only: with PSA_E2E_FIXTURES=1, serves the committed reference fixtures (fixtures/) at /__fixtures/ so the
 * browser tests load the diffusers parity bundle without copying it into public/ (never part of a build).
 */
function serveFixtures(): Plugin {
  const root = path.resolve(import.meta.dirname, 'fixtures');
  const handler = (req: { url?: string }, res: import('node:http').ServerResponse, next: () => void) => {
    const url = decodeURIComponent((req.url ?? '').split('?')[0]);
    if (!url.startsWith('/__fixtures/')) return next();
    const file = path.resolve(root, url.slice('/__fixtures/'.length));
    if (!file.startsWith(root + path.sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.statusCode = 404;
      return res.end('not found');
    }
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', statSync(file).size);
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    createReadStream(file).pipe(res);
  };
  return {
    name: 'psa-serve-fixtures',
    configureServer: (s) => void s.middlewares.use(handler),
    configurePreviewServer: (s) => void s.middlewares.use(handler),
  };
}

export default defineConfig(({ command }) => ({
  plugins: [react(), swShell(), ...(process.env.PSA_E2E_FIXTURES === '1' ? [serveFixtures()] : [])],
  server: { headers: { ...isolation, 'Content-Security-Policy': contentSecurityPolicy({ connect: [...connect, ...SERVE_BUNDLE_DEFAULT], devNonce }) } },
  preview: { headers: { ...isolation, 'Content-Security-Policy': contentSecurityPolicy({ connect }) } },
  ...(command === 'serve' ? { html: { cspNonce: devNonce } } : {}),
  worker: { format: 'es' },
  optimizeDeps: { exclude: ['onnxruntime-web', '@huggingface/transformers'] },
  build: { target: 'es2022', chunkSizeWarningLimit: 4096, rollupOptions: { input: buildInputs(process.env) } },
  test: {
    include: ['src/**/*.test.ts', 'tests/**/*.test.ts', 'scripts/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
}));
