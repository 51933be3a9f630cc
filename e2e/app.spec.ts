// The app shell as a person meets it: it starts, says what it runs on and why (here the only WebGPU adapter is
// SwiftShader, a software GPU, so `auto` takes WASM), names the active model, generates a picture from the built-in
// demo bundle, makes no request outside its own origin and logs no console error. WebGPU can still be chosen.
import { test, expect, type Page } from '@playwright/test';
import { chooseNoProfile, SLOW, watchConsole, moreOptions } from './helpers';
import { goTo } from './pages/screens';

async function generate(page: Page, steps: number): Promise<void> {
  await moreOptions(page);
  await page.getByTestId('generate.steps').fill(String(steps));
  await page.getByTestId('generate.submit').click();
  await expect(page.getByTestId('result.image')).toHaveAttribute('data-has-image', 'yes', { timeout: SLOW });
}

const ready = (page: Page) => expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });

test('shell picks WASM over a software GPU and says why, generates, stays on its own origin, logs no error', async ({ page, baseURL }) => {
  const foreign: string[] = [];
  page.context().on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(baseURL!) && !u.startsWith('data:') && !u.startsWith('blob:')) foreign.push(u);
  });
  const console = watchConsole(page);
  await page.goto('/');
  await chooseNoProfile(page);
  await ready(page);
  await expect(page.getByTestId('engine.backend')).toHaveAttribute('data-backend', 'wasm');
  await expect(page.getByTestId('engine.backend')).toContainText(/WASM on the processor.*a software GPU was found; the processor is faster/);
  await goTo(page, 'settings'); // the choice is the parent's (open here: no lock)
  await expect(page.getByTestId('engine.backend-choice')).toHaveValue('auto');
  await expect(page.getByTestId('bundle.name')).toHaveAttribute('data-bundle-id', /demo/);
  await expect(page.getByTestId('bundle.name')).toContainText('PSA');
  await generate(page, 4);
  await expect(page.getByTestId('result.meta')).toContainText('wasm');
  await expect(page.getByTestId('error')).toHaveCount(0);
  expect(foreign).toEqual([]);
  expect(console.problems).toEqual([]);
});

test('WebGPU can be chosen on the software GPU and generates without console errors; Auto goes back to WASM', async ({ page }) => {
  const console = watchConsole(page);
  await page.goto('/');
  await chooseNoProfile(page);
  await ready(page);
  await goTo(page, 'settings');
  await page.getByTestId('engine.backend-choice').selectOption('webgpu');
  await ready(page);
  await expect(page.getByTestId('engine.backend')).toHaveAttribute('data-backend', 'webgpu');
  await expect(page.getByTestId('engine.backend')).toContainText(/WebGPU.*swiftshader.*software adapter.*fp32 only.*chosen by you/i);
  await generate(page, 2);
  await expect(page.getByTestId('result.meta')).toContainText('webgpu');
  await goTo(page, 'settings');
  await page.getByTestId('engine.backend-choice').selectOption('auto');
  await ready(page);
  await expect(page.getByTestId('engine.backend')).toHaveAttribute('data-backend', 'wasm');
  await expect(page.getByTestId('error')).toHaveCount(0);
  expect(console.problems).toEqual([]);
});

test('Stop ends a generation early, says so, and the next one works', async ({ page }) => {
  await page.goto('/');
  await chooseNoProfile(page);
  await ready(page);
  // Many steps, so that Stop always lands mid-run even on a fast machine.
  await moreOptions(page);
  await page.getByTestId('generate.steps').fill('150');
  await page.getByTestId('generate.submit').click();
  await expect(page.getByTestId('generate.progress')).toBeVisible();
  await expect.poll(async () => Number(await page.getByTestId('generate.progress').getAttribute('value')), { timeout: SLOW }).toBeGreaterThanOrEqual(1);
  // Progress says where it is and about how long is left.
  await expect(page.getByTestId('generate.eta')).toContainText(/step \d+ of \d+ · (about \d+ (s|min) left|almost done)/);
  await page.getByTestId('generate.cancel').click();
  await expect(page.getByTestId('notice')).toHaveText('Stopped.', { timeout: SLOW });
  await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready');
  await expect(page.getByTestId('result.image')).toHaveAttribute('data-has-image', 'no');
  await generate(page, 2);
  await expect(page.getByTestId('notice')).toHaveCount(0);
});
