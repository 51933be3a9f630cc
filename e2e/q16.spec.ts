// Q16 in the app (issue 26 item 3): a child (every category banned) asks for a picture; the request carries Q16 at
// its own rule (P(inappropriate) > 0.5) and no live previews. The demo's tiny Q16 prompts do not flag the demo's
// abstract images, so — as guard.spec.ts does for the checker — the page-side test hook (window.__forceQ16, set after
// the app's own request is recorded) lowers the request's Q16 threshold to 0 (every probability is > 0: the logits
// are 100·cosines, so their gap is at most 200) and the checker's adjustment to −1 (it cannot flag), so Q16 alone
// flags, through the real worker: the tiny CLIP tower, the exposed image embedding, Q16's arithmetic, the blur.
// Every message the engine worker posts is recorded (a listener registered before the app's). Then the same request
// is sent to the same worker without the image stage: that unblurred picture never crossed for the app's request,
// what crossed is exactly its blur, and the canvas the child sees holds the crossed (blurred) bytes. The explanation
// is in child words (no number, no category) and the parent log says stage Q16, Blurred.
import { test, expect, type Page } from '@playwright/test';
import { blurRgba } from '../src/engine/image-check/blur';
import type { GenerateParams, GenerateResult } from '../src/shared/types';
import { createProfile, pixelDiff, resultPixels, SLOW, watchConsole } from './helpers';
import { goTo } from './pages/screens';

interface Posted { id: string; type: string; imageCheck?: GenerateResult['imageCheck']; rgba?: number[]; width?: number; height?: number; preview?: boolean }
interface Hooks {
  __posted: Posted[];
  __sent: GenerateParams[];
  __lastParams?: GenerateParams;
  __worker?: Worker;
  __forceQ16?: boolean;
}

async function instrument(page: Page) {
  await page.addInitScript(() => {
    const w = window as unknown as Hooks;
    w.__posted = [];
    w.__sent = [];
    const Original = window.Worker;
    window.Worker = class extends Original {
      constructor(url: string | URL, options?: WorkerOptions) {
        super(url, options);
        // Registered before the app's own handler: sees every message exactly as the worker posted it.
        this.addEventListener('message', (e: MessageEvent) => {
          const d = e.data as { id: string; type?: string; result?: GenerateResult; info?: { preview?: { rgba?: ArrayLike<number> } } };
          if (d?.type === 'generated') w.__posted.push({ id: d.id, type: d.type, imageCheck: d.result!.imageCheck, rgba: Array.from(d.result!.rgba), width: d.result!.width, height: d.result!.height });
          else if (d?.type === 'step') w.__posted.push({ id: d.id, type: d.type, preview: !!d.info?.preview, ...(d.info?.preview?.rgba ? { rgba: Array.from(d.info.preview.rgba) } : {}) });
        });
      }
    };
    const post = Worker.prototype.postMessage;
    Worker.prototype.postMessage = function (this: Worker, msg: unknown, ...rest: unknown[]) {
      const m = msg as { type?: string; params?: GenerateParams };
      if (m?.type === 'generate' && m.params && !String((m as { id?: string }).id).startsWith('probe')) {
        w.__worker = this; // the engine's worker (the app has others, e.g. for downloads)
        w.__sent.push(structuredClone(m.params));
        w.__lastParams = structuredClone(m.params);
        const ic = m.params.imageCheck;
        if (w.__forceQ16 && ic?.q16) msg = { ...m, params: { ...m.params, imageCheck: { ...ic, adjustment: -1, q16: { threshold: 0 } } } };
      }
      return (post as (...a: unknown[]) => void).call(this, msg, ...rest);
    } as Worker['postMessage'];
  });
}

test('a picture Q16 flags reaches a child only blurred: explained in child words, logged as Q16', async ({ page }) => {
  await instrument(page);
  const problems = watchConsole(page);
  await page.goto('/');
  await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
  const kid = await createProfile(page, 'child', { name: 'Ivo', protected: false });
  await page.getByTestId('profile.select').selectOption(kid);
  await expect(page.getByTestId('generate.embedding')).toHaveAttribute('data-status', /ready|unsupported/, { timeout: SLOW });
  await page.evaluate(() => ((window as unknown as Hooks).__forceQ16 = true));
  await page.getByTestId('generate.prompt').fill('a cat on a sofa');
  const n = Number(await page.getByTestId('result.image').getAttribute('data-result-n'));
  await page.getByTestId('generate.submit').click();
  await expect.poll(async () => Number(await page.getByTestId('result.image').getAttribute('data-result-n')), { timeout: SLOW }).toBeGreaterThan(n);
  await expect(page.getByTestId('result.image')).toHaveAttribute('data-has-image', 'yes');
  console.log(`q16.spec: the app's picture arrived (${new Date().toISOString()})`);

  // What the app asked: Q16 at its own rule, the checker stricter for a minor, no previews.
  const sent = await page.evaluate(() => (window as unknown as Hooks).__sent);
  expect(sent).toHaveLength(1);
  expect(sent[0].imageCheck).toEqual({ adjustment: 0.01, blur: true, q16: { threshold: 0.5 } });
  expect(sent[0].previewEveryMs).toBeUndefined();

  // What crossed from the worker for that request.
  const posted = await page.evaluate(() => (window as unknown as Hooks).__posted);
  const appId = posted.find((m) => m.type === 'generated')!.id;
  const mine = posted.filter((m) => m.id === appId);
  const done = mine.filter((m) => m.type === 'generated');
  expect(done).toHaveLength(1);
  expect(mine.filter((m) => m.type === 'step' && (m.preview || m.rgba))).toHaveLength(0); // no preview carried pixels
  const got = done[0];
  expect(got.imageCheck).toMatchObject({ flagged: false, blurred: true, q16: { flagged: true } }); // Q16 alone flagged
  const { width: w, height: h } = got;

  // The same request without the image stage, on the same worker: the picture before any blur.
  const probe = await page.evaluate(
    (limitMs) =>
      new Promise<number[]>((resolve, reject) => {
        setTimeout(() => reject(new Error(`the engine worker did not answer the probe in ${limitMs} ms`)), limitMs);
        const hooks = window as unknown as Hooks;
        const { imageCheck: _drop, ...params } = hooks.__lastParams!;
        const worker = hooks.__worker!;
        const on = (e: MessageEvent) => {
          const d = e.data as { id: string; type: string; result?: GenerateResult; error?: { message: string } };
          if (d.id !== 'probe-q16') return;
          if (d.type === 'generated') resolve(Array.from(d.result!.rgba));
          else if (d.type === 'error' || d.type === 'cancelled') reject(new Error(d.error?.message ?? d.type));
          else return;
          worker.removeEventListener('message', on);
        };
        worker.addEventListener('message', on);
        worker.postMessage({ type: 'generate', id: 'probe-q16', params });
      }),
    SLOW,
  );
  console.log(`q16.spec: the unblurred probe arrived (${new Date().toISOString()})`);
  // What crossed is the probe's blur (same worker, same backend: exactly), never the probe itself.
  expect(Buffer.from(Uint8Array.from(got.rgba!)).equals(Buffer.from(blurRgba(Uint8ClampedArray.from(probe), w!, h!)))).toBe(true);
  expect(pixelDiff(got.rgba!, probe).mean).toBeGreaterThan(5);
  for (const m of mine) if (m.rgba) expect(Buffer.from(Uint8Array.from(m.rgba)).equals(Buffer.from(Uint8Array.from(probe)))).toBe(false);
  // The canvas the child sees holds the crossed, blurred bytes.
  expect(pixelDiff(await resultPixels(page), got.rgba!).max).toBe(0);

  // Said in child words: the blurred notice, stage q16, no number, no category name.
  const notice = page.getByTestId('result.blurred');
  await expect(notice).toContainText('blurred for this profile');
  const explanation = notice.getByTestId('result.explanation');
  await expect(explanation).toHaveAttribute('data-stage', 'q16');
  await expect(explanation).toHaveAttribute('data-style', 'child');
  await expect(explanation).toHaveAttribute('data-category', 'Inappropriate');
  const words = await explanation.innerText();
  expect(words).toContain('not okay for this profile');
  expect(words).not.toMatch(/\d|Q16|violence|hate|sexual/i);

  // Logged: Q16's blur, and the checker's pass (it ran, and did not flag).
  await goTo(page, 'parent');
  await page.getByTestId('log.open').click(); // no PIN set in this test: the log opens directly
  const rows = page.getByTestId('log.entry');
  await expect(rows).toHaveCount(2);
  const q16Row = rows.filter({ hasText: 'Image (Q16)' });
  await expect(q16Row).toHaveCount(1);
  await expect(q16Row).toContainText('Blurred');
  await expect(q16Row).toContainText('Inappropriate');
  expect(problems.problems).toEqual([]);
});
