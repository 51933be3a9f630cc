// "Remove profile encoder" in the Models panel, as a person uses it: the demo bundle imported from its folder, a
// profile made (its embedding computed by the bundle's encoder), the encoder removed (only its file leaves OPFS; the
// bundle stays complete and in use), a reload, and the same profile still generates personalized — the same picture
// for the same seed, from the cached embedding, with no embed request; an edit that needs a new embedding then says
// the encoder is needed and generates nothing. For a bundle downloaded from a URL, "Download encoder again" fetches
// only the encoder's files, verified, and a new profile is embedded with it.
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import type { BundleManifest } from '../src/shared/bundle';
import { countEmbedRequests, createProfile, generateImage, resultPixels, ROOT, SLOW, serveForApp, storedSha } from './helpers';
import { goTo } from './pages/screens';

const DEMO = path.join(ROOT, 'public', 'models', 'demo');
const ENCODER_FILE = 'profile_encoder/model.onnx';

const storedExists = async (page: Page, key: string, file: string) => (await storedSha(page, key, file)) !== null;

const generate = (page: Page) => generateImage(page, { seed: 7, steps: 3 });

test('remove the profile encoder: cached profiles still personalize after a reload; a new embedding is refused with a clear status', async ({ page, context }) => {
  const embeds = await countEmbedRequests(context, page);

  await page.goto('/#settings'); // Models and engine: open (no lock), even before anyone is chosen
  await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
  await page.getByTestId('bundle.import').setInputFiles(DEMO);
  await expect(page.getByTestId('bundle.notice')).toContainText('was imported and checked', { timeout: SLOW });
  const item = page.locator('[data-testid="bundle.item"]').filter({ has: page.getByTestId('bundle.encoder') });
  await expect(item).toHaveCount(1);
  const key = (await item.getAttribute('data-key'))!;
  await expect(item.getByTestId('bundle.encoder')).toHaveAttribute('data-removed', 'false');
  expect(Number(await item.getByTestId('bundle.encoder').getAttribute('data-bytes'))).toBeGreaterThan(0);

  // A profile, its embedding computed by the encoder, and its picture.
  const id = await createProfile(page, 'teen', { name: 'Kim', protected: false });
  await page.getByTestId('profile.select').selectOption(id);
  await goTo(page, 'home');
  await expect(page.getByTestId('generate.embedding')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
  expect(await embeds()).toBe(1);
  await generate(page);
  await expect(page.getByTestId('result.profile')).toHaveText('Made for Kim');
  const before = await resultPixels(page);

  // Remove the encoder: only its file goes; the bundle stays complete and in use.
  await goTo(page, 'settings');
  expect(await storedExists(page, key, ENCODER_FILE)).toBe(true);
  await item.getByTestId('bundle.remove-encoder').click();
  await expect(item.getByTestId('bundle.encoder')).toHaveAttribute('data-removed', 'true', { timeout: SLOW });
  await expect(item.getByTestId('bundle.encoder')).toContainText('profile encoder removed');
  await expect(item).toHaveAttribute('data-state', 'complete');
  expect(await storedExists(page, key, ENCODER_FILE)).toBe(false);
  expect(await storedExists(page, key, 'unet/model.onnx')).toBe(true);
  expect(await storedExists(page, key, 'manifest.json')).toBe(true);

  // Reload: the cached embedding still personalizes, with no embed request; same seed, same picture.
  await page.reload();
  await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
  await goTo(page, 'home');
  await expect(page.getByTestId('profile.select')).toHaveValue(id);
  await expect(page.getByTestId('generate.embedding')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
  await expect(page.getByTestId('generate.embedding')).toHaveAttribute('data-from-cache', 'yes');
  await generate(page);
  await expect(page.getByTestId('result.profile')).toHaveText('Made for Kim');
  expect(await resultPixels(page)).toEqual(before);
  expect(await embeds()).toBe(0);

  // An edit that changes the embedding text needs the encoder: the status says so and nothing is generated.
  await goTo(page, 'parent');
  await page.locator(`[data-testid="profile.item"][data-profile-id="${id}"]`).getByTestId('profile.edit').click();
  await page.getByTestId('profile.age').fill('16');
  await page.getByTestId('profile.save').click();
  await expect(page.getByTestId('profile.message')).toHaveAttribute('data-code', 'SAVED');
  await goTo(page, 'home');
  const n = Number(await page.getByTestId('result.image').getAttribute('data-result-n'));
  await page.getByTestId('generate.submit').click();
  await expect(page.getByTestId('generate.embedding')).toHaveAttribute('data-status', 'encoder-removed', { timeout: SLOW });
  await expect(page.getByTestId('generate.embedding')).toContainText('This profile needs the profile encoder, which was removed to save space');
  expect(Number(await page.getByTestId('result.image').getAttribute('data-result-n'))).toBe(n);
  expect(await embeds()).toBe(0);
});

test('download the profile encoder again: only its files are fetched, verified, and a new profile is embedded with it', async ({ page }) => {
  const manifest = JSON.parse(readFileSync(path.join(DEMO, 'manifest.json'), 'utf8')) as BundleManifest;
  const key = `${manifest.id}@${manifest.version}`;
  const encoderSha = manifest.files.find((f) => f.path === ENCODER_FILE)!.sha256;
  const server = await serveForApp({ dir: DEMO });
  try {
    await page.goto('/#settings');
    await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
    await page.getByTestId('bundle.url').fill(server.url);
    await page.getByTestId('bundle.download').click();
    const item = page.locator(`[data-testid="bundle.item"][data-key="${key}"]`);
    await expect(item).toHaveAttribute('data-state', 'complete', { timeout: SLOW });
    await expect(item.getByTestId('bundle.use')).toHaveText('In use', { timeout: SLOW });
    await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });

    await item.getByTestId('bundle.remove-encoder').click();
    await expect(item.getByTestId('bundle.encoder')).toHaveAttribute('data-removed', 'true', { timeout: SLOW });
    expect(await storedExists(page, key, ENCODER_FILE)).toBe(false);

    server.log.length = 0;
    await item.getByTestId('bundle.redownload-encoder').click();
    await expect(item.getByTestId('bundle.encoder')).toHaveAttribute('data-removed', 'false', { timeout: SLOW });
    await expect(item).toHaveAttribute('data-state', 'complete');
    const files = server.log.filter((e) => e.method === 'GET' && e.path !== '/manifest.json').map((e) => e.path);
    expect(files).toEqual([`/${ENCODER_FILE}`]);
    expect(await storedSha(page, key, ENCODER_FILE)).toBe(encoderSha);

    // The engine has the encoder back: a new profile gets its embedding computed.
    await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
    const id = await createProfile(page, 'teen', { name: 'Lou', protected: false });
    await page.getByTestId('profile.select').selectOption(id);
    await goTo(page, 'home');
    await expect(page.getByTestId('generate.embedding')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
    await expect(page.getByTestId('generate.embedding')).not.toHaveAttribute('data-from-cache', 'yes');
  } finally {
    await server.close();
  }
});
