// A new user's first minutes (issue 25's path, in its order from the first screen): the built-in demo, a child's
// profile whose parent PIN is asked for right in the form, a picture made for her, and the picture still there in
// the gallery after a reload; and "Just me", which makes an adult profile with no lock and goes straight to pictures.
import { test, expect, type Page } from '@playwright/test';
import { SLOW } from './helpers';

const PIN = '739146';
const ready = (page: Page) => expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });

test('family: demo → new child profile (PIN asked in the form) → a picture made for her → reload → in the gallery', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('setup')).toBeVisible();
  await page.getByTestId('bundle.demo').click();
  await ready(page);
  await page.getByTestId('profile.new').click();
  await page.getByTestId('profile.name').fill('Mia');
  await page.getByTestId('profile.age').fill('9');
  // The Child preset is protected and no PIN exists yet: the form asks for one right here (no dead end).
  await page.getByTestId('profile.pin').fill(PIN);
  await page.getByTestId('profile.save').click();
  await expect(page.getByTestId('profile.message')).toHaveAttribute('data-code', 'SAVED');
  await expect(page.getByTestId('profile.lock')).toHaveAttribute('data-state', 'unlocked');
  await expect(page.getByTestId('setup')).toBeHidden(); // the new profile is the one chosen
  await page.getByTestId('generate.prompt').fill('a red kite over a green hill');
  await page.getByTestId('generate.submit').click();
  await expect(page.getByTestId('result.image')).toHaveAttribute('data-has-image', 'yes', { timeout: SLOW });
  await expect(page.getByTestId('result.profile')).toContainText('Mia');

  await page.reload();
  await expect(page.getByTestId('profile.lock')).toHaveAttribute('data-state', 'locked');
  await expect(page.getByTestId('gallery.item').first()).toBeVisible({ timeout: SLOW });
  await expect(page.getByTestId('gallery.item')).toHaveCount(1);
});

test('a PIN refused in the form keeps everything typed; "Just me" is an adult profile with no lock', async ({ page }) => {
  await page.context().route('**/models/**', (r) => r.abort()); // no model needed
  await page.goto('/');
  await page.getByTestId('profile.new').click();
  await page.getByTestId('profile.name').fill('Noa');
  await page.getByTestId('profile.pin').fill('12');
  await page.getByTestId('profile.save').click();
  await expect(page.getByTestId('profile.message')).toHaveAttribute('data-code', 'PIN_INVALID');
  await expect(page.getByTestId('profile.name')).toHaveValue('Noa'); // the form is not thrown away
  await page.getByTestId('profile.cancel').click();

  await page.getByTestId('setup.me').click();
  await expect(page.getByTestId('setup')).toBeHidden();
  await expect(page.getByTestId('generate.profile')).toContainText('Me');
  await expect(page.getByTestId('profile.lock')).toHaveAttribute('data-state', 'none');
});
