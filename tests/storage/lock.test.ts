// The parent lock on fake-indexeddb with the real PBKDF2 count: what is stored (and that the secret is not), right
// and wrong tries, the persisted throttle across a reload and a new tab, and changing / removing the lock.
import { pbkdf2Sync } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { dumpDatabase, freshDatabase, openRaw } from './helpers';
import { AppError } from '../../src/shared/errors';
import { closeDatabase } from '../../src/storage/db';
import { KDF_ITERATIONS } from '../../src/storage/kdf';
import { LockError, hasLock, lockStatus, removeLock, requireUnlocked, setLock, validateSecret, verifyLock, type LockRecord } from '../../src/storage/lock';
import { nextDeadline, readThrottle, remainingMs, throttleDelayMs } from '../../src/storage/throttle';

const PIN = '4821';
const PASS = 'correct horse 9';

async function storedLock(): Promise<LockRecord> {
  const rec = (await dumpDatabase()).records.find(([s, k]) => s === 'lock' && k === 'secret');
  return rec?.[2] as LockRecord;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(AppError);
  return (e as AppError).code;
}

beforeEach(freshDatabase);
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('validateSecret', () => {
  it.each([
    ['', 'Enter a PIN (at least 4 digits) or a passphrase (at least 8 characters).'],
    ['123', 'A PIN needs at least 4 digits.'],
    ['1234', undefined],
    ['00000000', undefined],
    ['abc1234', 'A passphrase needs at least 8 characters (or use a PIN of digits only).'],
    ['        ', 'A passphrase cannot be only spaces.'],
    ['１２３４', 'A passphrase needs at least 8 characters (or use a PIN of digits only).'], // full-width digits are not a PIN
    ['pass word', undefined],
    ['x'.repeat(257), 'That is too long: at most 256 characters.'],
  ])('%j → %s', (secret, want) => {
    expect(validateSecret(secret)).toBe(want);
  });
});

describe('throttle schedule', () => {
  it('is free for 3 wrong tries, then 1 s doubling, past 5 minutes, up to a day', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 20, 21, 100].map(throttleDelayMs)).toEqual([
      0, 0, 0, 0, 1000, 2000, 4000, 8000, 256_000, 512_000, 1_024_000, 65_536_000, 86_400_000, 86_400_000,
    ]);
  });
  it('runs a wait down on the monotonic clock of the tab; a written-back wait for the same try only brings it nearer', () => {
    const s = { failures: 5, waitMs: 2000, writtenAt: 10_000 };
    const d = nextDeadline(undefined, s, 100);
    expect(remainingMs(d, 600)).toBe(1500);
    expect(remainingMs(d, 2100)).toBe(0);
    // Another tab wrote back a longer remainder (it first saw the wait later): this tab keeps its own deadline.
    const d2 = nextDeadline(d, { ...s, waitMs: 1800, writtenAt: 10_900 }, 1000);
    expect(remainingMs(d2, 1000)).toBe(1100);
    // A shorter one (it saw the wait earlier) brings the deadline nearer.
    expect(remainingMs(nextDeadline(d, { ...s, waitMs: 500, writtenAt: 10_900 }, 1000), 1000)).toBe(500);
    // A new wrong try starts its own wait from now.
    expect(remainingMs(nextDeadline(d, { failures: 6, waitMs: 4000, writtenAt: 11_000 }, 1000), 1000)).toBe(4000);
    expect(remainingMs(undefined, 0)).toBe(0);
  });
  it('reads the older record form (lastFailureAt): its full wait applies again', () => {
    expect(readThrottle({ failures: 5, lastFailureAt: 7 })).toEqual({ failures: 5, waitMs: 2000, writtenAt: 7 });
    expect(readThrottle({ failures: 'x' })).toBeUndefined();
  });
});

describe('parent lock', () => {
  it('stores only {kdf, iterations ≥ 600 000, 16-byte salt, PBKDF2-SHA256 hash}', async () => {
    expect(await hasLock()).toBe(false);
    await setLock(PIN);
    expect(await hasLock()).toBe(true);
    const rec = await storedLock();
    expect(Object.keys(rec).sort()).toEqual(['createdAt', 'hash', 'iterations', 'kdf', 'salt']);
    expect(rec.kdf).toBe('PBKDF2-SHA256');
    expect(rec.iterations).toBeGreaterThanOrEqual(600_000);
    expect(rec.salt).toBeInstanceOf(Uint8Array);
    expect(rec.salt.length).toBe(16);
    // The hash is what Node's own PBKDF2 gives for these parameters (an independent implementation).
    expect(Buffer.from(rec.hash).toString('hex')).toBe(pbkdf2Sync(PIN, rec.salt, rec.iterations, 32, 'sha256').toString('hex'));
  });

  it('accepts the right secret and refuses a wrong one; refuses weak new secrets', async () => {
    await setLock(PASS);
    expect(await verifyLock(PASS)).toEqual({ ok: true });
    expect(await verifyLock('correct horse 8')).toEqual({ ok: false, reason: 'wrong', retryAfterMs: 0 });
    expect(await codeOf(setLock('12'))).toBe('LOCK_SECRET_INVALID');
  });

  it('throttles wrong tries with growing waits that survive a reload and a new tab, without hashing while throttled', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    vi.setSystemTime(1_800_000_000_000);
    await setLock(PIN);
    for (let i = 1; i <= 3; i++) expect(await verifyLock('0000')).toEqual({ ok: false, reason: 'wrong', retryAfterMs: 0 });
    expect(await verifyLock('0001')).toEqual({ ok: false, reason: 'wrong', retryAfterMs: 1000 });

    const derive = vi.spyOn(crypto.subtle, 'deriveBits');
    vi.advanceTimersByTime(400);
    expect(await verifyLock(PIN)).toEqual({ ok: false, reason: 'throttled', retryAfterMs: 600 }); // even the right PIN
    expect(derive).not.toHaveBeenCalled();

    await closeDatabase(); // reload
    expect(await lockStatus()).toEqual({ locked: true, retryAfterMs: 600, failures: 4 });

    vi.resetModules(); // a new tab: fresh modules, its own connection to the same database
    const tab2 = await import('../../src/storage/lock');
    expect(await tab2.verifyLock(PIN)).toEqual({ ok: false, reason: 'throttled', retryAfterMs: 600 });
    const e = await tab2.requireUnlocked(PIN).catch((x: unknown) => x);
    expect((e as LockError).code).toBe('LOCK_THROTTLED');
    expect((e as LockError).retryAfterMs).toBe(600);
    expect(derive).not.toHaveBeenCalled();

    vi.advanceTimersByTime(600);
    expect(await tab2.verifyLock('9999')).toEqual({ ok: false, reason: 'wrong', retryAfterMs: 2000 });
    expect(derive).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1999);
    expect((await tab2.verifyLock(PIN)).ok).toBe(false);
    vi.advanceTimersByTime(1);
    expect(await tab2.verifyLock(PIN)).toEqual({ ok: true });
    expect(await lockStatus()).toEqual({ locked: true, retryAfterMs: 0, failures: 0 });
    await (await import('../../src/storage/db')).closeDatabase();
  });

  it('a system clock moved forward does not shorten a wait; only time that passed does', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    vi.setSystemTime(1_800_000_000_000);
    await setLock(PIN);
    for (let i = 1; i <= 7; i++) vi.advanceTimersByTime(((await verifyLock('0000')) as { retryAfterMs?: number }).retryAfterMs ?? 0);
    await verifyLock('0000'); // the 8th wrong try: a 16 s wait
    expect((await lockStatus()).retryAfterMs).toBe(16_000);
    vi.setSystemTime(Date.now() + 7 * 86_400_000); // a week ahead, no time passed
    expect(await verifyLock(PIN)).toEqual({ ok: false, reason: 'throttled', retryAfterMs: 16_000 });
    vi.advanceTimersByTime(10_000);
    expect(await verifyLock(PIN)).toEqual({ ok: false, reason: 'throttled', retryAfterMs: 6000 });
    // What ran down is stored: a reload (new tab) keeps it rather than starting again from 16 s.
    vi.resetModules();
    const tab2 = await import('../../src/storage/lock');
    expect((await tab2.lockStatus()).retryAfterMs).toBe(6000);
    vi.advanceTimersByTime(6000);
    expect(await tab2.verifyLock(PIN)).toEqual({ ok: true });
    await (await import('../../src/storage/db')).closeDatabase();
  });

  it('counts tries made in parallel (several tabs at once) before hashing, so they cannot slip past the throttle', async () => {
    await setLock(PIN);
    const results = await Promise.all(['1111', '2222', '3333', '4444', '5555'].map((s) => verifyLock(s)));
    expect(results.filter((r) => !r.ok && r.reason === 'wrong')).toHaveLength(4);
    expect(results.filter((r) => !r.ok && r.reason === 'throttled')).toHaveLength(1);
    expect((await lockStatus()).failures).toBe(4);
  });

  it('a tab closed while a try is being checked still counts it as a wrong try', async () => {
    await setLock(PIN);
    // The check never finishes (the tab goes away mid-hash); the try was counted before hashing began.
    const derive = vi.spyOn(crypto.subtle, 'deriveBits').mockImplementation(() => new Promise<ArrayBuffer>(() => undefined));
    void verifyLock('1111');
    await vi.waitFor(() => expect(derive).toHaveBeenCalled());
    derive.mockRestore();
    await closeDatabase(); // reload
    expect(await lockStatus()).toMatchObject({ locked: true, failures: 1 });
  });

  it('changing the lock needs the current secret; removing it needs the secret', async () => {
    await setLock(PIN);
    expect(await codeOf(setLock('98765432'))).toBe('LOCK_WRONG');
    expect(await codeOf(setLock('98765432', '0000'))).toBe('LOCK_WRONG');
    await setLock('98765432', PIN);
    expect((await verifyLock(PIN)).ok).toBe(false);
    expect(await codeOf(removeLock(PIN))).toBe('LOCK_WRONG');
    expect(await hasLock()).toBe(true);
    await expect(requireUnlocked('98765432')).resolves.toBeUndefined();
    await removeLock('98765432');
    expect(await hasLock()).toBe(false);
    expect(await lockStatus()).toEqual({ locked: false, retryAfterMs: 0, failures: 0 });
    expect((await dumpDatabase()).records.filter(([s]) => s === 'lock')).toEqual([]);
    expect(await verifyLock('anything')).toEqual({ ok: true }); // no lock: nothing to unlock
  });

  it('re-hashes a lock stored with fewer iterations at the next right try', async () => {
    const salt = new Uint8Array(16).fill(7);
    const old = { kdf: 'PBKDF2-SHA256', iterations: 1000, salt, hash: new Uint8Array(pbkdf2Sync(PASS, salt, 1000, 32, 'sha256')), createdAt: 1 };
    await getDbPut('lock', 'secret', old);
    expect(await verifyLock('wrong passphrase')).toMatchObject({ ok: false, reason: 'wrong' });
    expect(await verifyLock(PASS)).toEqual({ ok: true });
    const rec = await storedLock();
    expect(rec.iterations).toBe(KDF_ITERATIONS);
    expect(Buffer.from(rec.salt).equals(Buffer.from(salt))).toBe(false);
    expect(Buffer.from(rec.hash).toString('hex')).toBe(pbkdf2Sync(PASS, rec.salt, rec.iterations, 32, 'sha256').toString('hex'));
  });

  it('a damaged lock record opens nothing', async () => {
    await getDbPut('lock', 'secret', { kdf: 'PBKDF2-SHA256', iterations: 'many' });
    expect(await codeOf(verifyLock(PIN))).toBe('STORAGE_FAILED');
    expect(await codeOf(requireUnlocked(PIN))).toBe('STORAGE_FAILED');
  });

  it('never stores or logs the PIN or passphrase (every value in every store is scanned)', async () => {
    const logged: string[] = [];
    for (const m of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      vi.spyOn(console, m).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(' ')));
    }
    await setLock(PASS);
    await verifyLock('wrong guess 123');
    await setLock(PIN, PASS);
    await requireUnlocked('80808080').catch(() => undefined);
    const secrets = [PASS, PIN, 'wrong guess 123', '80808080'];
    const { records } = await dumpDatabase();
    expect(records.some(([s]) => s === 'lock')).toBe(true);
    const hits: string[] = [];
    for (const [store, key, value] of records) for (const s of secrets) if (contains(key, s) || contains(value, s)) hits.push(`${store}/${String(key)} holds ${s}`);
    expect(hits).toEqual([]);
    expect(logged.filter((l) => secrets.some((s) => l.includes(s)))).toEqual([]);
    // The scanner itself finds a planted secret (in each encoding), so an empty result means something.
    expect(contains({ a: [`x${PASS}y`] }, PASS)).toBe(true);
    expect(contains(new Uint8Array(Buffer.from(`..${PASS}..`, 'utf16le')), PASS)).toBe(true);
    expect(contains(new Uint8Array(Buffer.from(`..${PASS}`, 'utf8')).buffer, PASS)).toBe(true);
    expect(contains({ n: 4821 }, PIN)).toBe(true);
  });
});

/** Writes one raw record at the current schema (bypassing the lock module). */
async function getDbPut(store: string, key: string, value: unknown): Promise<void> {
  await closeDatabase();
  const { getDatabase } = await import('../../src/storage/db');
  await getDatabase(); // create the stores at the current version
  await closeDatabase();
  const db = await openRaw();
  await new Promise<void>((resolve, reject) => {
    const tx = db.transaction(store, 'readwrite');
    tx.objectStore(store).put(value, key);
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
  db.close();
}

function bytesOf(v: unknown): Uint8Array | undefined {
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  return undefined;
}

function includesBytes(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** Whether `secret` appears anywhere in `v`: as text, as a number, or as UTF-8 / UTF-16LE / UTF-16BE bytes. */
function contains(v: unknown, secret: string): boolean {
  if (typeof v === 'string') return v.includes(secret);
  if (typeof v === 'number' || typeof v === 'bigint') return /^[0-9]+$/.test(secret) && String(v).includes(secret);
  const bytes = bytesOf(v);
  if (bytes) {
    const le = Buffer.from(secret, 'utf16le');
    const be = Buffer.from(le).swap16();
    return [Buffer.from(secret, 'utf8'), le, be].some((n) => includesBytes(bytes, n));
  }
  if (v instanceof Map) return [...v].some(([k, x]) => contains(k, secret) || contains(x, secret));
  if (v && typeof v === 'object') return Object.entries(v).some(([k, x]) => k.includes(secret) || contains(x, secret));
  return false;
}
