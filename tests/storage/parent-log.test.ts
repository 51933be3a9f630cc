// The parent log on fake-indexeddb: schema v3 creates its store (from v2 data, untouched), entries keep the prompt
// only with logPrompts on, newest first in pages with filters, the size cap drops the oldest, and view/export/clear
// need the parent PIN (append does not). The lasting tallies (schema v5): counted in the append's transaction,
// untouched by the cap, with the number of dropped entries; seeded from an existing log on upgrade; cleared with it.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { dumpDatabase, freshDatabase, interruptNextPut, openRaw } from './helpers';
import { AppError } from '../../src/shared/errors';
import { closeDatabase, getDatabase } from '../../src/storage/db';
import { SCHEMA_VERSION } from '../../src/storage/migrations';
import { setLock } from '../../src/storage/lock';
import { appendLog, clearLog, exportLog, listLog, LOG_FILE_FORMAT, toLogEntry, type LogEvent, type ProfileLogCounts } from '../../src/storage/parent-log';
import { endParentSession, openParentSession, renewParentSession } from '../../src/storage/parent-session';
import { getProfile } from '../../src/storage/profiles';
import { STORES } from '../../src/storage/stores';

beforeEach(freshDatabase);

const kid = { id: 'kid', name: 'Mia', logPrompts: false };
const teen = { id: 'teen', name: 'Jo', logPrompts: true };
/** An event; a text one is decided by the word lists unless `over` says otherwise (image stages carry no source). */
const ev = (over: Partial<LogEvent> = {}): LogEvent => {
  const e: LogEvent = { profile: kid, stage: 'text', category: 'Violence', action: 'blocked', prompt: 'secret words', time: 1000, ...over };
  if (e.stage === 'text' && !('source' in over)) e.source = 'lexicon';
  return e;
};

describe('schema v3', () => {
  it('a v2 database gets the parentLog store; its records stay as they were', async () => {
    const db = await openRaw(2, (d) => {
      for (const s of ['profiles', 'meta', 'embeddings', 'lock']) d.createObjectStore(s);
    });
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction(['profiles', 'meta'], 'readwrite');
      tx.objectStore('profiles').put({ id: 'p', name: 'P', age: 30, gender: 'female', religion: 'None', physical: 'healthy', mental: 'healthy', choices: {}, customWords: [], explanationStyle: 'adult', protected: false, createdAt: 1, updatedAt: 1 }, 'p');
      tx.objectStore('meta').put('p', 'activeProfileId');
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    db.close();
    const before = (await dumpDatabase()).records;
    await appendLog(ev());
    const conn = await getDatabase();
    expect(conn.version).toBe(SCHEMA_VERSION); // v3 and every later step
    expect(Array.from(conn.objectStoreNames)).toContain(STORES.parentLog);
    await closeDatabase();
    const after = await dumpDatabase();
    // (logStats, from v5, is new: its tally of this entry is checked in 'lasting tallies' below.)
    expect(after.records.filter(([s]) => s !== STORES.parentLog && s !== STORES.logStats)).toEqual(before);
    expect(after.records.filter(([s]) => s === STORES.parentLog)).toHaveLength(1);
    expect(await getProfile('p')).toMatchObject({ id: 'p' });
  });
});

describe('entries', () => {
  it('keep the prompt only when the profile logs prompts', () => {
    expect(toLogEntry(ev()).prompt).toBeUndefined();
    expect(toLogEntry(ev({ profile: teen })).prompt).toBe('secret words');
    expect(toLogEntry(ev({ profile: { ...teen, logPrompts: undefined } })).prompt).toBeUndefined();
  });

  it('refuse bad input with the field named', () => {
    expect(() => toLogEntry(ev({ stage: 'audio' as never }))).toThrow(/stage must be one of text, image/);
    expect(() => toLogEntry(ev({ action: 'deleted' as never }))).toThrow(/action must be one of/);
    expect(() => toLogEntry(ev({ category: '' }))).toThrow(/category/);
    expect(() => toLogEntry(ev({ profile: { id: '', name: 'x' } }))).toThrow(/profile\.id/);
    expect(() => toLogEntry(ev({ time: Number.NaN }))).toThrow(AppError);
    expect(() => toLogEntry(ev({ source: undefined }))).toThrow(/a text entry's source must be one of lexicon, classifier, semantic \(got undefined\)/);
    expect(() => toLogEntry(ev({ source: 'q16' as never }))).toThrow(/source must be one of/);
    expect(() => toLogEntry(ev({ stage: 'image', source: 'classifier' }))).toThrow(/only text entries carry a source/);
  });

  it('keep which prompt check decided a text entry; image entries carry none', () => {
    expect(toLogEntry(ev({ source: 'classifier' })).source).toBe('classifier');
    expect(toLogEntry(ev({ source: 'semantic' })).source).toBe('semantic');
    expect(toLogEntry(ev()).source).toBe('lexicon');
    expect('source' in toLogEntry(ev({ stage: 'q16', category: 'Inappropriate', action: 'blurred' }))).toBe(false);
  });

  it('an entry written before the source was recorded is still listed and exported as it was', async () => {
    await appendLog(ev({ time: 5, source: 'classifier' }));
    // As the v3–v5 app wrote it: no `source` field.
    await closeDatabase();
    const db = await openRaw();
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction([STORES.parentLog], 'readwrite');
      tx.objectStore(STORES.parentLog).add({ time: 1, profileId: 'kid', profileName: 'Mia', stage: 'text', category: 'Hate', action: 'blocked' });
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    db.close();
    const view = await listLog('');
    expect(view.total).toBe(2);
    expect(view.entries.map((e) => [e.time, e.source])).toEqual([[1, undefined], [5, 'classifier']]);
    expect('source' in view.entries[0]).toBe(false);
    const file = JSON.parse(await exportLog(''));
    expect(file.entries).toEqual([
      { time: 1, profileId: 'kid', profileName: 'Mia', stage: 'text', category: 'Hate', action: 'blocked' },
      { time: 5, profileId: 'kid', profileName: 'Mia', stage: 'text', source: 'classifier', category: 'Violence', action: 'blocked' },
    ]);
  });

  it('a stored kid entry never holds the prompt (checked in the raw database)', async () => {
    await appendLog(ev());
    await closeDatabase();
    const raw = (await dumpDatabase()).records.filter(([s]) => s === STORES.parentLog);
    expect(JSON.stringify(raw)).not.toContain('secret words');
  });
});

describe('listing, filters, cap', () => {
  it('newest first, paged, with the matching total; filters by profile, stage, action, category', async () => {
    for (let i = 0; i < 7; i++) {
      await appendLog(ev({ time: 100 + i, profile: i % 2 ? teen : kid, stage: i < 5 ? 'text' : 'image', action: i < 5 ? 'blocked' : 'blurred', category: i < 5 ? 'Violence' : 'Sexuality', prompt: `p${i}` }));
    }
    const page1 = await listLog('', { limit: 3 });
    expect(page1.total).toBe(7);
    expect(page1.entries.map((e) => e.time)).toEqual([106, 105, 104]);
    const page3 = await listLog('', { offset: 6, limit: 3 });
    expect(page3.entries.map((e) => e.time)).toEqual([100]);
    expect((await listLog('', { filter: { profileId: 'teen' } })).entries.map((e) => e.time)).toEqual([105, 103, 101]);
    expect((await listLog('', { filter: { stage: 'image' } })).total).toBe(2);
    expect((await listLog('', { filter: { action: 'blurred', category: 'Sexuality', profileId: 'kid' } })).entries.map((e) => e.time)).toEqual([106]);
    // Entries logged at the same millisecond keep insertion order.
    await appendLog(ev({ time: 106, category: 'Hate' }));
    expect((await listLog('', { limit: 2 })).entries.map((e) => e.category)).toEqual(['Hate', 'Sexuality']);
    await expect(listLog('', { limit: 0 })).rejects.toThrow(/limit/);
    await expect(listLog('', { offset: -1 })).rejects.toThrow(/offset/);
  });

  it('keeps only the newest entries beyond the cap', async () => {
    for (let i = 0; i < 12; i++) await appendLog(ev({ time: i }), 10);
    const all = await listLog('', { limit: 100 });
    expect(all.total).toBe(10);
    expect(all.entries.map((e) => e.time)).toEqual([11, 10, 9, 8, 7, 6, 5, 4, 3, 2]);
  });
});

/** The tallies as "profile/category/action=count" lines, sorted: easy to compare whole. */
const flat = (counts: ProfileLogCounts[]) =>
  counts.flatMap((p) => p.rows.map((r) => `${p.profileId}/${r.category}/${r.action}=${r.count}`)).sort();

describe('lasting tallies', () => {
  it('count every entry per profile, category and action through a flood past the cap; the dropped count persists', async () => {
    // The cap is a parameter of appendLog (the app's is MAX_LOG_ENTRIES = 5000): a small one floods it in seconds
    // on the same code path.
    const CAP = 25;
    const expected = new Map<string, number>();
    for (let i = 0; i < 90; i++) {
      const e = ev({ time: i, profile: i % 3 ? kid : teen, category: ['Violence', 'Hate', 'Sexuality'][i % 4 === 0 ? 2 : i % 2], action: (['blocked', 'steered', 'blurred', 'allowed'] as const)[i % 5 % 4] });
      const k = `${e.profile.id}/${e.category}/${e.action}`;
      expected.set(k, (expected.get(k) ?? 0) + 1);
      await appendLog(e, CAP);
    }
    await closeDatabase(); // a reload: all of it comes back from storage
    const view = await listLog('', { limit: 100 });
    expect(view.total).toBe(CAP);
    expect(view.entries.map((e) => e.time)).toEqual(Array.from({ length: CAP }, (_, i) => 89 - i));
    expect(view.dropped).toBe(90 - CAP);
    expect(flat(view.counts)).toEqual([...expected].map(([k, n]) => `${k}=${n}`).sort());
    expect(view.counts.map((p) => [p.profileId, p.profileName])).toEqual([['teen', 'Jo'], ['kid', 'Mia']]); // by name
    expect(view.counts.flatMap((p) => p.rows).reduce((n, r) => n + r.count, 0)).toBe(90);
    // A filter narrows the entries, never the tallies (they count what the log no longer holds).
    expect(flat((await listLog('', { filter: { profileId: 'kid' } })).counts)).toEqual(flat(view.counts));

    // One append that drops many (a lower cap) adds them all to the dropped count.
    await appendLog(ev({ time: 90 }), 10);
    const after = await listLog('', { limit: 100 });
    expect(after).toMatchObject({ total: 10, dropped: 90 - CAP + 16 });
    expect(after.counts.flatMap((p) => p.rows).reduce((n, r) => n + r.count, 0)).toBe(91);
  });

  it('a failed append counts nothing: the entry and its tally are one transaction', async () => {
    await appendLog(ev());
    const undo = interruptNextPut('quota-abort'); // the tally's put aborts the append's transaction
    const err = await appendLog(ev({ time: 2 })).catch((e: unknown) => e);
    undo();
    expect(err).toMatchObject({ code: 'STORAGE_FULL' });
    const view = await listLog('');
    expect(view.total).toBe(1);
    expect(flat(view.counts)).toEqual(['kid/Violence/blocked=1']);
  });

  it('clearing the log clears the tallies and the dropped count with it', async () => {
    for (let i = 0; i < 5; i++) await appendLog(ev({ time: i }), 3);
    expect(await listLog('')).toMatchObject({ total: 3, dropped: 2 });
    await clearLog('');
    expect(await listLog('')).toMatchObject({ total: 0, dropped: 0, counts: [] });
  });

  it('schema v5 tallies the log a v4 database already holds (a damaged entry is skipped); dropped starts at 0', async () => {
    const db = await openRaw(4, (d) => {
      for (const s of ['profiles', 'meta', 'embeddings', 'lock', 'bundles']) d.createObjectStore(s);
      d.createObjectStore('parentLog', { autoIncrement: true });
    });
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction(['parentLog'], 'readwrite');
      const log = tx.objectStore('parentLog');
      for (const e of [ev(), ev({ time: 2 }), ev({ profile: teen, action: 'steered' }), ev({ category: 'Hate' })]) log.add(toLogEntry(e));
      log.add({ time: 3, action: 'blocked' }); // no profile, no category: not countable
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    db.close();
    const view = await listLog('');
    expect(view.total).toBe(5);
    expect(view.dropped).toBe(0);
    expect(flat(view.counts)).toEqual(['kid/Hate/blocked=1', 'kid/Violence/blocked=2', 'teen/Violence/steered=1']);
    // Appending goes on from the seeded tallies.
    await appendLog(ev());
    expect(flat((await listLog('')).counts)).toContain('kid/Violence/blocked=3');
  });
});

describe('behind the parent PIN', () => {
  it('view, export and clear need the PIN once one is set; appending does not', async () => {
    await appendLog(ev({ profile: teen, prompt: 'a cat' }));
    await setLock('4821');
    await appendLog(ev({ time: 2000, action: 'steered' }));
    for (const call of [() => listLog('0000'), () => exportLog('0000'), () => clearLog('0000')]) {
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect(['LOCK_WRONG', 'LOCK_THROTTLED']).toContain((err as AppError).code);
    }
    // Three wrong tries are free (throttle.ts), so the parent's right PIN is accepted at once; nothing was cleared.
    const view = await listLog('4821');
    expect(view.total).toBe(2);
    const file = JSON.parse(await exportLog('4821', {}, Date.UTC(2026, 0, 2)));
    expect(file).toMatchObject({ format: LOG_FILE_FORMAT, version: 1, exportedAt: '2026-01-02T00:00:00.000Z' });
    expect(file.entries).toEqual([
      { time: 2000, profileId: 'kid', profileName: 'Mia', stage: 'text', source: 'lexicon', category: 'Violence', action: 'steered' },
      { time: 1000, profileId: 'teen', profileName: 'Jo', stage: 'text', source: 'lexicon', category: 'Violence', action: 'blocked', prompt: 'a cat' },
    ]);
    await clearLog('4821');
    expect((await listLog('4821')).total).toBe(0);
  });

  it('an open parent session is enough; storage refuses it once it has ended, run out, or for a token it never gave', async () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    try {
      await appendLog(ev());
      await setLock('4821');
      const refused = async (call: () => Promise<unknown>) => ((await call().catch((e: unknown) => e)) as AppError).code;
      // A wrong PIN opens no session (and counts as a try).
      expect(await openParentSession('0000', 60_000)).toMatchObject({ ok: false, reason: 'wrong' });
      const opened = await openParentSession('4821', 60_000);
      expect(opened.ok).toBe(true);
      const proof = { session: opened.session! };
      expect((await listLog(proof)).total).toBe(1);
      expect(JSON.parse(await exportLog(proof)).entries).toHaveLength(1);
      for (const bad of [{ session: 'f'.repeat(32) }, { session: '' }, {} as never]) {
        for (const call of [() => listLog(bad), () => exportLog(bad), () => clearLog(bad)]) expect(await refused(call)).toBe('LOCK_SESSION_ENDED');
      }
      // Its window runs on the monotonic clock; renewing moves it.
      vi.advanceTimersByTime(50_000);
      expect(renewParentSession(proof.session, 60_000)).toBe(true);
      vi.advanceTimersByTime(50_000);
      expect((await listLog(proof)).total).toBe(1);
      vi.advanceTimersByTime(10_001);
      expect(await refused(() => listLog(proof))).toBe('LOCK_SESSION_ENDED');
      expect(renewParentSession(proof.session, 60_000)).toBe(false); // an expired session cannot be revived

      const again = { session: (await openParentSession('4821', 60_000)).session! };
      expect((await listLog(again)).total).toBe(1);
      endParentSession();
      for (const call of [() => listLog(again), () => exportLog(again), () => clearLog(again)]) expect(await refused(call)).toBe('LOCK_SESSION_ENDED');
      expect((await listLog('4821')).total).toBe(1); // nothing was cleared by the refused calls
    } finally {
      endParentSession();
      vi.useRealTimers();
    }
  });
});

describe('the log slice (real storage)', () => {
  it('asks for the PIN without spending a try, pages and filters with it, forgets it on close', async () => {
    const { create } = await import('zustand');
    const { createLogSlice } = await import('../../src/state/log-slice');
    const { lockStatus } = await import('../../src/storage/lock');
    for (let i = 0; i < 30; i++) await appendLog(ev({ time: i, action: i % 3 ? 'blocked' : 'steered' }));
    await setLock('4821');
    const s = create(createLogSlice());
    await s.getState().openLog();
    expect(s.getState().log.status).toBe('locked');
    expect((await lockStatus()).failures).toBe(0);
    await s.getState().openLog('1111');
    expect(s.getState().log).toMatchObject({ status: 'locked', error: { code: 'WRONG_PIN' }, entries: [] });
    await s.getState().openLog('4821');
    expect(s.getState().log).toMatchObject({ status: 'ready', total: 30, dropped: 0 });
    expect(s.getState().log.counts).toEqual([{ profileId: 'kid', profileName: 'Mia', rows: [{ category: 'Violence', action: 'steered', count: 10 }, { category: 'Violence', action: 'blocked', count: 20 }] }]);
    expect(s.getState().log.entries).toHaveLength(25);
    await s.getState().setLogPage(25);
    expect(s.getState().log.entries.map((e) => e.time)).toEqual([4, 3, 2, 1, 0]);
    await s.getState().setLogFilter({ action: 'steered' });
    expect(s.getState().log).toMatchObject({ total: 10, offset: 0 });
    expect(JSON.parse((await s.getState().exportParentLog())!).entries).toHaveLength(10);
    s.getState().closeLog();
    expect(s.getState().log.status).toBe('closed');
    await s.getState().openLog();
    expect(s.getState().log.status).toBe('locked'); // the PIN was forgotten
    expect(s.getState().log).toMatchObject({ counts: [], dropped: 0 }); // and nothing of the log is shown
    await s.getState().recordLog(ev({ time: 99 }));
    expect(s.getState().log.writeError).toBeUndefined();
  });
});
