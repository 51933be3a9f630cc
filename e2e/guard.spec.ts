// The safety layers as a family meets them, in Chromium on the demo bundle (the default backend: WASM on a
// software GPU): an adult who banned Violence gets a steered picture with the "adjusted for this profile" badge (and
// the engine is asked for SLD and the personalized negative); a child's banned prompt shows the explanation in child
// words instead of an image, with no generate request sent to the engine at all; the parent log, behind the PIN,
// lists both. A child's allowed prompt still goes through the image stage (stricter for minors); when the checker
// flags, the page says the picture was blurred and the log records it. Engine requests are counted page-side, at
// the Worker's postMessage; to make the tiny checker flag for sure, the test (page-side, after recording what the
// app asked) raises the request's `adjustment` when window.__forceFlag is set — the app's own request is unchanged.
// The text stages' classifier stops a child's prompt no word list holds (no engine request); the engine's semantic
// check steers an adult's prompt that both text stages let through.
import { test, expect, type Page } from '@playwright/test';
import { createProfile, enterPin, SLOW, watchConsole, moreOptions } from './helpers';
import { goTo } from './pages/screens';

const PIN = '582017';

interface SentGenerate {
  negativePrompt?: string;
  sld?: { concept: string };
  imageCheck?: unknown;
  semanticGuard?: { categories: Record<string, string> };
}

async function countGenerates(page: Page) {
  await page.addInitScript(() => {
    const w = window as unknown as { __generates: unknown[]; __forceFlag?: boolean };
    w.__generates = [];
    const post = Worker.prototype.postMessage;
    Worker.prototype.postMessage = function (this: Worker, msg: unknown, ...rest: unknown[]) {
      const m = msg as { type?: unknown; params?: { prompt: string; negativePrompt?: string; sld?: unknown; imageCheck?: unknown; semanticGuard?: unknown } };
      if (m && typeof m === 'object' && m.type === 'generate' && m.params) {
        const { negativePrompt, sld, imageCheck, semanticGuard } = m.params;
        w.__generates.push({ negativePrompt, sld, imageCheck: imageCheck && { ...(imageCheck as object) }, semanticGuard });
        // The highest score is cosine − threshold + adjustment; with the engine's largest adjustment (1) it is > 0 on the
        // demo checker (safety-checker.spec.ts steers it with -top + 0.05, which must itself be ≥ -1): the checker flags.
        if (w.__forceFlag && imageCheck) msg = { ...m, params: { ...m.params, imageCheck: { ...(imageCheck as object), adjustment: 1 } } };
      }
      return (post as (...a: unknown[]) => void).call(this, msg, ...rest);
    } as Worker['postMessage'];
  });
  return () => page.evaluate(() => (window as unknown as { __generates: SentGenerate[] }).__generates);
}

async function submit(page: Page, prompt: string) {
  await page.getByTestId('generate.prompt').fill(prompt);
  // A child-style profile has no "More options" (its pictures take the default steps).
  if (await page.getByTestId('generate.options').count()) {
    await moreOptions(page);
    await page.getByTestId('generate.steps').fill('3');
  }
  await page.getByTestId('generate.submit').click();
}

test('blocked for a child (no engine request, child words), adjusted for an adult, both in the parent log', async ({ page }) => {
  const sent = await countGenerates(page);
  const problems = watchConsole(page);
  await page.goto('/');
  await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
  await page.getByTestId('lock.new').fill(PIN);
  await page.getByTestId('lock.new.set').click();
  await expect(page.getByTestId('profile.lock')).toHaveAttribute('data-state', 'unlocked');

  // An adult who banned Violence: a prompt about it is steered, not blocked.
  const sam = await createProfile(page, 'adult', {
    name: 'Sam',
    protected: false,
    patch: (p) => p.getByTestId('profile.category.Violence.choice').selectOption('ban').then(() => undefined),
  });
  await page.getByTestId('profile.select').selectOption(sam);
  await expect(page.getByTestId('generate.embedding')).toHaveAttribute('data-status', /ready|unsupported/, { timeout: SLOW });
  const n = Number(await page.getByTestId('result.image').getAttribute('data-result-n'));
  await submit(page, 'a knife fight in an alley');
  await expect.poll(async () => Number(await page.getByTestId('result.image').getAttribute('data-result-n')), { timeout: SLOW }).toBeGreaterThan(n);
  await expect(page.getByTestId('result.image')).toHaveAttribute('data-has-image', 'yes');
  const badge = page.getByTestId('result.adjusted');
  await expect(badge).toContainText('adjusted for this profile');
  await expect(badge.getByTestId('result.explanation')).toBeHidden();
  await badge.locator('summary').click();
  await expect(badge.getByTestId('result.explanation')).toBeVisible();
  await expect(badge.getByTestId('result.explanation')).toHaveAttribute('data-category', 'Violence');
  const afterSam = await sent();
  expect(afterSam).toHaveLength(1);
  expect(afterSam[0].sld?.concept).toContain('violence');
  expect(afterSam[0].negativePrompt).toContain('violence');

  // A child (protected, child wording): a banned prompt is stopped before the engine.
  const mia = await createProfile(page, 'child', { name: 'Mia' });
  await page.getByTestId('profile.select').selectOption(mia);
  await expect(page.getByTestId('profile.lock')).toHaveAttribute('data-state', 'locked');
  await goTo(page, 'home');
  await expect(page.getByTestId('generate.submit')).toBeEnabled({ timeout: SLOW });
  await submit(page, 'a bloody knife fight');
  const explanation = page.getByTestId('result.blocked').getByTestId('result.explanation').first();
  await expect(explanation).toBeVisible();
  await expect(explanation).toHaveAttribute('data-style', 'child');
  await expect(explanation).toHaveAttribute('data-action', 'blocked');
  const words = (await page.getByTestId('result.blocked').innerText()).toLowerCase();
  for (const trigger of ['bloody', 'blood', 'knife', 'fight']) expect(words).not.toContain(trigger);
  await expect(page.getByTestId('result.image')).toBeHidden();
  await expect(page.getByTestId('result.image')).toHaveAttribute('data-has-image', 'no');
  await expect(page.getByTestId('result.adjusted')).toHaveCount(0);
  await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready');
  expect(await sent()).toHaveLength(1); // still only Sam's request

  // The parent log, after the PIN at the parent area's door (the open session is enough for the log), has both.
  await goTo(page, 'parent');
  await page.getByTestId('parent.unlock').click();
  await enterPin(page, PIN);
  await page.getByTestId('log.open').click();
  await expect(page.getByTestId('log.view')).toHaveAttribute('data-status', 'ready');
  await expect(page.getByTestId('lock.dialog')).toBeHidden(); // not asked again (the view could not be ready otherwise)
  const rows = page.getByTestId('log.entry');
  await expect(rows.filter({ hasText: 'Mia' }).filter({ hasText: 'Blocked' }).first()).toBeVisible();
  // Which check decided, in plain words: these prompts were stopped by the word lists.
  await expect(rows.filter({ hasText: 'Mia' }).filter({ hasText: 'Violence' }).first().getByTestId('log.entry.source')).toHaveText('word list');
  await expect(rows.filter({ hasText: 'Sam' }).filter({ hasText: 'Adjusted' }).getByTestId('log.entry.source')).toHaveAttribute('data-source', 'lexicon');
  await expect(rows.filter({ hasText: 'Mia' }).filter({ hasText: 'Violence' }).first()).toBeVisible();
  await expect(rows.filter({ hasText: 'Sam' }).filter({ hasText: 'Adjusted' })).toHaveCount(1);
  // Mia's entries keep no prompt unless the parent turned that on.
  await expect(rows.filter({ hasText: 'Mia' }).filter({ hasText: 'knife' })).toHaveCount(0);
  // The lasting counts above the entries: one row per profile and category, a column per action.
  const counts = page.getByTestId('log.counts').getByTestId('log.counts.row');
  await expect(counts.filter({ hasText: 'Sam' }).filter({ hasText: 'Violence' }).locator('[data-action="steered"]')).toHaveText('1');
  await expect(counts.filter({ hasText: 'Mia' }).filter({ hasText: 'Violence' }).locator('[data-action="blocked"]')).not.toHaveText('0');
  await expect(page.getByTestId('log.dropped')).toHaveCount(0); // far from the cap: nothing dropped, no note
  expect(problems.problems).toEqual([]);
});

test('the image stage for a child: asked with the stricter threshold; a flagged picture is blurred, said and logged', async ({ page }) => {
  const sent = await countGenerates(page);
  const problems = watchConsole(page);
  await page.goto('/');
  await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
  const kid = await createProfile(page, 'child', { name: 'Noa', protected: false });
  await page.getByTestId('profile.select').selectOption(kid);
  await expect(page.getByTestId('generate.embedding')).toHaveAttribute('data-status', /ready|unsupported/, { timeout: SLOW });
  await page.evaluate(() => ((window as unknown as { __forceFlag: boolean }).__forceFlag = true));
  const n = Number(await page.getByTestId('result.image').getAttribute('data-result-n'));
  await submit(page, 'a cat on a sofa');
  await expect.poll(async () => Number(await page.getByTestId('result.image').getAttribute('data-result-n')), { timeout: SLOW }).toBeGreaterThan(n);
  expect((await sent())[0].imageCheck).toEqual({ adjustment: 0.01, blur: true, q16: { threshold: 0.5 } });
  const notice = page.getByTestId('result.blurred');
  await expect(notice).toContainText('blurred for this profile');
  await expect(notice.getByTestId('result.explanation')).toHaveAttribute('data-stage', 'image');
  await expect(notice.getByTestId('result.explanation')).toHaveAttribute('data-style', 'child');
  await expect(page.getByTestId('result.adjusted')).toHaveCount(0); // the prompt itself was allowed

  await goTo(page, 'parent');
  await page.getByTestId('log.open').click(); // no PIN set in this test: the log opens directly
  const rows = page.getByTestId('log.entry');
  await expect(rows).toHaveCount(2); // the checker's (flagged, blurred) and Q16's (its own verdict on the tiny prompts)
  const checkerRow = rows.filter({ hasText: 'Sexuality' });
  await expect(checkerRow).toHaveCount(1);
  await expect(checkerRow).toContainText('Image');
  await expect(checkerRow).toContainText('Blurred');
  await expect(rows.filter({ hasText: 'Image (Q16)' })).toHaveCount(1);
  expect(problems.problems).toEqual([]);
});

// The classifier stage (after the word lists, before any engine work): a bare "hate" is deliberately not a lexicon
// word ("a cat that hates baths"), but the classifier reads it as Hate over the children's (recall) threshold, so a
// child's prompt is stopped on the page with no engine request at all.
test('the classifier blocks a child\'s prompt the word lists let through: child words, no engine request, logged', async ({ page }) => {
  const sent = await countGenerates(page);
  const problems = watchConsole(page);
  await page.goto('/');
  await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
  const kid = await createProfile(page, 'child', { name: 'Ari', protected: false });
  await page.getByTestId('profile.select').selectOption(kid);
  await expect(page.getByTestId('generate.embedding')).toHaveAttribute('data-status', /ready|unsupported/, { timeout: SLOW });
  await submit(page, 'hate');
  const explanation = page.getByTestId('result.blocked').getByTestId('result.explanation').first();
  await expect(explanation).toBeVisible({ timeout: SLOW });
  await expect(explanation).toHaveAttribute('data-style', 'child');
  await expect(explanation).toHaveAttribute('data-category', 'Hate');
  expect((await page.getByTestId('result.blocked').innerText()).toLowerCase()).not.toMatch(/\bhate|classifier|score/);
  await expect(page.getByTestId('result.image')).toHaveAttribute('data-has-image', 'no');
  expect(await sent()).toHaveLength(0); // stopped before the engine

  await goTo(page, 'parent');
  await page.getByTestId('log.open').click(); // no PIN set in this test
  const rows = page.getByTestId('log.entry');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('Blocked');
  await expect(rows.first()).toContainText('Hate');
  await expect(rows.first().getByTestId('log.entry.source')).toHaveText('learned classifier');
  await expect(rows.first().getByTestId('log.entry.source')).toHaveAttribute('data-source', 'classifier');
  expect(problems.problems).toEqual([]);
});

// The semantic check (engine, before any U-Net step) on the demo bundle's concepts. Every demo concept phrase but
// "hate" is a lexicon word, and "hate" is now the classifier's for minors (test above); an adult's strict thresholds
// let it through both text stages, so the engine's check is what catches it: an adult (unprotected, so a banned
// category steers) who banned Hate and chose child wording gets the picture steered, explained in child words.
test('the semantic check steers an adult\'s prompt both text stages let through: explained in child words, logged', async ({ page }) => {
  const sent = await countGenerates(page);
  const problems = watchConsole(page);
  await page.goto('/');
  await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
  const lee = await createProfile(page, 'adult', {
    name: 'Lee',
    protected: false,
    patch: async (p) => {
      await p.getByTestId('profile.category.Hate.choice').selectOption('ban');
      await p.getByTestId('profile.style').selectOption('child');
    },
  });
  await page.getByTestId('profile.select').selectOption(lee);
  await expect(page.getByTestId('generate.embedding')).toHaveAttribute('data-status', /ready|unsupported/, { timeout: SLOW });
  const n = Number(await page.getByTestId('result.image').getAttribute('data-result-n'));
  await submit(page, 'hate');
  await expect.poll(async () => Number(await page.getByTestId('result.image').getAttribute('data-result-n')), { timeout: SLOW }).toBeGreaterThan(n);
  const badge = page.getByTestId('result.adjusted');
  await expect(badge).toContainText('adjusted for this profile');
  await badge.locator('summary').click();
  const explanation = badge.getByTestId('result.explanation');
  await expect(explanation).toHaveAttribute('data-style', 'child');
  await expect(explanation).toHaveAttribute('data-category', 'Hate');
  expect((await badge.innerText()).toLowerCase()).not.toMatch(/\bhate/);
  const requests = await sent();
  expect(requests).toHaveLength(1); // the text stages allowed it: the engine was asked, with the semantic check
  expect(requests[0].semanticGuard?.categories.Hate).toBe('steer');

  await goTo(page, 'parent');
  await page.getByTestId('log.open').click(); // no PIN set in this test
  const rows = page.getByTestId('log.entry');
  // The semantic check's steer, and Q16's verdict on the picture (Lee bans Hate, a category Q16 stands for).
  await expect(rows).toHaveCount(2);
  const semanticRow = rows.filter({ hasText: 'Hate' });
  await expect(semanticRow).toHaveCount(1);
  await expect(semanticRow).toContainText('Adjusted');
  await expect(semanticRow.getByTestId('log.entry.source')).toHaveText('meaning check');
  await expect(semanticRow.getByTestId('log.entry.source')).toHaveAttribute('data-source', 'semantic');
  await expect(rows.filter({ hasText: 'Image (Q16)' }).getByTestId('log.entry.source')).toHaveText('image check (Q16)');
  await expect(rows.filter({ hasText: 'Image (Q16)' })).toHaveCount(1);
  expect(problems.problems).toEqual([]);
});
