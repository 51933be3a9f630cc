// Accessibility and phones (issue 25 item 6), checked on the real app: axe-core reports no serious or critical
// violation on each screen (first run, the child's home with a result, the PIN dialog, a gallery picture opened),
// at desktop and phone width; at 390 px nothing scrolls sideways and every control is at least 24 px tall (44 px for
// the main actions); the path from the first screen to a picture works by keyboard alone.
import AxeBuilder from '@axe-core/playwright';
import { test, expect, type Page } from '@playwright/test';
import { SLOW } from './helpers';

const PIN = '739146';
const ready = (page: Page) => expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });

/** Serious and critical axe violations on the page as it is now, as "rule: target" lines. */
async function seriousViolations(page: Page): Promise<string[]> {
  const r = await new AxeBuilder({ page }).analyze();
  return r.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')}`));
}

/** Controls shorter than `min` px (visible ones), as test ids or tag names. */
async function smallTargets(page: Page, selector: string, min: number): Promise<string[]> {
  return page.locator(selector).evaluateAll((els, m) => {
    return els
      .filter((e) => (e as HTMLElement).offsetParent !== null)
      .filter((e) => e.getBoundingClientRect().height < m)
      .map((e) => `${e.getAttribute('data-testid') ?? e.tagName.toLowerCase()} (${Math.round(e.getBoundingClientRect().height)} px)`);
  }, min);
}

async function noSidewaysScroll(page: Page) {
  expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
}

for (const width of [1280, 390]) {
  test(`every screen at ${width} px: no serious or critical axe violation${width === 390 ? ', nothing sideways, targets big enough' : ''}`, async ({ page }) => {
    await page.setViewportSize({ width, height: 900 });
    await page.goto('/');
    await expect(page.getByTestId('setup')).toBeVisible();
    await ready(page);
    expect(await seriousViolations(page), 'first run').toEqual([]);
    if (width === 390) {
      await noSidewaysScroll(page);
      expect(await smallTargets(page, 'button, input:not([type=checkbox]):not([type=file]), select, textarea', 24), 'controls').toEqual([]);
      expect(await smallTargets(page, '[data-testid="generate.submit"], [data-testid^="setup."]', 44), 'main actions').toEqual([]);
    }

    // A child's home with a picture.
    await page.getByTestId('profile.new').click();
    await page.getByTestId('profile.name').fill('Mia');
    await page.getByTestId('profile.pin').fill(PIN);
    await page.getByTestId('profile.save').click();
    await expect(page.getByTestId('profile.message')).toHaveAttribute('data-code', 'SAVED');
    await page.getByTestId('profile.lock.now').click();
    await page.getByTestId('generate.submit').click();
    await expect(page.getByTestId('result.image')).toHaveAttribute('data-has-image', 'yes', { timeout: SLOW });
    expect(await seriousViolations(page), 'home with a result').toEqual([]);
    if (width === 390) await noSidewaysScroll(page);

    // A gallery picture opened large.
    await page.getByTestId('gallery.item').first().click();
    expect(await seriousViolations(page), 'gallery picture').toEqual([]);
    await page.keyboard.press('Escape');

    // The PIN dialog, with a wrong PIN's message.
    await page.getByTestId('profile.unlock').click();
    await page.getByTestId('lock.pin').fill('0000');
    await page.getByTestId('lock.submit').click();
    await expect(page.getByTestId('lock.error')).toBeVisible();
    expect(await seriousViolations(page), 'PIN dialog').toEqual([]);
    if (width === 390) await noSidewaysScroll(page);
  });
}

test('by keyboard alone, with visible focus: first screen → "No profile" → Generate → a picture', async ({ page }) => {
  await page.goto('/');
  await ready(page);
  // Tab to the first-run choice and take it with Enter.
  for (let i = 0; i < 40 && (await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))) !== 'setup.none'; i++) await page.keyboard.press('Tab');
  const focused = page.locator(':focus');
  await expect(focused).toHaveAttribute('data-testid', 'setup.none');
  // Focus is visible: the focused button draws an outline.
  expect(await focused.evaluate((e) => getComputedStyle(e).outlineStyle)).not.toBe('none');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('setup')).toBeHidden();
  await page.getByTestId('generate.prompt').focus();
  await page.keyboard.type('a small boat on a calm lake');
  for (let i = 0; i < 40 && (await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))) !== 'generate.submit'; i++) await page.keyboard.press('Tab');
  await expect(page.locator(':focus')).toHaveAttribute('data-testid', 'generate.submit');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('result.image')).toHaveAttribute('data-has-image', 'yes', { timeout: SLOW });
});
