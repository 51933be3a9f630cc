// The Content-Security-Policy in the browser (src/shared/csp.ts, sent by `vite preview`): the header is on the page
// and on every worker script; nothing is refused while the app starts, loads the demo model and makes an image; a
// bundle host the user types is reached through the service worker's connect-src extension (the same path for a
// person and for this test: no test-only allowlist); and where that extension cannot apply (service workers
// blocked), the download fails with an error that names the policy instead of a bare network error.
import path from 'node:path';
import { test, expect, type Page } from '@playwright/test';
import { contentSecurityPolicy } from '../src/shared/csp';
import { chooseNoProfile, ROOT, SLOW, generateImage, serveForApp, watchConsole } from './helpers';

const DEMO = path.join(ROOT, 'public', 'models', 'demo');
const POLICY = contentSecurityPolicy();

/** Collects securitypolicyviolation events of the page itself (workers report theirs on the console). */
async function watchViolations(page: Page): Promise<() => Promise<string[]>> {
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __cspViolations: string[] }).__cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.effectiveDirective} ${e.blockedURI}`));
  });
  return () => page.evaluate(() => (window as unknown as { __cspViolations?: string[] }).__cspViolations ?? []);
}

const ready = (page: Page) => expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });

test('the policy is sent on the page and on worker scripts; start, demo model and one image with nothing refused', async ({ page, request }) => {
  const problems = watchConsole(page);
  const violations = await watchViolations(page);
  const workers: string[] = [];
  page.on('worker', (w) => workers.push(w.url()));
  const doc = await page.goto('/');
  expect(doc?.headers()['content-security-policy']).toBe(POLICY);
  await chooseNoProfile(page);
  await ready(page);
  await generateImage(page, { steps: 2 });
  await expect(page.getByTestId('error')).toHaveCount(0);

  // The engine worker and the bundle download worker at least; ORT's thread workers where WASM threads run.
  expect(workers.length).toBeGreaterThanOrEqual(2);
  for (const url of new Set(workers)) {
    const res = await request.get(url);
    expect(res.status(), url).toBe(200);
    expect(res.headers()['content-security-policy'], url).toBe(POLICY);
    expect(res.headers()['cross-origin-embedder-policy'], url).toBe('require-corp');
  }
  expect(await violations()).toEqual([]);
  expect(problems.problems.filter((p) => /Content.Security.Policy|Refused to/i.test(p))).toEqual([]);
  expect(problems.problems).toEqual([]);
});

test('a host the user types is added to connect-src by the service worker: the download works, the page and workers then carry it', async ({ page }) => {
  const server = await serveForApp({ dir: DEMO });
  try {
    const problems = watchConsole(page);
    const violations = await watchViolations(page);
    await page.goto('/#settings'); // Models and engine: open (no lock), even before anyone is chosen
    await expect(page.getByTestId('bundle.panel')).toBeVisible();
    // Right after the first visit: the download worker was started before the service worker controlled the page,
    // so the client must wait for it and start a new worker that carries the host.
    await page.getByTestId('bundle.url').fill(server.url);
    await page.getByTestId('bundle.download').click();
    await expect(page.locator('[data-testid="bundle.item"]').first()).toHaveAttribute('data-status', 'complete', { timeout: SLOW });
    await ready(page);
    const origin = new URL(server.url).origin;
    expect(await page.evaluate(async () => (await (await caches.open('psa-connect-hosts')).match('/__psa/connect-hosts'))?.json())).toEqual([origin]);

    // A page served by the service worker now names the host; the server's own header does not.
    const reloaded = await page.reload();
    expect(reloaded?.fromServiceWorker()).toBe(true);
    expect(reloaded?.headers()['content-security-policy']).toBe(contentSecurityPolicy({ connect: [origin] }));
    await ready(page);
    expect(await violations()).toEqual([]);
    expect(problems.problems).toEqual([]);
  } finally {
    await server.close();
  }
});

test.describe('without a service worker', () => {
  test.use({ serviceWorkers: 'block' });

  test('a download from a host the policy does not name fails with an error naming the policy', async ({ page }) => {
    const server = await serveForApp({ dir: DEMO });
    try {
      const problems = watchConsole(page);
      await page.goto('/#settings'); // Models and engine: open (no lock), even before anyone is chosen
      await expect(page.getByTestId('bundle.panel')).toBeVisible();
      await page.getByTestId('bundle.url').fill(server.url);
      await page.getByTestId('bundle.download').click();
      const error = page.getByTestId('bundle.error');
      await expect(error).toHaveAttribute('data-code', 'BLOCKED_BY_POLICY', { timeout: SLOW });
      await expect(error).toContainText(new URL(server.url).origin);
      await expect(error).toContainText('Content-Security-Policy (connect-src)');
      // Nothing reached the host, and the refusal is on the console for whoever looks there.
      expect(server.log).toEqual([]);
      expect(problems.problems.some((p) => /Refused by the Content-Security-Policy \(connect-src\)/.test(p))).toBe(true);
    } finally {
      await server.close();
    }
  });
});
