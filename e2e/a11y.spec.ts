// Accessibility and phones (issue 25 item 6), checked on the real app: axe-core reports no serious or critical
// violation on each screen (first run, the child's home with a result, the gallery and a picture opened, the PIN
// dialog, the parent area closed and open, models and engine), at desktop and phone width; at 390 px nothing scrolls
// sideways and every control is at least 24 px tall (44 px for the main actions); the path from the first screen to a
// picture works by keyboard alone, at 200 % zoom (a 1280 px window at 200 % is a 640 CSS px viewport at 2 device
// pixels per CSS pixel) and with reduced motion (no transition or animation runs).
import AxeBuilder from '@axe-core/playwright';
import { test, expect, type Page } from '@playwright/test';
import { SLOW } from './helpers';
import { goTo } from './pages/screens';

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

    // The parent area, open (the session that setting the PIN opened), and models and engine.
    for (const screen of ['parent', 'settings'] as const) {
      await goTo(page, screen);
      await expect(page.getByTestId('parent.area')).toHaveAttribute('data-locked', 'no');
      await expect(page.locator('main h2').first()).toBeVisible();
      expect(await seriousViolations(page), `${screen} (open)`).toEqual([]);
      if (width === 390) {
        await noSidewaysScroll(page);
        expect(await smallTargets(page, 'button, input:not([type=checkbox]):not([type=file]), select, textarea, nav a', 24), `${screen} controls`).toEqual([]);
      }
    }
    await page.getByTestId('profile.lock.now').click();
    expect(await seriousViolations(page), 'parent area (locked)').toEqual([]);

    await goTo(page, 'home');
    await page.getByTestId('generate.submit').click();
    await expect(page.getByTestId('result.image')).toHaveAttribute('data-has-image', 'yes', { timeout: SLOW });
    expect(await seriousViolations(page), 'home with a result').toEqual([]);
    if (width === 390) {
      await noSidewaysScroll(page);
      expect(await smallTargets(page, 'button, input:not([type=checkbox]):not([type=file]), select, textarea, nav a', 24), 'home controls').toEqual([]);
      expect(await smallTargets(page, '[data-testid="generate.submit"], [data-testid^="nav."], [data-testid="profile.select"]', 44), 'home main actions').toEqual([]);
    }

    // The gallery, and a picture opened large.
    await goTo(page, 'gallery');
    await expect(page.getByTestId('gallery.item')).toHaveCount(1);
    expect(await seriousViolations(page), 'gallery').toEqual([]);
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

    // The parent log with Mia's entries (her picture's image check was logged), opened inside the session the PIN
    // just opened: its tables scroll in their own box, never the page.
    await page.getByTestId('lock.pin').fill(PIN);
    await page.getByTestId('lock.submit').click();
    await expect(page.getByTestId('lock.dialog')).toBeHidden();
    await goTo(page, 'parent');
    await page.getByTestId('log.open').click();
    await expect(page.getByTestId('log.entry').first()).toBeVisible();
    expect(await seriousViolations(page), 'parent log').toEqual([]);
    if (width === 390) {
      await noSidewaysScroll(page);
      expect(await smallTargets(page, '[data-testid^="log."]:is(button, select)', 24), 'log controls').toEqual([]);
    }
  });
}

test('More options (the size picker) at 390 px: no serious axe violation, nothing sideways, targets big enough', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 900 });
  await page.goto('/');
  await page.getByTestId('setup.none').click();
  await ready(page);
  await page.getByTestId('generate.options').locator('summary').click();
  await page.getByTestId('generate.shape').selectOption('portrait');
  expect(await seriousViolations(page), 'more options').toEqual([]);
  await noSidewaysScroll(page);
  expect(await smallTargets(page, '[data-testid="generate.options"] :is(input, select)', 24), 'option controls').toEqual([]);
});

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

/** Which elements have a transition or an animation that would run (a non-zero duration), as test ids or tags. */
async function moving(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll('body *')]
      .filter((e) => {
        const st = getComputedStyle(e);
        const secs = (v: string) => Math.max(...v.split(',').map((x) => parseFloat(x) || 0));
        return secs(st.transitionDuration) > 0 || (st.animationName !== 'none' && secs(st.animationDuration) > 0);
      })
      .map((e) => e.getAttribute('data-testid') ?? e.tagName.toLowerCase()),
  );
}

test('at 200 % zoom (640 CSS px at 2×) with reduced motion: first run → a child\'s picture, nothing sideways, nothing moving', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 640, height: 400 }, deviceScaleFactor: 2, reducedMotion: 'reduce' });
  const page = await context.newPage();
  try {
    await page.goto('/');
    await expect(page.getByTestId('setup')).toBeVisible();
    expect(await page.evaluate(() => matchMedia('(prefers-reduced-motion: reduce)').matches)).toBe(true);
    await noSidewaysScroll(page);
    expect(await moving(page), 'first run').toEqual([]);
    await page.getByTestId('bundle.demo').click();
    await ready(page);
    await page.getByTestId('profile.new').click();
    await page.getByTestId('profile.name').fill('Mia');
    await page.getByTestId('profile.age').fill('9');
    await page.getByTestId('profile.pin').fill(PIN);
    await noSidewaysScroll(page); // the whole profile form, its categories included
    await page.getByTestId('profile.save').click();
    await expect(page.locator('main')).toHaveAttribute('data-screen', 'home');
    await page.getByTestId('generate.prompt').fill('a red kite over a green hill');
    await page.getByTestId('generate.submit').click();
    await expect(page.getByTestId('result.image')).toHaveAttribute('data-has-image', 'yes', { timeout: SLOW });
    await expect(page.getByTestId('result.profile')).toContainText('Mia');
    await noSidewaysScroll(page);
    expect(await moving(page), 'home with a result').toEqual([]);
    for (const screen of ['gallery', 'parent', 'settings'] as const) {
      await goTo(page, screen);
      await noSidewaysScroll(page);
      expect(await moving(page), screen).toEqual([]);
    }
  } finally {
    await context.close();
  }
});

test('without reduced motion the same controls do fade (so the check above can fail)', async ({ browser }) => {
  const context = await browser.newContext({ reducedMotion: 'no-preference' });
  const page = await context.newPage();
  try {
    await page.goto('/');
    await expect(page.getByTestId('setup')).toBeVisible();
    expect(await moving(page)).toContain('setup.me');
  } finally {
    await context.close();
  }
});
