// Profiles as a parent meets them, in Chromium with its real IndexedDB and the real engine on the demo bundle:
// a child profile from the preset behind a PIN with its bans and reasons; wrong PINs throttled across a reload
// and a second tab; no PIN in plain text anywhere in the page's storage; a reload in the middle of a save leaves
// one whole version; two profiles give different pictures from one seed, each result naming its profile, each
// embedding computed once per profile text; and nothing about a profile leaves the page in any request.
import fs from 'node:fs';
import { test, expect, type Page, type Request } from '@playwright/test';
import { countEmbedRequests, createProfile, enterPin, generateImage, record, resultPixels, SLOW, watchConsole } from './helpers';
import { goTo } from './pages/screens';

const PIN = '739146';

/** Every record of every IndexedDB database of the page, plus local/session storage, as one searchable text. */
async function dumpStorage(page: Page): Promise<string> {
  return page.evaluate(async () => {
    const show = (v: unknown): unknown => {
      if (ArrayBuffer.isView(v)) {
        const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
        // Numbers and the bytes read as text: a PIN stored as ASCII bytes would show in the second.
        return { bytes: Array.from(bytes), latin1: String.fromCharCode(...bytes) };
      }
      if (v instanceof ArrayBuffer) return show(new Uint8Array(v));
      if (Array.isArray(v)) return v.map(show);
      if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, show(x)]));
      return v;
    };
    const out: unknown[] = [];
    for (const info of await indexedDB.databases()) {
      const db = await new Promise<IDBDatabase>((res, rej) => {
        const r = indexedDB.open(info.name!);
        r.onsuccess = () => res(r.result);
        r.onerror = () => rej(r.error);
      });
      for (const name of Array.from(db.objectStoreNames)) {
        const rows = await new Promise<unknown[]>((res, rej) => {
          const acc: unknown[] = [];
          const c = db.transaction(name).objectStore(name).openCursor();
          c.onsuccess = () => {
            if (!c.result) return res(acc);
            acc.push([c.result.key, show(c.result.value)]);
            c.result.continue();
          };
          c.onerror = () => rej(c.error);
        });
        out.push({ db: info.name, store: name, rows });
      }
      db.close();
    }
    out.push({ localStorage: { ...localStorage }, sessionStorage: { ...sessionStorage } });
    return JSON.stringify(out);
  });
}

/** The profiles store's records, read raw from IndexedDB (not through the app). */
async function storedProfiles(page: Page): Promise<{ id: string; name: string; age: number; customWords: string[] }[]> {
  return page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((res, rej) => {
      const r = indexedDB.open('psa-web');
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    const all = await new Promise<unknown[]>((res, rej) => {
      const r = db.transaction('profiles').objectStore('profiles').getAll();
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    db.close();
    return all as { id: string; name: string; age: number; customWords: string[] }[];
  });
}

/** The parent screen, its door opened with the PIN when a lock is set and the session closed. */
async function openParent(page: Page) {
  await goTo(page, 'parent');
  if ((await page.getByTestId('parent.area').getAttribute('data-locked')) === 'yes') {
    await page.getByTestId('parent.unlock').click();
    await enterPin(page, PIN);
  }
  await expect(page.getByTestId('parent.area')).toHaveAttribute('data-locked', 'no');
}

async function openApp(page: Page, hash = '') {
  await page.goto(`/${hash}`);
  await expect(page.locator('main')).not.toHaveAttribute('data-screen', 'loading');
}

async function setPin(page: Page, pin = PIN) {
  await page.getByTestId('lock.new').fill(pin);
  await page.getByTestId('lock.new.set').click();
  await expect(page.getByTestId('profile.lock')).toHaveAttribute('data-state', 'unlocked');
}

async function editProfile(page: Page, id: string) {
  await openParent(page);
  await page.locator(`[data-testid="profile.item"][data-profile-id="${id}"]`).getByTestId('profile.edit').click();
  await expect(page.getByTestId('profile.editor')).toHaveAttribute('data-profile-id', id);
}


test('a child profile from the preset, behind a PIN: its bans with reasons, the floor, and no PIN in storage', async ({ page }) => {
  await openApp(page);
  await expect(page.getByTestId('profile.lock')).toHaveAttribute('data-state', 'none');
  await setPin(page);

  await page.getByTestId('profile.preset').selectOption('child');
  await page.getByTestId('profile.new').click();
  await expect(page.getByTestId('profile.age')).toHaveValue('9');
  await expect(page.getByTestId('profile.protected')).toBeChecked();
  await page.getByTestId('profile.name').fill('Mia');
  for (const c of ['Hate', 'Violence', 'Self-Harm', 'Shocking']) {
    const row = page.getByTestId(`profile.category.${c}`);
    await expect(row).toHaveAttribute('data-state', 'banned');
    await expect(row).toContainText(`${c}: suggested for every child under 13`);
  }
  await expect(page.getByTestId('profile.category.Sexuality')).toContainText('always banned for everyone under 18');
  // The Child preset starts with Harassment and Propaganda banned as the parent's choices (PSA's table leaves them).
  for (const c of ['Harassment', 'Propaganda']) {
    await expect(page.getByTestId(`profile.category.${c}`)).toHaveAttribute('data-state', 'banned');
    await expect(page.getByTestId(`profile.category.${c}`)).toHaveAttribute('data-source', 'parent');
  }
  // The floor cannot be lowered: "allow" is not offered for Sexuality, but is for Violence.
  await expect(page.getByTestId('profile.category.Sexuality.choice').locator('option[value="allow"]')).toBeDisabled();
  await expect(page.getByTestId('profile.category.Violence.choice').locator('option[value="allow"]')).toBeEnabled();
  // The parent can lift a choice: Harassment allowed, still shown as the parent's choice.
  await page.getByTestId('profile.category.Harassment.choice').selectOption('allow');
  await expect(page.getByTestId('profile.category.Harassment')).toHaveAttribute('data-state', 'allowed');
  await expect(page.getByTestId('profile.category.Harassment')).toHaveAttribute('data-source', 'parent');
  const id = (await page.getByTestId('profile.editor').getAttribute('data-profile-id'))!;
  await page.getByTestId('profile.save').click();
  await expect(page.getByTestId('profile.message')).toHaveAttribute('data-code', 'SAVED');

  // The first profile ends setup: Home, where the switcher hands the device over by choosing her.
  await page.getByTestId('profile.select').selectOption(id);
  // Handing the device to the child: the lock closes, and switching away needs the PIN.
  await expect(page.getByTestId('profile.lock')).toHaveAttribute('data-state', 'locked');
  await page.getByTestId('profile.select').selectOption('');
  // The one PIN dialog asks; cancelling it changes nothing and says why.
  await expect(page.getByTestId('lock.dialog')).toBeVisible();
  await expect(page.getByTestId('lock.dialog')).toContainText('switch away from a protected profile');
  await page.getByTestId('lock.cancel').click();
  await expect(page.getByTestId('lock.dialog')).toBeHidden();
  await expect(page.getByTestId('profile.message')).toHaveAttribute('data-code', 'PIN_REQUIRED');
  await expect(page.getByTestId('profile.select')).toHaveValue(id);
  await expect(page.getByTestId('generate.profile')).toContainText('Mia');

  // After a reload the profile, its choice and the active pick are still there, and it is still locked: the parent
  // area's door asks for the PIN (Escape closes the dialog like any dialog, and the door stays shut).
  await page.reload();
  await expect(page.getByTestId('profile.select')).toHaveValue(id);
  await expect(page.getByTestId('profile.lock')).toHaveAttribute('data-state', 'locked');
  await goTo(page, 'parent');
  await expect(page.getByTestId('parent.area')).toHaveAttribute('data-locked', 'yes');
  await expect(page.getByTestId('profile.edit')).toHaveCount(0);
  await page.getByTestId('parent.unlock').click();
  await expect(page.getByTestId('lock.dialog')).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('lock.dialog')).toBeHidden();
  await expect(page.getByTestId('parent.area')).toHaveAttribute('data-locked', 'yes');
  expect((await storedProfiles(page)).map((p) => p.name)).toEqual(['Mia']);
  await editProfile(page, id); // the PIN opens the door
  await expect(page.getByTestId('profile.category.Harassment')).toHaveAttribute('data-source', 'parent');
  await expect(page.getByTestId('profile.category.Harassment')).toHaveAttribute('data-state', 'allowed');

  const dump = await dumpStorage(page);
  expect(dump).toContain('Mia'); // the scan does see the stored records
  expect(dump).not.toContain(PIN);
});

test('wrong PINs are throttled; the wait survives a reload and holds in a second tab, even for the right PIN', async ({ page, context }) => {
  // The lock needs no model: keeping the engine from loading keeps each page load short, so the reload and the
  // second tab surely happen inside the wait even on a busy machine.
  await context.route('**/models/**', (r) => r.abort());
  await openApp(page);
  await setPin(page);
  await page.getByTestId('profile.lock.now').click();
  await expect(page.getByTestId('profile.lock')).toHaveAttribute('data-state', 'locked');

  // 3 free wrong tries, then waits of 1, 2, 4, 8, 16 s; the 9th wrong try starts a 32 s wait (long enough for a
  // reload and a second tab on a busy machine).
  await page.getByTestId('profile.unlock').click();
  for (let i = 1; i <= 9; i++) {
    await expect(page.getByTestId('profile.lock.wait')).toBeHidden({ timeout: 60_000 });
    await page.getByTestId('lock.pin').fill('0000');
    await page.getByTestId('lock.submit').click();
    await expect(page.getByTestId('profile.lock')).toHaveAttribute('data-failures', String(i));
    await expect(page.getByTestId('lock.error')).toHaveAttribute('data-code', 'WRONG_PIN');
  }
  // The dialog stays open and says how long to wait; its OK waits too.
  await expect(page.getByTestId('lock.error')).toContainText(/Try again in \d+ s/);
  await expect(page.getByTestId('lock.submit')).toBeDisabled();
  await expect(page.getByTestId('profile.lock.wait')).toBeVisible();

  await page.reload();
  await expect(page.getByTestId('profile.lock.wait')).toContainText(/wait \d+ s/);
  const second = await context.newPage();
  await openApp(second);
  await expect(second.getByTestId('profile.lock.wait')).toBeVisible();
  await second.getByTestId('profile.unlock').click();
  await second.getByTestId('lock.pin').fill(PIN);
  await second.getByTestId('lock.submit').click();
  await expect(second.getByTestId('lock.error')).toHaveAttribute('data-code', 'THROTTLED');
  await expect(second.getByTestId('profile.lock')).toHaveAttribute('data-state', 'locked');

  // Once the wait is over, the right PIN opens it (and the count starts again).
  await expect(page.getByTestId('profile.lock.wait')).toBeHidden({ timeout: 60_000 });
  await page.getByTestId('profile.unlock').click();
  await enterPin(page, PIN);
  await expect(page.getByTestId('profile.lock')).toHaveAttribute('data-state', 'unlocked');
  await expect(page.getByTestId('profile.lock')).toHaveAttribute('data-failures', '0');
});

test('a reload in the middle of a save leaves either the old or the new profile, never a mix', async ({ page }) => {
  await openApp(page);
  const id = await createProfile(page, 'adult', { name: 'Version 0', age: 30, words: 'word0', protected: false });
  const outcomes: string[] = [];
  let stored = 0; // the version IndexedDB holds
  for (let v = 1; v <= 4; v++) {
    // Odd rounds hold the save's transaction open after its write (as a slow disk would) and reload inside it;
    // even rounds click Save and reload in the same task.
    const hold = v % 2 === 1;
    await editProfile(page, id);
    await page.getByTestId('profile.name').fill(`Version ${v}`);
    await page.getByTestId('profile.age').fill(String(30 + v));
    await page.getByTestId('profile.words').fill(`word${v}`);
    if (hold) {
      await page.evaluate(() => {
        const w = window as unknown as { __held?: boolean };
        const put = IDBObjectStore.prototype.put;
        IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
          const req = put.apply(this, args);
          if (this.name === 'profiles') {
            IDBObjectStore.prototype.put = put;
            // Keep the transaction busy (uncommitted) for 5 s with reads on the same store.
            const store = this;
            const until = Date.now() + 5000;
            const spin = () => {
              if (Date.now() < until) store.count().onsuccess = spin;
            };
            spin();
            w.__held = true;
          }
          return req;
        };
        (document.querySelector('[data-testid="profile.save"]') as HTMLButtonElement).click();
      });
      await page.waitForFunction(() => (window as unknown as { __held?: boolean }).__held === true);
      await page.reload();
    } else {
      await page.evaluate(() => {
        (document.querySelector('[data-testid="profile.save"]') as HTMLButtonElement).click();
        location.reload();
      });
    }
    await expect(page.getByTestId('profile.select')).toBeEnabled();
    const rows = await storedProfiles(page);
    expect(rows).toHaveLength(1);
    const n = Number(rows[0].name.replace('Version ', ''));
    // Whole versions only: name, age and words all from the same save, and only the previous or the new one.
    expect(rows[0]).toMatchObject({ id, name: `Version ${n}`, age: 30 + n, customWords: [`word${n}`] });
    expect([stored, v]).toContain(n);
    outcomes.push(`${hold ? 'held' : 'plain'}:${n === v ? 'new' : 'old'}`);
    stored = n;
  }
  record('profiles.reloadDuringSave', outcomes);
  // The held rounds did interrupt an open write: the page went away before it committed, and the old version stayed.
  expect(outcomes.filter((o) => o.startsWith('held'))).toEqual(['held:old', 'held:old']);
});

test('profile files, behind the parent area\'s PIN: export is encrypted unless chosen plain, the file hides the profile and imports back as a copy', async ({ page }) => {
  await page.context().route('**/models/**', (r) => r.abort()); // no model needed
  await openApp(page);
  await setPin(page);
  const id = await createProfile(page, 'child', { name: 'Quillon Marsh', words: 'glimmerwort' });
  await page.getByTestId('profile.lock.now').click();
  await openParent(page); // the door: the PIN, once for the parent's session
  await page.getByText('Export or import profiles').click();
  // Encrypted by default: without a passphrase nothing is written, and a plain file needs the explicit box, which
  // first says what such a file exposes.
  await page.getByTestId('profile.export').click();
  await expect(page.getByTestId('profile.message')).toHaveAttribute('data-code', 'PASSPHRASE_REQUIRED');
  await expect(page.getByTestId('profile.export.plainWarning')).toHaveCount(0);
  await page.getByTestId('profile.export.plain').check();
  for (const word of ['age', 'gender', 'religion', 'health', 'blocked words']) await expect(page.getByTestId('profile.export.plainWarning')).toContainText(word);
  await page.getByTestId('profile.export.plain').uncheck();
  await page.getByTestId('profile.file.passphrase').fill('correct horse battery');
  const downloaded = page.waitForEvent('download');
  await page.getByTestId('profile.export').click(); // inside the open session: not asked twice
  await expect(page.getByTestId('lock.dialog')).toBeHidden();
  await expect(page.getByTestId('profile.lock')).toHaveAttribute('data-state', 'unlocked');
  const download = await downloaded;
  await expect(page.getByTestId('profile.message')).toHaveAttribute('data-code', 'EXPORTED');
  const file = fs.readFileSync((await download.path())!, 'utf8');
  expect(JSON.parse(file)).toHaveProperty('encrypted');
  for (const secret of ['Quillon', 'glimmerwort', PIN]) expect(file).not.toContain(secret);

  const upload = { name: 'profiles.json', mimeType: 'application/json', buffer: Buffer.from(file) };
  await page.getByTestId('profile.file.passphrase').fill('wrong passphrase');
  await page.getByTestId('profile.import').setInputFiles(upload);
  await expect(page.getByTestId('profile.message')).toHaveAttribute('data-code', 'IMPORT_FAILED');
  expect(await storedProfiles(page)).toHaveLength(1);

  await page.getByTestId('profile.file.passphrase').fill('correct horse battery');
  await page.getByTestId('profile.import').setInputFiles(upload);
  await expect(page.getByTestId('profile.message')).toHaveAttribute('data-code', 'IMPORTED');
  const rows = await storedProfiles(page);
  expect(rows.map((r) => r.name)).toEqual(['Quillon Marsh', 'Quillon Marsh']);
  expect(rows.filter((r) => r.id === id)).toHaveLength(1); // the saved one was not overwritten
});

test('two profiles: different pictures from one seed, each named; embeddings computed once per text; nothing leaves the page', async ({ page, context, baseURL }) => {
  const requests: Request[] = [];
  // Context-level: dedicated workers' requests (model files, the profile encoder) are reported here too.
  context.on('request', (r) => requests.push(r));
  const embeds = await countEmbedRequests(context, page);
  const generate = async (seed = 7) => {
    await generateImage(page, { seed, steps: 3 });
    await expect(page.getByTestId('error')).toHaveCount(0);
  };

  const A = { name: 'Zephyrine Quokka', age: 14, gender: 'female', religion: 'Buddhism', physical: 'hearing impairment', mental: 'anxiety', words: 'marzipan-unicorn' };
  const B = { name: 'Orlando Pemberton', age: 47, gender: 'male', religion: 'Islam', physical: 'visual impairment', mental: 'war', words: 'tangerine-zeppelin' };

  const console = watchConsole(page);
  await openApp(page);
  await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
  await setPin(page);
  const idA = await createProfile(page, 'teen', { ...A, protected: false });
  await page.getByTestId('profile.select').selectOption(idA);
  await expect(page.getByTestId('generate.embedding')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
  expect(await embeds()).toBe(1);
  await generate();
  await expect(page.getByTestId('result.profile')).toHaveText(`Made for ${A.name}`);
  const pixelsA = await resultPixels(page);
  await generate();
  expect(await embeds()).toBe(1); // a second picture reuses the embedding
  expect(await resultPixels(page)).toEqual(pixelsA); // same profile, same seed: same picture

  await openParent(page);
  const idB = await createProfile(page, 'adult', { ...B, protected: false });
  await page.getByTestId('profile.select').selectOption(idB);
  await goTo(page, 'home');
  await expect(page.getByTestId('generate.embedding')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
  await generate();
  expect(await embeds()).toBe(2);
  await expect(page.getByTestId('result.profile')).toHaveText(`Made for ${B.name}`);
  const pixelsB = await resultPixels(page);
  expect(pixelsB.length).toBe(pixelsA.length);
  const differing = pixelsB.filter((v, i) => v !== pixelsA[i]).length;
  record('profiles.twoProfilesDifferingBytes', { differing, of: pixelsA.length });
  expect(differing).toBeGreaterThan(0);

  // A name change does not touch the embedding text; an age change does.
  await editProfile(page, idB);
  await page.getByTestId('profile.name').fill(`${B.name} Jr`);
  await page.getByTestId('profile.save').click();
  await expect(page.getByTestId('profile.message')).toHaveAttribute('data-code', 'SAVED');
  await generate();
  expect(await embeds()).toBe(2);
  await expect(page.getByTestId('result.profile')).toHaveText(`Made for ${B.name} Jr`);
  await editProfile(page, idB); // back in the parent area (Home closed the session: the door asks for the PIN)
  await page.getByTestId('profile.age').fill('52');
  await page.getByTestId('profile.save').click();
  await expect(page.getByTestId('profile.message')).toHaveAttribute('data-code', 'SAVED');
  await generate();
  expect(await embeds()).toBe(3);

  // After a reload the saved embedding comes from the device's cache: no new embed request.
  await page.reload();
  await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
  await expect(page.getByTestId('generate.embedding')).toHaveAttribute('data-from-cache', 'yes');
  await generate();
  expect(await embeds()).toBe(0);

  // No profile: the zero embedding, and the result says so.
  await page.getByTestId('profile.select').selectOption('');
  await generate();
  await expect(page.getByTestId('result.profile')).toHaveText('Made with no profile');

  // PRIVACY. The recording did see the worker's requests (the profile encoder's files) ...
  const urls = requests.map((r) => r.url());
  expect(urls.some((u) => /profile_encoder/.test(u))).toBe(true);
  // ... and every request stayed on this origin and carried no profile field value.
  const secrets = [A.name, B.name, A.words, B.words, 'Buddhism', 'Islam', 'hearing impairment', 'visual impairment', 'anxiety', PIN];
  const agePatterns = [/\bage\W{0,4}(14|47|52)\b/i, /\b(14|47|52) \(/];
  const leaks: string[] = [];
  const foreign: string[] = [];
  for (const r of requests) {
    const u = r.url();
    if (!u.startsWith(baseURL!) && !u.startsWith('data:') && !u.startsWith('blob:')) foreign.push(u);
    const headers = JSON.stringify(await r.allHeaders().catch(() => r.headers()));
    const body = r.postDataBuffer()?.toString('latin1') ?? '';
    const text = `${u}\n${decodeURIComponent(u)}\n${headers}\n${body}`;
    for (const s of secrets) if (text.toLowerCase().includes(s.toLowerCase())) leaks.push(`${s} in ${u}`);
    for (const re of agePatterns) if (re.test(`${decodeURIComponent(u)}\n${headers}\n${body}`)) leaks.push(`age in ${u}`);
    // Gender words only where they could not be part of a file name.
    if (/\b(fe)?male\b/i.test(`${headers}\n${body}`)) leaks.push(`gender in ${u}`);
  }
  record('profiles.privacyRequests', requests.length);
  expect(foreign).toEqual([]);
  expect(leaks).toEqual([]);
  expect(console.problems).toEqual([]);
});
