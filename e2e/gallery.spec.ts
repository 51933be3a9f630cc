// The gallery as a family meets it, in Chromium with its real IndexedDB and the real engine on the demo bundle:
// a picture is kept and is still there after a reload with what made it; the downloaded PNG carries an A1111
// `parameters` text naming its prompt and seed; "use these settings" fills the form on Home, size included; delete
// removes it for good;
// a protected child sees only their own pictures, the parent (PIN) everyone's, and deleting the child's needs the PIN;
// a picture the image check blurred is kept only blurred; after one online visit the gallery opens, shows and
// downloads with the network off; a second tab follows what the first keeps and deletes.
import fs from 'node:fs';
import type { Page } from '@playwright/test';
import { PNG } from 'pngjs';
import { allowedSides, sizePresets, type SizeRule } from '../src/shared/image-size';
import { readTextChunks } from '../src/shared/png-text';
import { resultPixels, SLOW } from './helpers';
import { App, test, expect } from './pages/app';

const PIN = '739146';

const items = (page: Page) => page.getByTestId('gallery.item');

/** The pixels of the opened picture's downloaded PNG. */
async function downloadedPixels(page: Page): Promise<number[]> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('gallery.download').click()]);
  return Array.from(PNG.sync.read(fs.readFileSync((await download.path())!)).data);
}

/** Types a prompt on Home and makes a picture with it (2 steps: the picture's content does not matter here). */
async function makePicture(app: App, prompt: string, seed: number) {
  await app.home.describe(prompt);
  await app.home.generate({ seed, steps: 2 });
}

// Sizes are chosen, not typed: the form offers the loaded model's own sizes (the demo's manifest declares them; the
// engine refuses any other), a shape sets both sides, and the picture is made at that size.
test('the size is chosen among the model\'s own sizes; a shape sets both sides and the picture is made at it', async ({ app, page }) => {
  const manifest = (await (await page.request.get('/models/demo/manifest.json')).json()) as { sizes: SizeRule; image: { width: number; height: number } };
  const sides = allowedSides(manifest.sizes).map(String);
  await app.open();
  await app.setup.noProfile();
  await app.engineReady();
  await app.home.moreOptions();
  for (const side of ['generate.width', 'generate.height']) {
    await expect(page.getByTestId(side).locator('option')).toHaveText(sides);
    await expect(page.getByTestId(side)).toHaveValue(String(manifest.image.width));
  }
  await expect(page.getByTestId('generate.shape')).toHaveValue('square');
  const landscape = sizePresets(manifest.sizes, manifest.image).landscape;
  expect(landscape.width).toBeGreaterThan(landscape.height);
  await page.getByTestId('generate.shape').selectOption('landscape');
  await expect(page.getByTestId('generate.width')).toHaveValue(String(landscape.width));
  await expect(page.getByTestId('generate.height')).toHaveValue(String(landscape.height));
  // A side chosen on its own: no preset matches any more.
  await page.getByTestId('generate.height').selectOption(sides[sides.length - 1]);
  await expect(page.getByTestId('generate.shape')).toHaveValue('');
  await page.getByTestId('generate.shape').selectOption('landscape');
  await makePicture(app, 'a wide field', 7);
  const canvas = await page.getByTestId('result.image').evaluate((c: HTMLCanvasElement) => [c.width, c.height]);
  expect(canvas).toEqual([landscape.width, landscape.height]);
});

test('a picture is kept across a reload with its settings; its PNG names them; use these settings; delete', async ({ app, page }) => {
  await app.open();
  await app.setup.noProfile();
  await app.engineReady();
  await app.gallery.open();
  await expect(page.getByTestId('gallery.empty')).toBeVisible();
  await makePicture(app, 'a lighthouse at dusk', 4242);
  await expect(items(page)).toHaveCount(1); // kept as soon as it is shown (Home's recent pictures)

  await app.reload();
  await expect(items(page)).toHaveCount(1);
  await app.gallery.open(); // the reload stayed on Home (its address); the gallery has it too
  await expect(items(page)).toHaveCount(1);
  const item = items(page).first();
  await expect(item).toHaveAttribute('data-profile-id', '');
  await expect(item).toHaveAttribute('data-seed', '4242');
  await expect(item).toContainText('a lighthouse at dusk');
  const storage = page.getByTestId('gallery.storage');
  expect(Number(await storage.getAttribute('data-bytes'))).toBeGreaterThan(100);
  await expect(storage).toContainText('1 picture');

  // Opened large, by keyboard: focus the item, Enter; the metadata is there; Escape closes.
  await item.focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByTestId('gallery.dialog');
  await expect(dialog).toBeVisible();
  const field = (name: string) => dialog.locator(`dd[data-field="${name}"]`);
  await expect(field('prompt')).toHaveText('a lighthouse at dusk');
  await expect(field('seed')).toHaveText('4242');
  await expect(field('steps')).toHaveText('2');
  await expect(field('model')).toContainText('@');
  await expect(field('backend')).toHaveText(/webgpu|wasm|cpu/);
  await expect(field('profile')).toHaveText('No profile');
  await expect(field('size')).toHaveText(/^\d+×\d+$/);
  const size = (await field('size').innerText()).split('×');
  await expect(page.getByTestId('gallery.image')).toBeVisible();

  // Download: a PNG pngjs decodes, whose `parameters` text names the prompt and the seed.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('gallery.download').click()]);
  expect(download.suggestedFilename()).toMatch(/\.png$/);
  const bytes = fs.readFileSync((await download.path())!);
  const decoded = PNG.sync.read(bytes);
  expect(decoded.width).toBeGreaterThan(0);
  const parameters = readTextChunks(new Uint8Array(bytes)).parameters;
  expect(parameters).toMatch(/^a lighthouse at dusk\n/);
  expect(parameters).toContain('Seed: 4242');
  expect(parameters).toContain('Steps: 2');
  expect(parameters).toMatch(/Model: \S+@\S+/);
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();

  // Use these settings: Home's form takes the picture's prompt, seed, steps and size.
  await app.home.describe('something else');
  await app.home.moreOptions();
  await page.getByTestId('generate.seed').fill('1');
  await page.getByTestId('generate.steps').fill('9');
  await page.getByTestId('generate.width').selectOption('128');
  await page.getByTestId('generate.height').selectOption('96');
  await app.gallery.open();
  await app.gallery.openItem(0);
  await app.gallery.reuse();
  await expect(page.getByTestId('generate.prompt')).toHaveValue('a lighthouse at dusk');
  await app.home.moreOptions();
  await expect(page.getByTestId('generate.seed')).toHaveValue('4242');
  await expect(page.getByTestId('generate.steps')).toHaveValue('2');
  await expect(page.getByTestId('generate.width')).toHaveValue(size[0]);
  await expect(page.getByTestId('generate.height')).toHaveValue(size[1]);

  // Delete: gone, and still gone after a reload.
  await app.gallery.open();
  await item.click();
  await page.getByTestId('gallery.delete').click();
  await expect(items(page)).toHaveCount(0);
  await expect(dialog).toBeHidden();
  await app.reload();
  await expect(page.getByTestId('gallery.empty')).toBeVisible(); // the reload kept the gallery screen
  await expect(items(page)).toHaveCount(0);
});

test('a protected child sees only their own pictures; the parent sees everyone\'s; deleting the child\'s needs the PIN', async ({ app, page }) => {
  await app.open();
  await app.engineReady();
  await app.profiles.setPin(PIN);
  const sam = await app.profiles.create('adult', { name: 'Sam', protected: false }); // the first profile: Home follows
  await makePicture(app, 'a green tractor', 11);
  await expect(items(page)).toHaveCount(1);

  await app.parent.unlock(PIN); // back on Home, the parent's session ended: the door asks
  const mia = await app.profiles.create('child', { name: 'Mia' });
  await app.profiles.select(mia); // the handover: the lock closes, and with it the parent area
  await expect(app.parent.lockState).toHaveAttribute('data-state', 'locked');
  await expect(app.parent.door).toHaveAttribute('data-locked', 'yes');
  await app.gallery.open();
  await expect(items(page)).toHaveCount(0); // Sam's picture is not Mia's to see
  await makePicture(app, 'a smiling sun', 22);
  await expect(items(page)).toHaveCount(1);
  await expect(items(page).first()).toHaveAttribute('data-profile-id', mia);

  // After a reload, still only Mia's.
  await app.open('#gallery');
  await expect(items(page)).toHaveCount(1);
  await expect(items(page).first()).toHaveAttribute('data-profile-id', mia);
  await expect(page.getByTestId('gallery')).toHaveAttribute('data-sees-all', 'no');

  // The parent opens the lock: both profiles' pictures, each under its name. Lock now: Mia's only again.
  await page.getByTestId('gallery.unlock').click();
  await app.pin.enter(PIN);
  await expect(items(page)).toHaveCount(2);
  await expect(page.getByTestId('gallery')).toHaveAttribute('data-sees-all', 'yes');
  await expect(page.locator(`[data-testid="gallery.item"][data-profile-id="${sam}"]`)).toHaveCount(1);
  await page.getByTestId('profile.lock.now').click();
  await expect(items(page)).toHaveCount(1);

  // Mia deletes her picture: the PIN dialog asks; cancelled, nothing is deleted; with the PIN, it is.
  await items(page).first().click();
  await page.getByTestId('gallery.delete').click();
  await expect(page.getByTestId('lock.dialog')).toContainText("delete a protected profile's picture");
  await page.getByTestId('lock.cancel').click();
  await expect(page.getByTestId('gallery.error')).toHaveAttribute('data-code', 'PIN_REQUIRED');
  await expect(items(page)).toHaveCount(1);
  await page.getByTestId('gallery.delete').click();
  await app.pin.enter(PIN);
  await expect(items(page)).toHaveCount(1); // the parent's session is open now: Sam's picture is what is left
  await expect(items(page).first()).toHaveAttribute('data-profile-id', sam);
});

test('offline after the first visit: the gallery opens from the device, the picture shows and downloads with no network', async ({ app, page, context }) => {
  await app.open();
  await app.setup.noProfile();
  await app.engineReady();
  await makePicture(app, 'a paper boat', 7);
  await expect(items(page)).toHaveCount(1);
  await app.gallery.open();
  // The offline shell is in place once the service worker is active (it precaches while the page works).
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
  await context.setOffline(true);
  try {
    await page.reload();
    await expect(items(page)).toHaveCount(1);
    await items(page).first().click();
    const image = page.getByTestId('gallery.image');
    await expect(image).toHaveAttribute('src', /^blob:/);
    await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(0);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('gallery.download').click()]);
    expect(readTextChunks(new Uint8Array(fs.readFileSync((await download.path())!))).parameters).toMatch(/^a paper boat\n[\s\S]*Seed: 7,/);
  } finally {
    await context.setOffline(false);
  }
});

test('a picture the image check blurred is kept only blurred: the stored PNG is the blurred picture that was shown', async ({ app, page }) => {
  // As guard.spec does: the app's request is recorded unchanged, then page-side its `adjustment` is raised to 1 when
  // window.__forceFlag is set, so the tiny demo checker flags for sure and the worker blurs.
  await page.addInitScript(() => {
    const post = Worker.prototype.postMessage;
    Worker.prototype.postMessage = function (this: Worker, msg: unknown, ...rest: unknown[]) {
      const m = msg as { type?: unknown; params?: { imageCheck?: object } };
      if ((window as unknown as { __forceFlag?: boolean }).__forceFlag && m?.type === 'generate' && m.params?.imageCheck) {
        msg = { ...m, params: { ...m.params, imageCheck: { ...m.params.imageCheck, adjustment: 1 } } };
      }
      return (post as (...a: unknown[]) => void).call(this, msg, ...rest);
    } as Worker['postMessage'];
  });
  await app.open();
  await app.engineReady();
  const kid = await app.profiles.create('child', { name: 'Noa', protected: false }); // the first profile: the active one
  await expect(app.home.who).toHaveAttribute('data-profile-id', kid);
  await expect(page.getByTestId('generate.embedding')).toHaveAttribute('data-status', /ready|unsupported/, { timeout: SLOW });

  // The same seed twice: first as the checker passes it, then flagged (blurred in the worker).
  await makePicture(app, 'a cat on a sofa', 5);
  const clear = await resultPixels(page);
  await page.evaluate(() => ((window as unknown as { __forceFlag: boolean }).__forceFlag = true));
  await makePicture(app, 'a cat on a sofa', 5);
  await expect(page.getByTestId('result.blurred')).toBeVisible();
  const shown = await resultPixels(page);
  expect(shown).not.toEqual(clear);
  await expect(items(page)).toHaveCount(2);

  await items(page).first().click(); // newest first: the blurred one
  await expect(page.getByTestId('gallery.dialog').locator('dd[data-field="safety"]')).toContainText('Blurred by the picture check');
  expect(await downloadedPixels(page)).toEqual(shown);
  await page.getByTestId('gallery.close').click();
  await items(page).nth(1).click();
  await expect(page.getByTestId('gallery.dialog').locator('dd[data-field="safety"]')).not.toContainText('Blurred');
  expect(await downloadedPixels(page)).toEqual(clear);
});

test('a second tab follows: a picture kept in one tab shows in the other, and a deletion goes from both', async ({ app, page, context }) => {
  await app.open();
  await app.setup.noProfile();
  const other = new App(await context.newPage());
  await other.open('#gallery');
  await expect(other.page.getByTestId('gallery.empty')).toBeVisible();
  await app.engineReady();
  await makePicture(app, 'a kite over the hill', 3);
  await expect(items(other.page)).toHaveCount(1); // no reload: the other tab was nudged and read storage again
  await expect(items(other.page).first()).toHaveAttribute('data-seed', '3');
  await items(other.page).first().click();
  await other.page.getByTestId('gallery.delete').click();
  await expect(items(other.page)).toHaveCount(0);
  await expect(items(page)).toHaveCount(0);
});
