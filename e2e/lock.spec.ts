// The parent lock tried the way a curious child at the same browser would (issue 23): each way around it found in the
// review is a test here that the attempt fails — a model swap, a second tab opened earlier, an open parent log after
// "Lock now", a cleared store, and a system clock moved forward. Since issue 25 the parent area (profiles, lock, log,
// models, erase) is behind the PIN as a whole: its door (parent.area) is the first thing that holds, and the slices'
// own checks (the one PIN dialog, lock.dialog) hold behind it when a stale tab still shows it open.
import type { BrowserContext, Page } from '@playwright/test';
import { App, test, expect } from './pages/app';
import { SLOW } from './helpers';

const PIN = '739146';

/** A protected child profile, made active from the parent's list: the device is handed over (the lock closes). */
async function handOverToChild(app: App, name = 'Mia'): Promise<string> {
  const id = await app.profiles.create('child', { name });
  if ((await app.page.locator('main').getAttribute('data-screen')) !== 'parent') await app.parent.unlock(PIN);
  await app.profiles.select(id);
  await expect(app.parent.lockState).toHaveAttribute('data-state', 'locked');
  await expect(app.parent.door).toHaveAttribute('data-locked', 'yes');
  return id;
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

test('a model swap: the child finds Models behind the door; the parent installs a model the child\'s profile refuses until allowed', async ({ app, page, context, baseURL }) => {
  const generates = await countGenerates(context);
  await app.open();
  await app.engineReady();
  await app.profiles.setPin(PIN);
  const mia = await handOverToChild(app);

  // The child goes to "Models and engine": the door is closed, no model field is there; Unlock asks for the PIN.
  await app.parent.open('settings');
  await expect(app.parent.door).toHaveAttribute('data-locked', 'yes');
  await expect(page.getByTestId('bundle.url')).toHaveCount(0);
  await page.getByTestId('parent.unlock').click();
  await app.pin.refuse('open the parent area');
  await expect(app.parent.door).toHaveAttribute('data-locked', 'yes');
  const before = await page.getByTestId('bundle.name').getAttribute('data-bundle-id');
  expect(before).toMatch(/demo/);

  // The parent installs a model without a safety checker or profile encoder (the built-in plain demo). Within the
  // open session the model action does not ask again.
  await app.parent.unlock(PIN, 'settings');
  await page.getByTestId('bundle.url').fill(`${baseURL}/models/demo-plain/`);
  await page.getByTestId('bundle.download').click();
  await expect(page.getByTestId('bundle.notice')).toContainText('is installed', { timeout: SLOW });
  await app.engineReady();
  expect(await page.getByTestId('bundle.name').getAttribute('data-bundle-id')).not.toBe(before);
  // Lock now while the models are on screen: the door closes at once.
  await app.parent.lockNow();
  await expect(app.parent.door).toHaveAttribute('data-locked', 'yes');
  await expect(page.getByTestId('bundle.url')).toHaveCount(0);

  // … and Mia's Generate makes nothing on it, saying why in a parent's words; the engine is not asked.
  await app.home.open();
  await page.getByTestId('generate.submit').click();
  const refused = page.getByTestId('generate.refused');
  await expect(refused).toHaveAttribute('data-code', 'MODEL_LACKS_PARTS');
  await expect(refused).toHaveAttribute('data-missing', 'imageChecker embedding');
  await expect(refused).toContainText("lacks a picture safety check and the part that applies a personal profile, which Mia's safety settings need");
  await expect(app.home.picture).toHaveAttribute('data-has-image', 'no');
  expect(await generates(page)).toBe(0);

  // The parent allows this model for Mia (a protected profile's change, inside the unlocked area), then it generates.
  await app.parent.unlock(PIN);
  await app.profiles.edit(mia);
  await page.getByTestId('profile.allowIncomplete').check();
  await page.getByTestId('profile.save').click();
  await expect(page.getByTestId('profile.message')).toHaveAttribute('data-code', 'SAVED');
  await app.home.open(); // back on Home: the parent's session ends
  await expect(app.parent.lockState).toHaveAttribute('data-state', 'locked');
  await expect(page.getByTestId('generate.options')).toHaveCount(0); // a child-style profile: no "More options"
  await page.getByTestId('generate.submit').click();
  await expect(app.home.picture).toHaveAttribute('data-has-image', 'yes', { timeout: SLOW });
  await expect(page.getByTestId('generate.refused')).toHaveCount(0);
  expect(await generates(page)).toBe(1);
});

test('tabs opened before the handover: one follows at once and its parent area closes; one that hears nothing is checked against storage', async ({ context }) => {
  await context.route('**/models/**', (r) => r.abort()); // no model needed
  const parent = new App(await context.newPage());
  await parent.open();
  const sam = await parent.profiles.create('adult', { name: 'Sam', protected: false }); // no lock yet
  // Both other tabs show the parent area, open (no lock yet). One hears no broadcasts (as if it missed them).
  const early = new App(await context.newPage());
  await early.open('#parent');
  const deaf = new App(await context.newPage());
  await deaf.page.addInitScript(() => void Object.defineProperty(window, 'BroadcastChannel', { value: undefined }));
  await deaf.open('#parent');
  await expect(deaf.parent.door).toHaveAttribute('data-locked', 'no');

  await parent.parent.open();
  await parent.profiles.setPin(PIN);
  const mia = await handOverToChild(parent);

  // The early tab shows the stored truth without a reload: locked, its parent area closed, the switcher refuses.
  await expect(early.parent.lockState).toHaveAttribute('data-state', 'locked');
  await expect(early.parent.door).toHaveAttribute('data-locked', 'yes');
  await expect(early.page.getByTestId('profile.edit')).toHaveCount(0);
  await early.home.switchTo(sam);
  await early.pin.refuse('switch away');
  await expect(early.page.getByTestId('profile.select')).toHaveValue(mia);

  // The deaf tab still shows its parent area open, with Sam active. Its switch is checked against storage and refused;
  // then it knows the lock, and its door closes.
  await expect(deaf.parent.door).toHaveAttribute('data-locked', 'no');
  await deaf.profiles.select('');
  await deaf.pin.refuse('switch away');
  await expect(deaf.parent.door).toHaveAttribute('data-locked', 'yes');
  await deaf.home.open();
  await expect(deaf.page.getByTestId('profile.select')).toHaveValue(mia); // and it now shows the truth

  const after = await stored(parent.page);
  expect(after.active).toBe(mia);
  expect(after.profiles).toEqual(expect.arrayContaining([expect.objectContaining({ id: mia, name: 'Mia', protected: true }), expect.objectContaining({ id: sam, protected: false })]));
  expect(after.profiles).toHaveLength(2);
});

test('an open parent log closes on Lock now and on a handover; clearing it asks for the PIN again', async ({ app, page, context }) => {
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
  await app.open();
  // A short PIN is allowed, with a hint toward a longer one.
  await page.getByTestId('lock.new').fill('4821');
  await expect(page.getByTestId('lock.pin.hint')).toBeVisible();
  await page.getByTestId('lock.new').fill(PIN);
  await expect(page.getByTestId('lock.pin.hint')).toBeHidden();
  await app.profiles.setPin(PIN);
  expect(await page.evaluate(() => (window as unknown as { __persist: number }).__persist)).toBeGreaterThan(0);
  await app.profiles.create('adult', { name: 'Sam', protected: false }); // ends setup: Home
  await app.parent.open(); // the session is still open from setting the PIN

  // The door takes the PIN; inside the open session the log opens without asking again (its storage is shown the
  // session, which it refuses once the session ends — tests/storage/parent-log.test.ts).
  const openLog = async () => {
    await app.parent.unlock(PIN);
    await page.getByTestId('log.open').click();
    await expect(page.getByTestId('log.view')).toHaveAttribute('data-status', 'ready');
    await expect(app.pin.dialog).toBeHidden();
  };
  await openLog();
  await app.parent.lockNow();
  await expect(page.getByTestId('log.view')).toHaveCount(0);
  await expect(app.parent.door).toHaveAttribute('data-locked', 'yes');

  await openLog();
  await handOverToChild(app);
  await expect(page.getByTestId('log.view')).toHaveCount(0);

  await openLog();
  await page.getByTestId('log.clear').click();
  await page.getByTestId('log.clear.confirm').click();
  await app.pin.refuse('delete the parent log');
  await expect(page.getByTestId('log.view')).toHaveAttribute('data-status', 'ready');
  await page.getByTestId('log.clear').click();
  await page.getByTestId('log.clear.confirm').click();
  await app.pin.enter(PIN);
  await expect(page.getByTestId('log.empty')).toBeVisible();
});

// The parent's session closes after 5 minutes with no input (src/ui/hooks/useParentSession.ts, PARENT_IDLE_MS), on
// the page's own timers and clock, which Playwright's clock replaces: minutes pass in a moment, and only the time
// the test moves. Each step stays inside the session's 10-minute window (UNLOCK_MS), so what closes it is idleness.
test('the parent area locks itself after 5 idle minutes; input before then keeps it open', async ({ app, page, context }) => {
  await context.route('**/models/**', (r) => r.abort());
  await page.clock.install();
  await app.open();
  await app.profiles.setPin(PIN);
  await app.profiles.create('adult', { name: 'Sam', protected: false }); // ends setup: Home
  await app.parent.unlock(PIN); // the session is still open from setting the PIN: no question
  await expect(app.pin.dialog).toBeHidden();

  // Idle: open at 4 min 50 s, locked by 5 min 10 s.
  await page.clock.fastForward('04:50');
  await expect(app.parent.door).toHaveAttribute('data-locked', 'no');
  await page.clock.fastForward('00:20');
  await expect(app.parent.door).toHaveAttribute('data-locked', 'yes');
  await expect(app.parent.lockState).toHaveAttribute('data-state', 'locked');
  await expect(page.getByTestId('parent.unlock')).toBeVisible();

  // Busy: a key at 4 minutes starts the 5 minutes again; at 8 min 50 s (past 5 since the PIN) it is still open.
  await app.parent.unlock(PIN);
  await page.clock.fastForward('04:00');
  await page.keyboard.press('Shift');
  await page.clock.fastForward('04:50');
  await expect(app.parent.door).toHaveAttribute('data-locked', 'no');
  // A tap counts as well: at 9 min 40 s since the PIN, 5 min 40 s since the key, 50 s since the tap — still open.
  await app.parent.door.click({ position: { x: 2, y: 2 } });
  await page.clock.fastForward('00:50');
  await expect(app.parent.door).toHaveAttribute('data-locked', 'no');
  // Then no input: it closes (by now the 10-minute window has run out as well; idleness alone was shown above).
  await page.clock.fastForward('04:30');
  await expect(app.parent.door).toHaveAttribute('data-locked', 'yes');
});

test('an emptied store fails closed: the first-run question, and Generate makes nothing until a person chooses', async ({ app, page, context, baseURL }) => {
  const generates = await countGenerates(context);
  await app.open();
  await app.engineReady();
  await app.profiles.setPin(PIN);
  await handOverToChild(app);
  await app.home.open();

  // Site data cleared (as "clear browsing data", eviction or a private window would leave it).
  const cdp = await context.newCDPSession(page);
  await cdp.send('Storage.clearDataForOrigin', { origin: new URL(baseURL!).origin, storageTypes: 'indexeddb,local_storage' });
  await app.reload();
  await app.engineReady();
  await expect(app.setup.screen).toBeVisible(); // Home's address, but nobody is chosen: the first-run screen
  await expect(page.getByTestId('generate.submit')).toHaveCount(0);
  expect(await generates(page)).toBe(0);

  // A person's choice ("no profile" on purpose) is what makes pictures for nobody in particular.
  await app.setup.noProfile();
  await app.home.generate({ steps: 2 });
  expect(await generates(page)).toBe(1);
});

test('a system clock moved forward does not shorten the wrong-PIN wait', async ({ app, page, context }) => {
  await context.route('**/models/**', (r) => r.abort());
  // The injected clock: Date.now() can be moved forward as a child would move the system clock; performance.now()
  // (which the system clock does not move) is left alone.
  await context.addInitScript(() => {
    const realNow = Date.now.bind(Date);
    let offset = 0;
    (window as unknown as { __moveClock: (ms: number) => void }).__moveClock = (ms) => void (offset += ms);
    Date.now = () => realNow() + offset;
  });
  await app.open();
  await app.profiles.setPin(PIN);
  await app.parent.lockNow();
  await page.getByTestId('profile.unlock').click();
  // 3 free wrong tries, then waits of 1, 2, 4, 8, 16 s; the 9th wrong try starts a 32 s wait.
  for (let i = 1; i <= 9; i++) {
    await expect(page.getByTestId('lock.submit')).toBeDisabled(); // empty field
    await expect(page.getByTestId('profile.lock.wait')).toBeHidden({ timeout: 60_000 });
    await page.getByTestId('lock.pin').fill('0000');
    await page.getByTestId('lock.submit').click();
    await expect(app.parent.lockState).toHaveAttribute('data-failures', String(i));
  }
  await expect(page.getByTestId('profile.lock.wait')).toBeVisible();
  await page.evaluate(() => (window as unknown as { __moveClock: (ms: number) => void }).__moveClock(2 * 86_400_000));
  // The page's countdown follows the moved clock and lets the child try; the stored wait does not.
  await expect(page.getByTestId('profile.lock.wait')).toBeHidden();
  await page.getByTestId('lock.pin').fill(PIN);
  await page.getByTestId('lock.submit').click();
  await expect(page.getByTestId('lock.error')).toHaveAttribute('data-code', 'THROTTLED');
  await expect(app.parent.lockState).toHaveAttribute('data-state', 'locked');
});

test('erase everything: the PIN again even in an open session, then the device starts as a first visit', async ({ app, page, baseURL }) => {
  await app.open();
  await app.engineReady();
  await app.profiles.setPin(PIN);
  await app.profiles.create('child', { name: 'Mia' }); // ends setup; the parent's session stays open
  await app.parent.open('settings');
  await page.getByTestId('bundle.url').fill(`${baseURL}/models/demo-plain/`);
  await page.getByTestId('bundle.download').click();
  await expect(page.getByTestId('bundle.notice')).toContainText('is installed', { timeout: SLOW });
  await app.parent.open('parent');
  await expect(app.parent.lockState).toHaveAttribute('data-state', 'unlocked');

  await page.getByTestId('parent.erase').click();
  await page.getByTestId('parent.erase.confirm').click();
  await app.pin.refuse('erase everything');
  expect((await stored(page)).profiles).toHaveLength(1);

  await page.getByTestId('parent.erase').click();
  await page.getByTestId('parent.erase.confirm').click();
  await app.pin.enter(PIN);
  await expect(app.setup.screen).toBeVisible({ timeout: SLOW }); // reloaded into a first visit
  await expect(app.parent.lockState).toHaveAttribute('data-state', 'none');
  await expect(page.getByTestId('nav.parent')).toHaveCount(0); // no nav until someone is chosen
  expect(await stored(page)).toEqual({ profiles: [], active: undefined });
  await app.setup.noProfile();
  await app.parent.open('settings');
  await expect(page.getByTestId('bundle.list')).toContainText('None yet.');
  await app.engineReady(); // back on the built-in demo
});
