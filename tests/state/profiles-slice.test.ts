// The profiles slice on the real safety and storage modules (fake-indexeddb): the parent lock's rules are enforced
// by the slice itself (not only by the UI), a wrong PIN is throttled, imports only add, and the active profile's
// embedding is computed once per rendered text (cached across a "reload") and recomputed when the text changes.
import '../storage/helpers';
import { beforeEach, describe, expect, it } from 'vitest';
import { create } from 'zustand';
import { PSA_EMBEDDING_TEMPLATE } from '../../src/safety/embedding-text';
import type { Profile } from '../../src/shared/profile';
import type { GenerateParams, GenerateResult, LoadedBundleInfo } from '../../src/shared/types';
import { createEngineSlice, type EngineSlice } from '../../src/state/engine-slice';
import { realProfileDeps } from '../../src/state/profile-deps';
import { createProfilesSlice, type EmbedFn, type ProfilesSlice } from '../../src/state/profiles-slice';
import { closeDatabase } from '../../src/storage/db';
import * as profiles from '../../src/storage/profiles';
import { dumpDatabase, freshDatabase } from '../storage/helpers';

const PIN = '4821';

/** A fake engine embed that records each text it was asked for (the real one is tested in the engine suites). */
function fakeEmbed() {
  const texts: string[] = [];
  const fn: EmbedFn = async (text, onProgress) => {
    texts.push(text);
    onProgress?.({ phase: 'run' });
    // Depends on the text, so two profiles get different vectors.
    const v = new Float32Array(8);
    for (let i = 0; i < text.length; i++) v[i % 8] += text.charCodeAt(i) / 1000;
    return { embedding: v, encoderId: 'enc-1', tokens: text.length, ms: 1 };
  };
  return { fn, texts };
}

function makeStore(embed: EmbedFn = fakeEmbed().fn) {
  return create<EngineSlice & ProfilesSlice>()((...a) => ({ ...createEngineSlice(...a), ...createProfilesSlice(realProfileDeps, embed)(...a) }));
}

const bundle = (encoderId = 'enc-1') =>
  ({ id: 'demo', profileEncoder: { id: encoderId, template: PSA_EMBEDDING_TEMPLATE } }) as unknown as LoadedBundleInfo;

/** "Reload": a new store on the same database, after the app's connection is closed. */
async function reload(embed?: EmbedFn) {
  await closeDatabase();
  const s = makeStore(embed);
  await s.getState().loadProfiles();
  return s;
}

beforeEach(freshDatabase);

describe('loading and editing', () => {
  it('creates from a preset, saves, loads after a reload with the active choice', async () => {
    const s = makeStore();
    await s.getState().loadProfiles();
    expect(s.getState().profiles).toEqual([]);
    const adult = { ...s.getState().draftFromPreset('adult', 'Sam'), protected: false };
    expect(await s.getState().saveProfile(adult)).toBe(true);
    expect(await s.getState().selectProfile(adult.id)).toBe(true);
    const s2 = await reload();
    expect(s2.getState().profiles.map((p) => p.name)).toEqual(['Sam']);
    expect(s2.getState().activeProfileId).toBe(adult.id);
  });

  it('refuses an invalid profile with the validator\'s words and stores nothing', async () => {
    const s = makeStore();
    await s.getState().loadProfiles();
    const bad = { ...s.getState().draftFromPreset('adult'), protected: false, age: 400 };
    expect(await s.getState().saveProfile(bad)).toBe(false);
    expect(s.getState().profileError?.code).toBe('PROFILE_INVALID');
    expect(s.getState().profileError?.detail).toMatch(/age/i);
    expect(await profiles.listProfiles()).toEqual([]);
  });

  it('a protected profile needs a lock first', async () => {
    const s = makeStore();
    await s.getState().loadProfiles();
    const child = s.getState().draftFromPreset('child', 'Mia');
    expect(child.protected).toBe(true);
    expect(await s.getState().saveProfile(child)).toBe(false);
    expect(s.getState().profileError?.code).toBe('NO_LOCK');
  });
});

describe('parent lock rules, enforced in the slice', () => {
  async function setup() {
    const s = makeStore();
    await s.getState().loadProfiles();
    expect(await s.getState().setPin(PIN)).toBe(true);
    expect(s.getState().isUnlocked()).toBe(true);
    const child = s.getState().draftFromPreset('child', 'Mia');
    const adult = { ...s.getState().draftFromPreset('adult', 'Sam'), protected: false };
    expect(await s.getState().saveProfile(child)).toBe(true);
    expect(await s.getState().saveProfile(adult)).toBe(true);
    // Selecting a protected profile hands the device over: the session ends.
    expect(await s.getState().selectProfile(child.id)).toBe(true);
    expect(s.getState().isUnlocked()).toBe(false);
    return { s, child, adult };
  }

  it('edit, category change, delete, switch away and export of a protected profile need the PIN', async () => {
    const { s, child, adult } = await setup();
    const saved = (await profiles.getProfile(child.id))!;

    expect(await s.getState().saveProfile({ ...saved, name: 'Renamed' })).toBe(false);
    expect(s.getState().profileError?.code).toBe('PIN_REQUIRED');
    expect(await s.getState().saveProfile({ ...saved, choices: { Violence: 'allow' } })).toBe(false);
    expect(await s.getState().saveProfile({ ...saved, protected: false })).toBe(false);
    expect(await s.getState().deleteProfile(child.id)).toBe(false);
    expect(await s.getState().selectProfile(adult.id)).toBe(false);
    expect(await s.getState().selectProfile(undefined)).toBe(false);
    expect(await s.getState().exportProfileFile([child.id])).toBeUndefined();
    // Nothing changed underneath.
    expect(await profiles.getProfile(child.id)).toEqual(saved);
    expect(await profiles.getActiveProfileId()).toBe(child.id);

    // An unprotected profile may be exported without the PIN; creating one needs none either.
    expect(await s.getState().exportProfileFile([adult.id], { plain: true })).toContain('Sam');

    // With the PIN given in place of a session, the same edit goes through.
    expect(await s.getState().saveProfile({ ...saved, choices: { Violence: 'allow' } }, PIN)).toBe(true);
    expect((await profiles.getProfile(child.id))!.choices).toEqual({ Violence: 'allow' });
    expect(await s.getState().selectProfile(adult.id)).toBe(true);
    expect(await profiles.getActiveProfileId()).toBe(adult.id);
  });

  it('a new tab (fresh store) starts locked, and a lock set in another tab is honoured', async () => {
    const { child } = await setup();
    const other = await reload();
    expect(other.getState().lock.exists).toBe(true);
    expect(other.getState().isUnlocked()).toBe(false);
    expect(await other.getState().deleteProfile(child.id)).toBe(false);
    expect(other.getState().profileError?.code).toBe('PIN_REQUIRED');
  });

  it('wrong PINs are throttled with a wait; the throttle holds after a reload even for the right PIN', async () => {
    const { s } = await setup();
    for (let i = 0; i < 3; i++) {
      expect(await s.getState().unlock('0000')).toBe(false);
      expect(s.getState().profileError?.code).toBe('WRONG_PIN');
    }
    expect(await s.getState().unlock('0000')).toBe(false); // the 4th: a wait starts
    const err = s.getState().profileError!;
    expect(err.code).toBe('WRONG_PIN');
    expect(err.retryAt! - Date.now()).toBeGreaterThan(0);
    const s2 = await reload();
    expect(s2.getState().lock.retryAt).toBeGreaterThan(Date.now());
    expect(await s2.getState().unlock(PIN)).toBe(false);
    expect(s2.getState().profileError?.code).toBe('THROTTLED');
    await new Promise((r) => setTimeout(r, s2.getState().lock.retryAt - Date.now() + 50));
    expect(await s2.getState().unlock(PIN)).toBe(true);
  });

  it('changing and removing the PIN need the current one; no secret is stored in plain text', async () => {
    const { s } = await setup();
    expect(await s.getState().setPin('9999', '1111')).toBe(false);
    expect(s.getState().profileError?.code).toBe('WRONG_PIN');
    expect(await s.getState().setPin('12', PIN)).toBe(false);
    expect(s.getState().profileError?.code).toBe('PIN_INVALID');
    expect(await s.getState().setPin('975310', PIN)).toBe(true);
    expect(await s.getState().removePin(PIN)).toBe(false);
    const dump = JSON.stringify((await dumpDatabase()).records, (_k, v) => (v instanceof Uint8Array ? Array.from(v) : v));
    expect(dump).not.toContain('975310');
    expect(dump).not.toContain(PIN);
    expect(await s.getState().removePin('975310')).toBe(true);
    expect(s.getState().lock.exists).toBe(false);
  });
});

describe('profile files', () => {
  it('an export imports back as new profiles (nothing overwritten); a bad file imports nothing', async () => {
    const s = makeStore();
    await s.getState().loadProfiles();
    const adult = { ...s.getState().draftFromPreset('adult', 'Sam'), protected: false };
    await s.getState().saveProfile(adult);
    const text = (await s.getState().exportProfileFile([adult.id], { plain: true }))!;
    expect(await s.getState().importProfileFile(text)).toBe(1);
    const all = await profiles.listProfiles();
    expect(all.map((p) => p.name)).toEqual(['Sam', 'Sam']);
    expect(new Set(all.map((p) => p.id)).size).toBe(2);
    expect(await s.getState().importProfileFile(text.replace('"age": 30', '"age": "thirty"'))).toBeUndefined();
    expect(s.getState().profileError?.code).toBe('IMPORT_FAILED');
    expect(s.getState().profileError?.detail).toMatch(/age/);
    expect(await profiles.listProfiles()).toHaveLength(2);
  });

  it('export needs a passphrase unless plain is chosen; the encrypted file imports back with it', async () => {
    const s = makeStore();
    await s.getState().loadProfiles();
    const adult = { ...s.getState().draftFromPreset('adult', 'Sam'), protected: false };
    await s.getState().saveProfile(adult);
    expect(await s.getState().exportProfileFile([adult.id])).toBeUndefined();
    expect(s.getState().profileError?.code).toBe('PASSPHRASE_REQUIRED');
    expect(await s.getState().exportProfileFile([adult.id], { passphrase: '' })).toBeUndefined();
    expect(s.getState().profileError?.code).toBe('PASSPHRASE_REQUIRED');
    const enc = (await s.getState().exportProfileFile([adult.id], { passphrase: 'family secret' }))!;
    expect(JSON.parse(enc)).toHaveProperty('encrypted');
    expect(enc).not.toContain('Sam');
    // Plain wins over a typed passphrase only because the parent ticked it: the file is then readable.
    expect(JSON.parse((await s.getState().exportProfileFile([adult.id], { plain: true, passphrase: 'family secret' }))!)).toHaveProperty('profiles');
    const blob = new Blob([enc]);
    expect(await s.getState().importProfileFile(blob, { passphrase: 'family secret' })).toBe(1);
    expect((await profiles.listProfiles()).map((p) => p.name)).toEqual(['Sam', 'Sam']);
  });

  it('a file over 1 MB is refused by its size, before it is read', async () => {
    const s = makeStore();
    await s.getState().loadProfiles();
    let reads = 0;
    const huge = {
      size: 5 * 1024 * 1024 * 1024,
      text: async () => {
        reads++;
        throw new Error('read a file that should have been refused by its size');
      },
    };
    expect(await s.getState().importProfileFile(huge)).toBeUndefined();
    expect(s.getState().profileError).toMatchObject({ code: 'IMPORT_FAILED', detail: 'file is larger than 1 MB (5368709120 bytes)' });
    expect(reads).toBe(0);
    expect(await profiles.listProfiles()).toEqual([]);
  });
});

describe('the active profile\'s embedding', () => {
  async function withActive(embed: EmbedFn) {
    const s = makeStore(embed);
    await s.getState().loadProfiles();
    s.setState({ bundle: bundle() });
    const p: Profile = { ...s.getState().draftFromPreset('teen', 'Kim'), protected: false };
    await s.getState().saveProfile(p);
    await s.getState().selectProfile(p.id);
    return { s, p: s.getState().profiles[0] };
  }

  it('no active profile → zero embedding (undefined), computed once per text, cached across a reload', async () => {
    const e = fakeEmbed();
    const s0 = makeStore(e.fn);
    await s0.getState().loadProfiles();
    s0.setState({ bundle: bundle() });
    expect(await s0.getState().ensureEmbedding()).toBeUndefined();
    expect(s0.getState().embedding.status).toBe('none');

    const { s } = await withActive(e.fn);
    const [a, b] = await Promise.all([s.getState().ensureEmbedding(), s.getState().ensureEmbedding()]);
    expect(a).toBeInstanceOf(Float32Array);
    expect(b).toBe(a);
    expect(e.texts).toHaveLength(1);
    expect(e.texts[0]).toContain('- Age: 15 (adolescents)');
    expect(s.getState().embedding).toMatchObject({ status: 'ready', fromCache: false });

    const s2 = await reload(e.fn);
    s2.setState({ bundle: bundle() });
    expect(Array.from((await s2.getState().ensureEmbedding())!)).toEqual(Array.from(a!));
    expect(s2.getState().embedding.fromCache).toBe(true);
    expect(e.texts).toHaveLength(1);
  });

  it("a deleted profile's cached embedding goes with it, unless another profile with the same settings uses it", async () => {
    const e = fakeEmbed();
    const { s, p } = await withActive(e.fn);
    const vector = await s.getState().ensureEmbedding();
    const twin: Profile = { ...s.getState().draftFromPreset('teen', 'Kim twin'), protected: false };
    await s.getState().saveProfile(twin);
    await s.getState().selectProfile(twin.id);
    // After a reload (nothing in memory), the twin's embedding comes from p's entry: same text, so now it uses it too.
    const s2 = await reload(e.fn);
    s2.setState({ bundle: bundle() });
    expect(Array.from((await s2.getState().ensureEmbedding())!)).toEqual(Array.from(vector!));
    expect(s2.getState().embedding).toMatchObject({ fromCache: true, profileId: twin.id });
    const cachedRows = async () => (await dumpDatabase()).records.filter(([store]) => store === 'embeddings');
    await closeDatabase();
    expect(await cachedRows()).toHaveLength(1);

    expect(await s2.getState().deleteProfile(p.id)).toBe(true);
    await closeDatabase();
    expect(await cachedRows()).toHaveLength(1); // the twin still uses it
    expect(await s2.getState().deleteProfile(twin.id)).toBe(true);
    await closeDatabase();
    expect(await cachedRows()).toEqual([]);
    expect(e.texts).toHaveLength(1);
  });

  it('recomputes after an edit that changes the text or a new encoder, not after a name change', async () => {
    const e = fakeEmbed();
    const { s, p } = await withActive(e.fn);
    await s.getState().ensureEmbedding();
    await s.getState().saveProfile({ ...p, name: 'Kimberly' });
    await s.getState().ensureEmbedding();
    expect(e.texts).toHaveLength(1);
    await s.getState().saveProfile({ ...s.getState().profiles[0], age: 16 });
    await s.getState().ensureEmbedding();
    expect(e.texts).toHaveLength(2);
    expect(e.texts[1]).toContain('- Age: 16 (adolescents)');
    s.setState({ bundle: bundle('enc-2') });
    await s.getState().ensureEmbedding();
    expect(e.texts).toHaveLength(3);
  });

  it('generate passes the active profile\'s embedding and names the profile; a failed embedding generates nothing', async () => {
    let failing = false;
    const e = fakeEmbed();
    const embed: EmbedFn = (t, p) => (failing ? Promise.reject(new Error('encoder broke')) : e.fn(t, p));
    const { s, p } = await withActive(embed);
    const calls: GenerateParams[] = [];
    s.setState({
      generate: async (params) => {
        calls.push(params);
        s.setState({ result: { seed: params.seed } as GenerateResult });
      },
    });
    const params = { prompt: 'x', seed: 1, steps: 2, scheduler: 'ddim', guidance: 7.5, width: 64, height: 64 } as GenerateParams;
    await s.getState().generateForActive(params);
    expect(calls[0].userEmbedding).toBe(s.getState().embedding.vector);
    expect(s.getState().resultProfile).toEqual({ id: p.id, name: 'Kim', personalized: true });

    failing = true;
    await s.getState().saveProfile({ ...p, age: 17 });
    await s.getState().generateForActive(params);
    expect(calls).toHaveLength(1);
    expect(s.getState().embedding.status).toBe('error');

    await s.getState().selectProfile(undefined);
    await s.getState().generateForActive(params);
    expect(calls[1].userEmbedding).toBeUndefined();
    expect(s.getState().resultProfile).toEqual({ name: 'no profile', personalized: false });
  });
});
