// Shared bits of the browser specs: timeouts for machine-dependent waits, console watching, pixel comparison, the
// engine harness page, a place to record measured numbers, and the set-up steps several specs share (a new profile
// through the editor, counting the engine's embed requests).
import fs from 'node:fs';
import path from 'node:path';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { serveBundle, type RunningServer, type ServeOptions } from '../scripts/serve-bundle';
import { toHome, toProfiles } from './pages/screens';

/**
 * Limit for one wait on work whose duration scales with the machine (session creation, a generation): generous,
 * since a busy 2-core machine running WebGPU on SwiftShader is many times slower than a developer's GPU.
 */
export const SLOW = 10 * 60_000;

/**
 * Starts collecting what a person would see as problems in the devtools console: console errors, uncaught page
 * errors, and any onnxruntime warning line (ORT prints those as errors or warnings, from the page or its worker).
 */
export function watchConsole(page: Page): { problems: string[] } {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || /\[[WE]:onnxruntime/.test(m.text())) problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return { problems };
}

export const ROOT = path.resolve(import.meta.dirname, '..');

/** The origin the app under test is served from (the config's baseURL). */
export const appOrigin = (): string => new URL(test.info().project.use.baseURL ?? 'http://127.0.0.1').origin;

/**
 * scripts/serve-bundle.ts on another loopback port, readable by the app under test only (its --origin), as a person
 * would start it for their own app. The app reaches it under the CSP the way it reaches any host a user types: the
 * service worker adds the host to connect-src (no test-only allowlist).
 */
export const serveForApp = (o: Omit<ServeOptions, 'origins'>): Promise<RunningServer> => serveBundle({ ...o, origins: [appOrigin()] });

export { pixelDiff } from '../tests/helpers/pixels';

export async function openEngine(page: Page): Promise<void> {
  await page.goto('/engine-harness.html');
  await page.waitForFunction(() => !!(window as unknown as { __engine?: unknown }).__engine, undefined, { timeout: SLOW });
}

/** Appends measured numbers to .tmp/measurements.json (read for the closing notes; never asserted on). */
export function record(key: string, value: unknown): void {
  const f = path.join(ROOT, '.tmp', 'measurements.json');
  fs.mkdirSync(path.dirname(f), { recursive: true });
  const all = fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8')) : {};
  all[key] = value;
  fs.writeFileSync(f, JSON.stringify(all, null, 1));
}

export interface ProfileFields {
  name: string;
  age?: number;
  gender?: string;
  religion?: string;
  physical?: string;
  mental?: string;
  words?: string;
  protected?: boolean;
  /** Anything else to set in the editor before saving (category choices, …). */
  patch?: (page: Page) => Promise<void>;
}

/**
 * New profile from `preset` through the editor (on the first-run screen, else the parent screen, which must be open),
 * fields set as given, saved; returns its id.
 */
export async function createProfile(page: Page, preset: string, f: ProfileFields): Promise<string> {
  await toProfiles(page);
  await page.getByTestId('profile.preset').selectOption(preset);
  await page.getByTestId('profile.new').click();
  await page.getByTestId('profile.name').fill(f.name);
  if (f.age !== undefined) await page.getByTestId('profile.age').fill(String(f.age));
  for (const k of ['gender', 'religion', 'physical', 'mental'] as const) if (f[k]) await page.getByTestId(`profile.${k}`).selectOption(f[k]!);
  if (f.words !== undefined) await page.getByTestId('profile.words').fill(f.words);
  await f.patch?.(page);
  if (f.protected !== undefined) await page.getByTestId('profile.protected').setChecked(f.protected);
  // Read before saving: the first profile made on the first-run screen ends that screen (Home follows).
  const id = (await page.getByTestId('profile.editor').getAttribute('data-profile-id'))!;
  await page.getByTestId('profile.save').click();
  await expect(page.getByTestId('profile.message')).toHaveAttribute('data-code', 'SAVED');
  return id;
}

/**
 * Counts the engine's embed requests where they are made (the page's postMessage to the engine worker), from the
 * next page load on; returns a reader of the count.
 */
export async function countEmbedRequests(context: BrowserContext, page: Page): Promise<() => Promise<number>> {
  await context.addInitScript(() => {
    const w = window as unknown as { __embedRequests: number };
    w.__embedRequests = 0;
    const post = Worker.prototype.postMessage;
    Worker.prototype.postMessage = function (this: Worker, msg: unknown, ...rest: unknown[]) {
      if (msg && typeof msg === 'object' && (msg as { type?: unknown }).type === 'embed') w.__embedRequests++;
      return (post as (...a: unknown[]) => void).call(this, msg, ...rest);
    } as Worker['postMessage'];
  });
  return () => page.evaluate(() => (window as unknown as { __embedRequests: number }).__embedRequests);
}

/** SHA-256 of a file stored in OPFS under bundles/<key>/ (read in the page), or null when it is not there. */
export async function storedSha(page: Page, key: string, file: string): Promise<string | null> {
  return page.evaluate(async ([key, file]) => {
    try {
      let dir = await (await (await navigator.storage.getDirectory()).getDirectoryHandle('bundles')).getDirectoryHandle(key);
      const parts = file.split('/');
      for (const p of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(p);
      const f = await (await dir.getFileHandle(parts[parts.length - 1])).getFile();
      const d = new Uint8Array(await crypto.subtle.digest('SHA-256', await f.arrayBuffer()));
      return [...d].map((b) => b.toString(16).padStart(2, '0')).join('');
    } catch {
      return null;
    }
  }, [key, file] as const);
}

/**
 * Submits the generate form (seed and steps set when given) and waits for a new picture: the result counter moves
 * past its value before the click and an image is shown.
 */
export async function generateImage(page: Page, o: { seed?: number; steps?: number } = {}): Promise<void> {
  await toHome(page);
  // A child-style profile has no "More options": its pictures take the form's own seed and steps (42, 8).
  if ((o.seed !== undefined || o.steps !== undefined) && (await page.getByTestId('generate.options').count())) {
    await moreOptions(page);
    if (o.seed !== undefined) await page.getByTestId('generate.seed').fill(String(o.seed));
    if (o.steps !== undefined) await page.getByTestId('generate.steps').fill(String(o.steps));
  }
  const n = Number(await page.getByTestId('result.image').getAttribute('data-result-n'));
  await page.getByTestId('generate.submit').click();
  await expect.poll(async () => Number(await page.getByTestId('result.image').getAttribute('data-result-n')), { timeout: SLOW }).toBeGreaterThan(n);
  await expect(page.getByTestId('result.image')).toHaveAttribute('data-has-image', 'yes');
}

/** The shown picture's RGBA bytes. */
export async function resultPixels(page: Page): Promise<number[]> {
  return page.getByTestId('result.image').evaluate((c: HTMLCanvasElement) => Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data));
}

/** The first-run question answered "No profile (no personal safety)": a person's choice, so Generate makes pictures. */
export async function chooseNoProfile(page: Page): Promise<void> {
  await page.getByTestId('setup.none').click();
  await expect(page.getByTestId('setup')).toBeHidden();
}

/** Answers the one PIN dialog (lock.dialog) with `pin` and waits until it closes (a right PIN). */
export async function enterPin(page: Page, pin: string): Promise<void> {
  await expect(page.getByTestId('lock.dialog')).toBeVisible();
  await page.getByTestId('lock.pin').fill(pin);
  await page.getByTestId('lock.submit').click();
  await expect(page.getByTestId('lock.dialog')).toBeHidden();
}

/** Unfolds Home's "More options" (negative prompt, seed, steps, sampler, guidance) when it is folded. */
export async function moreOptions(page: Page): Promise<void> {
  await toHome(page);
  const options = page.getByTestId('generate.options');
  if ((await options.getAttribute('open')) === null) await options.locator('summary').click();
  await expect(options).toHaveAttribute('open', '');
}
