// The lock rules added after the lock review (issue 23), on the real storage (fake-indexeddb) with the engine and
// log slices composed as the app does: the one PIN dialog (askPin / answerPin / cancelPin) and what waits on it, a
// stale store (another tab's changes) decided on what IndexedDB holds, the parent log closing when the session ends
// or runs out, fail-closed generation (nobody chosen; a protected profile on a model lacking its parts).
import '../storage/helpers';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { create } from 'zustand';
import { PSA_EMBEDDING_TEMPLATE } from '../../src/safety/embedding-text';
import type { GenerateParams, LoadedBundleInfo } from '../../src/shared/types';
import { createEngineSlice, type EngineSlice } from '../../src/state/engine-slice';
import { createLogSlice, realLogDeps, type LogSlice } from '../../src/state/log-slice';
import { realProfileDeps } from '../../src/state/profile-deps';
import { createProfilesSlice, UNLOCK_MS, type EmbedFn, type ProfilesSlice } from '../../src/state/profiles-slice';
import { missingParts } from '../../src/state/guarded-generation';
import { computePolicy } from '../../src/safety/policy';
import { closeDatabase } from '../../src/storage/db';
import * as profiles from '../../src/storage/profiles';
import { freshDatabase } from '../storage/helpers';
import { appendLog, listLog } from '../../src/storage/parent-log';

const PIN = '4821';
type Store = EngineSlice & ProfilesSlice & LogSlice;

const embed: EmbedFn = async () => ({ embedding: new Float32Array(8).fill(0.5), encoderId: 'enc-1', tokens: 1, ms: 1 });
const full = { id: 'demo', psa: true, imageChecker: true, profileEncoder: { id: 'enc-1', template: PSA_EMBEDDING_TEMPLATE } } as unknown as LoadedBundleInfo;

/** A store as the app composes it, with a fake engine generate that counts its calls. */
function makeStore(bundle: LoadedBundleInfo = full) {
  const s = create<Store>()((...a) => ({ ...createEngineSlice(...a), ...createProfilesSlice(realProfileDeps, embed)(...a), ...createLogSlice(realLogDeps)(...a) }));
  const calls: GenerateParams[] = [];
  s.setState({
    bundle,
    generate: async (p: GenerateParams) => {
      calls.push(p);
      s.setState({ result: { width: 8, height: 8, rgba: new Uint8ClampedArray(256), ms: 1 } as never });
    },
  });
  return { s, calls };
}

const params: GenerateParams = { prompt: 'a cat', seed: 1, steps: 2, guidance: 7.5, width: 8, height: 8, scheduler: 'ddim' } as GenerateParams;

/** A parent with a PIN and a protected child profile handed over (session closed). */
async function childHandedOver(bundle?: LoadedBundleInfo) {
  const { s, calls } = makeStore(bundle);
  await s.getState().loadProfiles();
  expect(await s.getState().setPin(PIN)).toBe(true);
  const child = s.getState().draftFromPreset('child', 'Mia');
  expect(await s.getState().saveProfile(child)).toBe(true);
  expect(await s.getState().selectProfile(child.id)).toBe(true);
  expect(s.getState().isUnlocked()).toBe(false);
  return { s, calls, child };
}

beforeEach(freshDatabase);
afterEach(() => vi.useRealTimers());

describe('the one PIN dialog', () => {
  it('an action waits on it: a wrong PIN keeps it open with the reason, the right one lets the action through', async () => {
    const { s, child } = await childHandedOver();
    s.getState().attachPinDialog();
    const switching = s.getState().selectProfile(undefined);
    await vi.waitFor(() => expect(s.getState().pinPrompt?.purpose).toBe('switch'));
    await s.getState().answerPin('0000');
    expect(s.getState().pinPrompt?.error?.code).toBe('WRONG_PIN');
    expect(await profiles.getActiveProfileId()).toBe(child.id); // still waiting: nothing changed
    await s.getState().answerPin(PIN);
    expect(await switching).toBe(true);
    expect(s.getState().pinPrompt).toBeUndefined();
    expect(await profiles.getActiveProfileId()).toBeUndefined();
    expect(await profiles.noProfileChosen()).toBe(true);
  });

  it('cancelling refuses the action with PIN_REQUIRED; with no dialog on screen nothing waits', async () => {
    const { s, child } = await childHandedOver();
    const detach = s.getState().attachPinDialog();
    const deleting = s.getState().deleteProfile(child.id);
    await vi.waitFor(() => expect(s.getState().pinPrompt?.purpose).toBe('profile'));
    s.getState().cancelPin();
    expect(await deleting).toBe(false);
    expect(s.getState().profileError?.code).toBe('PIN_REQUIRED');
    detach();
    expect(await s.getState().deleteProfile(child.id)).toBe(false); // no dialog: refused at once
    expect(await profiles.getProfile(child.id)).toBeDefined();
  });

  it('a destructive step asks again even while the session is open', async () => {
    const { s } = await childHandedOver();
    expect(await s.getState().unlock(PIN)).toBe(true);
    expect(await s.getState().authorize(true, 'model')).toBe(true); // open session: no question
    s.getState().attachPinDialog();
    const fresh = s.getState().authorize(true, 'clear-log', { fresh: true });
    await vi.waitFor(() => expect(s.getState().pinPrompt?.purpose).toBe('clear-log'));
    s.getState().cancelPin();
    expect(await fresh).toBe(false);
  });
});

describe('one truth across tabs', () => {
  it('a tab that saw nothing of the handover decides on what is stored: no switch, no unprotecting, and its pictures are for the child', async () => {
    // The stale tab loads first, before any profile or lock exists.
    const stale = makeStore();
    await stale.s.getState().loadProfiles();
    expect(stale.s.getState().profiles).toEqual([]);
    const { child } = await childHandedOver();
    expect(stale.s.getState().activeProfileId).toBeUndefined(); // it has not looked again

    expect(await stale.s.getState().selectProfile(undefined)).toBe(false);
    expect(stale.s.getState().profileError?.code).toBe('PIN_REQUIRED');
    expect(await stale.s.getState().saveProfile({ ...child, protected: false })).toBe(false);
    expect((await profiles.getProfile(child.id))!.protected).toBe(true);

    await stale.s.getState().generateForActive(params);
    expect(stale.s.getState().resultProfile?.name).toBe('Mia');
    expect(stale.calls).toHaveLength(1);
    expect(stale.calls[0].imageCheck).toBeDefined(); // the child's image stage was asked for
    expect(stale.calls[0].userEmbedding).toBeDefined(); // and the child's embedding applied
  });
});

describe('the parent log closes with the session', () => {
  it('opens without the PIN inside an open session; storage refuses that session\'s proof once it ended; then the dialog asks', async () => {
    const { s } = makeStore();
    await s.getState().loadProfiles();
    await appendLog({ profile: { id: 'kid', name: 'Mia' }, stage: 'text', source: 'classifier', category: 'Violence', action: 'blocked' });
    expect(await s.getState().setPin(PIN)).toBe(true); // the session is open from setting the PIN
    s.getState().attachPinDialog();
    const opening = s.getState().openLog();
    await vi.waitFor(() => expect(s.getState().log.status === 'ready' || s.getState().pinPrompt !== undefined).toBe(true));
    expect(s.getState().pinPrompt).toBeUndefined(); // not asked again
    await opening;
    expect(s.getState().log).toMatchObject({ status: 'ready', total: 1 });
    expect(s.getState().log.entries[0].source).toBe('classifier');
    const proof = s.getState().sessionProof();
    expect(proof).toEqual({ session: expect.stringMatching(/^[0-9a-f]{32}$/) });

    s.getState().lockNow();
    expect(s.getState().log.status).toBe('closed');
    expect(s.getState().sessionProof()).toBeUndefined();
    // Storage itself refuses what the ended session had (a stale screen keeping it gets nothing).
    await expect(listLog(proof!)).rejects.toMatchObject({ code: 'LOCK_SESSION_ENDED' });

    const reopening = s.getState().openLog();
    await vi.waitFor(() => expect(s.getState().pinPrompt?.purpose).toBe('log'));
    await s.getState().answerPin(PIN);
    await reopening;
    expect(s.getState().log).toMatchObject({ status: 'ready', total: 1 });
    expect(s.getState().isUnlocked()).toBe(true); // the right PIN opened the session for the rest of the parent area

    // Clearing asks again; that PIN entry renews the session (a new token), and the open view follows it.
    const clearing = s.getState().clearParentLog();
    await vi.waitFor(() => expect(s.getState().pinPrompt?.purpose).toBe('clear-log'));
    await s.getState().answerPin(PIN);
    await clearing;
    expect(s.getState().sessionProof()).not.toEqual(proof);
    expect(s.getState().log).toMatchObject({ status: 'ready', total: 0 });
  });

  it('on Lock now and when the unlock window runs out (the handover: e2e/lock.spec.ts)', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] });
    const { s } = makeStore();
    await s.getState().loadProfiles();
    expect(await s.getState().setPin(PIN)).toBe(true);
    await s.getState().openLog(PIN);
    expect(s.getState().log.status).toBe('ready');
    s.getState().lockNow();
    expect(s.getState().log.status).toBe('closed');

    expect(await s.getState().unlock(PIN)).toBe(true);
    await s.getState().openLog(PIN);
    expect(s.getState().log.status).toBe('ready');
    vi.advanceTimersByTime(UNLOCK_MS - 5_000);
    expect(s.getState().log.status).toBe('ready');
    vi.advanceTimersByTime(10_000);
    expect(s.getState().log.status).toBe('closed');
  });
});

describe('fail closed', () => {
  it('nobody chosen (a first run or an emptied store): nothing is generated until a person chooses "no profile"', async () => {
    const { s, calls } = makeStore();
    await s.getState().loadProfiles();
    await s.getState().generateForActive(params);
    expect(s.getState().generationRefusal).toEqual({ code: 'NO_PROFILE_CHOSEN' });
    expect(calls).toHaveLength(0);
    expect(await s.getState().selectProfile(undefined)).toBe(true);
    await s.getState().generateForActive(params);
    expect(s.getState().generationRefusal).toBeUndefined();
    expect(calls).toHaveLength(1);
    // The choice is stored: a reload keeps it; deleting the chosen profile later would need a new choice.
    await closeDatabase();
    expect(await profiles.noProfileChosen()).toBe(true);
  });

  it('a protected profile refuses a model without its image checker or embedding parts, unless the parent allowed it', async () => {
    const plain = { id: 'plain', psa: false, imageChecker: false } as unknown as LoadedBundleInfo;
    const { s, calls, child } = await childHandedOver(plain);
    await s.getState().generateForActive(params);
    expect(s.getState().generationRefusal).toEqual({ code: 'MODEL_LACKS_PARTS', profileName: 'Mia', missing: ['imageChecker', 'embedding'] });
    expect(calls).toHaveLength(0);
    const saved = (await profiles.getProfile(child.id))!;
    expect(await s.getState().saveProfile({ ...saved, allowIncompleteModel: true }, PIN)).toBe(true);
    await s.getState().generateForActive(params);
    expect(s.getState().generationRefusal).toBeUndefined();
    expect(calls).toHaveLength(1);
  });

  it('missingParts: only for protected profiles, only what the policy needs', () => {
    const { s } = makeStore();
    const child = s.getState().draftFromPreset('child', 'Mia');
    const adult = { ...s.getState().draftFromPreset('adult', 'Sam'), protected: true };
    const noChecker = { ...full, imageChecker: false } as LoadedBundleInfo;
    expect(missingParts(child, computePolicy(child), full)).toEqual([]);
    expect(missingParts(child, computePolicy(child), noChecker)).toEqual(['imageChecker']);
    expect(missingParts({ ...child, protected: false }, computePolicy(child), noChecker)).toEqual([]);
    // An adult who bans no Sexuality needs no image checker; the embedding still.
    expect(missingParts(adult, computePolicy(adult), noChecker)).toEqual([]);
    expect(missingParts(adult, computePolicy(adult), { ...full, profileEncoder: undefined } as LoadedBundleInfo)).toEqual(['embedding']);
    // One who bans Violence needs it for Q16 (the image stage for every category but Sexuality runs on its embedding).
    const violence = { ...adult, choices: { Violence: 'ban' as const } };
    expect(missingParts(violence, computePolicy(violence), noChecker)).toEqual(['imageChecker']);
  });
});
