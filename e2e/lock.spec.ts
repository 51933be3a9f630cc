// The parent lock tried the way a curious child at the same browser would (issue 23): each way around it found in the
// review is a test here that the attempt fails — a model swap, a second tab opened earlier, an open parent log after
// "Lock now", a cleared store, and a system clock moved forward. The one PIN dialog (lock.dialog) is what asks.
import { test, expect, type BrowserContext, type Page } from '@playwright/test';
import { createProfile, enterPin, SLOW, moreOptions } from './helpers';

const PIN = '739146';

const ready = (page: Page) => expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });

async function openApp(page: Page) {
  await page.goto('/');
  await expect(page.getByTestId('profile.select')).toBeEnabled();
}

async function setPin(page: Page) {
  await page.getByTestId('lock.new').fill(PIN);
  await page.getByTestId('lock.new.set').click();
  await expect(page.getByTestId('profile.lock')).toHaveAttribute('data-state', 'unlocked');
}

/** A protected child profile, made active: the device is handed over (the lock closes). */
async function handOverToChild(page: Page, name = 'Mia'): Promise<string> {
  const id = await createProfile(page, 'child', { name });
  await page.getByTestId('profile.select').selectOption(id);
  await expect(page.getByTestId('profile.lock')).toHaveAttribute('data-state', 'locked');
  return id;
}

/** The PIN dialog asked (for `what`); the child cancels it. */
async function refuseDialog(page: Page, what: string | RegExp) {
  await expect(page.getByTestId('lock.dialog')).toBeVisible();
  await expect(page.getByTestId('lock.dialog')).toContainText(what);
  await page.getByTestId('lock.cancel').click();
  await expect(page.getByTestId('lock.dialog')).toBeHidden();
}

/** Profiles and the active id as IndexedDB holds them (not as a tab shows them). */
async function stored(page: Page): Promise<{ profiles: { id: string; name: string; protected: boolean }[]; active?: string }> {
  return page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((res, rej) => {
      const r = indexedDB.open('psa-web');
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    const read = (store: string, key?: string) =>
      new Promise<unknown>((res, rej) => {
        const s = db.transaction(store).objectStore(store);
        const r = key === undefined ? s.getAll() : s.get(key);
        r.onsuccess = () => res(r.result);
        r.onerror = () => rej(r.error);
      });
    const out = { profiles: (await read('profiles')) as { id: string; name: string; protected: boolean }[], active: (await read('meta', 'activeProfileId')) as string | undefined };
    db.close();
    return out;
  });
}

/** Counts the engine's generate requests (the page's messages to its engine worker). */
async function countGenerates(context: BrowserContext) {
  await context.addInitScript(() => {
    const w = window as unknown as { __generates: number };
    w.__generates = 0;
    const post = Worker.prototype.postMessage;
    Worker.prototype.postMessage = function (this: Worker, m: unknown, ...rest: unknown[]) {
      if (m && typeof m === 'object' && (m as { type?: string }).type === 'generate') w.__generates++;
      return (post as (...a: unknown[]) => void).call(this, m, ...rest);
    } as Worker['postMessage'];
  });
  return (page: Page) => page.evaluate(() => (window as unknown as { __generates: number }).__generates);
}

test('a model swap needs the PIN; a protected child refuses a model without its safety parts until the parent allows it', async ({ page, context, baseURL }) => {
  const generates = await countGenerates(context);
  await openApp(page);
  await ready(page);
  await setPin(page);
  const mia = await handOverToChild(page);

  // The child types a model without a safety checker or profile encoder (the built-in plain demo): refused.
  const plain = `${baseURL}/models/demo-plain/`;
  await page.getByTestId('bundle.url').fill(plain);
  await page.getByTestId('bundle.download').click();
  await refuseDialog(page, 'change or remove a model');
  await expect(page.getByTestId('bundle.error')).toHaveAttribute('data-code', 'PIN_REQUIRED');
  await expect(page.getByTestId('bundle.item')).toHaveCount(0);
  await expect(page.getByTestId('bundle.name')).toHaveAttribute('data-bundle-id', /demo/);
  const before = await page.getByTestId('bundle.name').getAttribute('data-bundle-id');
  // Switching back to the demo (a model action too) asks as well.
  await page.getByTestId('bundle.demo').click();
  await refuseDialog(page, 'change or remove a model');

  // The parent installs it (the dialog, then the download) …
  await page.getByTestId('bundle.download').click();
  await enterPin(page, PIN);
  await expect(page.getByTestId('bundle.notice')).toContainText('is installed', { timeout: SLOW });
  await ready(page);
  expect(await page.getByTestId('bundle.name').getAttribute('data-bundle-id')).not.toBe(before);
  await page.getByTestId('profile.lock.now').click();

  // … and Mia's Generate makes nothing on it, saying why in a parent's words; the engine is not asked.
  await page.getByTestId('generate.submit').click();
  const refused = page.getByTestId('generate.refused');
  await expect(refused).toHaveAttribute('data-code', 'MODEL_LACKS_PARTS');
  await expect(refused).toHaveAttribute('data-missing', 'imageChecker embedding');
  await expect(refused).toContainText("lacks a picture safety check and the part that applies a personal profile, which Mia's safety settings need");
  await expect(page.getByTestId('result.image')).toHaveAttribute('data-has-image', 'no');
  expect(await generates(page)).toBe(0);

  // The parent allows this model for Mia (a protected profile's change: the PIN), then it generates.
  await page.locator(`[data-testid="profile.item"][data-profile-id="${mia}"]`).getByTestId('profile.edit').click();
  await page.getByTestId('profile.allowIncomplete').check();
  await page.getByTestId('profile.save').click();
  await enterPin(page, PIN);
  await expect(page.getByTestId('profile.message')).toHaveAttribute('data-code', 'SAVED');
  await page.getByTestId('profile.lock.now').click();
  await expect(page.getByTestId('generate.options')).toHaveCount(0); // a child-style profile: no "More options"
  await page.getByTestId('generate.submit').click();
  await expect(page.getByTestId('result.image')).toHaveAttribute('data-has-image', 'yes', { timeout: SLOW });
  await expect(page.getByTestId('generate.refused')).toHaveCount(0);
  expect(await generates(page)).toBe(1);
});

test('a second tab opened before the handover follows at once, and neither it nor a tab without broadcasts can switch, unprotect or delete', async ({ context }) => {
  await context.route('**/models/**', (r) => r.abort()); // no model needed
  const parent = await context.newPage();
  await openApp(parent);
  const early = await context.newPage();
  await openApp(early);
  // A tab that hears no broadcasts (as if it missed them): it must still decide on what is stored.
  const deaf = await context.newPage();
  await deaf.addInitScript(() => void Object.defineProperty(window, 'BroadcastChannel', { value: undefined }));
  await openApp(deaf);

  await setPin(parent);
  const mia = await handOverToChild(parent);

  // The early tab shows the stored truth without a reload.
  await expect(early.getByTestId('profile.select')).toHaveValue(mia);
  await expect(early.getByTestId('profile.lock')).toHaveAttribute('data-state', 'locked');
  await early.getByTestId('profile.select').selectOption('');
  await refuseDialog(early, 'switch away');
  await early.locator(`[data-testid="profile.item"][data-profile-id="${mia}"]`).getByTestId('profile.edit').click();
  await early.getByTestId('profile.protected').uncheck();
  await early.getByTestId('profile.save').click();
  await refuseDialog(early, 'change a protected profile');
  await early.getByTestId('profile.delete').click();
  await early.getByTestId('profile.delete.confirm').click();
  await refuseDialog(early, 'change a protected profile');

  // The deaf tab still shows nobody chosen; its "no profile" choice is checked against storage and refused.
  await expect(deaf.getByTestId('profile.select')).toHaveValue('');
  await deaf.getByTestId('setup.none').click();
  await refuseDialog(deaf, 'switch away');
  await expect(deaf.getByTestId('profile.select')).toHaveValue(mia); // and it now shows the truth

  const after = await stored(parent);
  expect(after.active).toBe(mia);
  expect(after.profiles).toEqual([expect.objectContaining({ id: mia, name: 'Mia', protected: true })]);
});

test('an open parent log closes on Lock now and on a handover; clearing it asks for the PIN again', async ({ page, context }) => {
  await context.route('**/models/**', (r) => r.abort());
  // Count the browser's persistence requests: setting a PIN asks for it (the lock is worth little if evicted).
  await context.addInitScript(() => {
    const w = window as unknown as { __persist: number };
    w.__persist = 0;
    const s = navigator.storage;
    const real = s.persist.bind(s);
    s.persist = () => {
      w.__persist++;
      return real();
    };
  });
  await openApp(page);
  // A short PIN is allowed, with a hint toward a longer one.
  await page.getByTestId('lock.new').fill('4821');
  await expect(page.getByTestId('lock.pin.hint')).toBeVisible();
  await page.getByTestId('lock.new').fill(PIN);
  await expect(page.getByTestId('lock.pin.hint')).toBeHidden();
  await setPin(page);
  expect(await page.evaluate(() => (window as unknown as { __persist: number }).__persist)).toBeGreaterThan(0);

  const openLog = async () => {
    await page.getByTestId('log.open').click();
    await enterPin(page, PIN);
    await expect(page.getByTestId('log.view')).toHaveAttribute('data-status', 'ready');
  };
  await openLog();
  await page.getByTestId('profile.lock.now').click();
  await expect(page.getByTestId('log.view')).toHaveCount(0);
  await expect(page.getByTestId('log.open')).toBeVisible();

  await openLog();
  await handOverToChild(page);
  await expect(page.getByTestId('log.view')).toHaveCount(0);

  await openLog();
  await page.getByTestId('log.clear').click();
  await page.getByTestId('log.clear.confirm').click();
  await refuseDialog(page, 'delete the parent log');
  await expect(page.getByTestId('log.view')).toHaveAttribute('data-status', 'ready');
  await page.getByTestId('log.clear').click();
  await page.getByTestId('log.clear.confirm').click();
  await enterPin(page, PIN);
  await expect(page.getByTestId('log.empty')).toBeVisible();
});

test('an emptied store fails closed: the first-run question, and Generate makes nothing until a person chooses', async ({ page, context, baseURL }) => {
  const generates = await countGenerates(context);
  await openApp(page);
  await ready(page);
  await setPin(page);
  await handOverToChild(page);

  // Site data cleared (as "clear browsing data", eviction or a private window would leave it).
  const cdp = await context.newCDPSession(page);
  await cdp.send('Storage.clearDataForOrigin', { origin: new URL(baseURL!).origin, storageTypes: 'indexeddb,local_storage' });
  await page.reload();
  await ready(page);
  await expect(page.getByTestId('setup')).toBeVisible();
  await expect(page.getByTestId('profile.select')).toHaveValue('');
  await page.getByTestId('generate.submit').click();
  await expect(page.getByTestId('generate.refused')).toHaveAttribute('data-code', 'NO_PROFILE_CHOSEN');
  await expect(page.getByTestId('result.image')).toHaveAttribute('data-has-image', 'no');
  expect(await generates(page)).toBe(0);

  // A person's choice ("no profile" on purpose) is what makes pictures for nobody in particular.
  await page.getByTestId('setup.none').click();
  await expect(page.getByTestId('setup')).toBeHidden();
  await moreOptions(page);
  await page.getByTestId('generate.steps').fill('2');
  await page.getByTestId('generate.submit').click();
  await expect(page.getByTestId('result.image')).toHaveAttribute('data-has-image', 'yes', { timeout: SLOW });
  expect(await generates(page)).toBe(1);
});

test('a system clock moved forward does not shorten the wrong-PIN wait', async ({ page, context }) => {
  await context.route('**/models/**', (r) => r.abort());
  // The injected clock: Date.now() can be moved forward as a child would move the system clock; performance.now()
  // (which the system clock does not move) is left alone.
  await context.addInitScript(() => {
    const realNow = Date.now.bind(Date);
    let offset = 0;
    (window as unknown as { __moveClock: (ms: number) => void }).__moveClock = (ms) => void (offset += ms);
    Date.now = () => realNow() + offset;
  });
  await openApp(page);
  await setPin(page);
  await page.getByTestId('profile.lock.now').click();
  await page.getByTestId('profile.unlock').click();
  // 3 free wrong tries, then waits of 1, 2, 4, 8, 16 s; the 9th wrong try starts a 32 s wait.
  for (let i = 1; i <= 9; i++) {
    await expect(page.getByTestId('lock.submit')).toBeDisabled(); // empty field
    await expect(page.getByTestId('profile.lock.wait')).toBeHidden({ timeout: 60_000 });
    await page.getByTestId('lock.pin').fill('0000');
    await page.getByTestId('lock.submit').click();
    await expect(page.getByTestId('profile.lock')).toHaveAttribute('data-failures', String(i));
  }
  await expect(page.getByTestId('profile.lock.wait')).toBeVisible();
  await page.evaluate(() => (window as unknown as { __moveClock: (ms: number) => void }).__moveClock(2 * 86_400_000));
  // The page's countdown follows the moved clock and lets the child try; the stored wait does not.
  await expect(page.getByTestId('profile.lock.wait')).toBeHidden();
  await page.getByTestId('lock.pin').fill(PIN);
  await page.getByTestId('lock.submit').click();
  await expect(page.getByTestId('lock.error')).toHaveAttribute('data-code', 'THROTTLED');
  await expect(page.getByTestId('profile.lock')).toHaveAttribute('data-state', 'locked');
});

test('erase everything: the PIN again even in an open session, then the device starts as a first visit', async ({ page, baseURL }) => {
  await openApp(page);
  await ready(page);
  await setPin(page);
  await page.getByTestId('bundle.url').fill(`${baseURL}/models/demo-plain/`);
  await page.getByTestId('bundle.download').click();
  await expect(page.getByTestId('bundle.notice')).toContainText('is installed', { timeout: SLOW });
  await createProfile(page, 'child', { name: 'Mia' });
  await expect(page.getByTestId('profile.lock')).toHaveAttribute('data-state', 'unlocked');

  await page.getByTestId('parent.erase').click();
  await page.getByTestId('parent.erase.confirm').click();
  await refuseDialog(page, 'erase everything');
  expect((await stored(page)).profiles).toHaveLength(1);
  await expect(page.getByTestId('bundle.item')).toHaveCount(1);

  await page.getByTestId('parent.erase').click();
  await page.getByTestId('parent.erase.confirm').click();
  await enterPin(page, PIN);
  await expect(page.getByTestId('setup')).toBeVisible({ timeout: SLOW }); // reloaded into a first visit
  await expect(page.getByTestId('profile.lock')).toHaveAttribute('data-state', 'none');
  await expect(page.getByTestId('profile.item')).toHaveCount(0);
  await expect(page.getByTestId('bundle.list')).toContainText('None yet.');
  expect(await stored(page)).toEqual({ profiles: [], active: undefined });
  await ready(page); // back on the built-in demo
});
