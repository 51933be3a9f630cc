// The parent log on fake-indexeddb: schema v3 creates its store (from v2 data, untouched), entries keep the prompt
// only with logPrompts on, newest first in pages with filters, the size cap drops the oldest, and view/export/clear
// need the parent PIN (append does not).
import { beforeEach, describe, expect, it } from 'vitest';
import { dumpDatabase, freshDatabase, openRaw } from './helpers';
import { AppError } from '../../src/shared/errors';
import { closeDatabase, getDatabase } from '../../src/storage/db';
import { SCHEMA_VERSION } from '../../src/storage/migrations';
import { setLock } from '../../src/storage/lock';
import { appendLog, clearLog, exportLog, listLog, LOG_FILE_FORMAT, toLogEntry, type LogEvent } from '../../src/storage/parent-log';
import { getProfile } from '../../src/storage/profiles';
import { STORES } from '../../src/storage/stores';

beforeEach(freshDatabase);

const kid = { id: 'kid', name: 'Mia', logPrompts: false };
const teen = { id: 'teen', name: 'Jo', logPrompts: true };
const ev = (over: Partial<LogEvent> = {}): LogEvent => ({ profile: kid, stage: 'text', category: 'Violence', action: 'blocked', prompt: 'secret words', time: 1000, ...over });

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
    expect(after.records.filter(([s]) => s !== STORES.parentLog)).toEqual(before);
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
      { time: 2000, profileId: 'kid', profileName: 'Mia', stage: 'text', category: 'Violence', action: 'steered' },
      { time: 1000, profileId: 'teen', profileName: 'Jo', stage: 'text', category: 'Violence', action: 'blocked', prompt: 'a cat' },
    ]);
    await clearLog('4821');
    expect((await listLog('4821')).total).toBe(0);
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
    expect(s.getState().log).toMatchObject({ status: 'ready', total: 30 });
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
    await s.getState().recordLog(ev({ time: 99 }));
    expect(s.getState().log.writeError).toBeUndefined();
  });
});
