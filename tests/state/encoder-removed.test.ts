// The active profile's embedding after the bundle's profile encoder was removed (bundle info
// `profileEncoder.removed`): a profile whose embedding is cached still generates personalized with that cached vector
// and no encoder call; a profile needing a new one gets status 'encoder-removed', the engine's embed is never asked,
// and generation is refused (never the zero embedding: a profile's safety relies on its token). Real safety and
// storage modules on fake-indexeddb.
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
import { freshDatabase } from '../storage/helpers';

const texts: string[] = [];
const embed: EmbedFn = async (text) => {
  texts.push(text);
  const v = new Float32Array(8);
  for (let i = 0; i < text.length; i++) v[i % 8] += text.charCodeAt(i) / 1000;
  return { embedding: v, encoderId: 'enc-1', tokens: text.length, ms: 1 };
};
const makeStore = () => create<EngineSlice & ProfilesSlice>()((...a) => ({ ...createEngineSlice(...a), ...createProfilesSlice(realProfileDeps, embed)(...a) }));
const bundle = (removed: boolean) =>
  ({ id: 'demo', profileEncoder: { id: 'enc-1', template: PSA_EMBEDDING_TEMPLATE, ...(removed ? { removed } : {}) } }) as unknown as LoadedBundleInfo;
const params = { prompt: 'a cat', seed: 7, steps: 2, scheduler: 'ddim', guidance: 7.5, width: 64, height: 64 } as GenerateParams;

beforeEach(async () => {
  texts.length = 0;
  await freshDatabase();
});

function watchGenerate(s: ReturnType<typeof makeStore>): GenerateParams[] {
  const calls: GenerateParams[] = [];
  s.setState({
    generate: async (p) => {
      calls.push(p);
      s.setState({ result: { seed: p.seed } as GenerateResult });
    },
  });
  return calls;
}

describe('after the profile encoder was removed', () => {
  it('a cached embedding still personalizes; a new one is refused with status encoder-removed', async () => {
    // Before removal: the profile's embedding is computed and cached.
    const s0 = makeStore();
    await s0.getState().loadProfiles();
    s0.setState({ bundle: bundle(false) });
    const p: Profile = { ...s0.getState().draftFromPreset('teen', 'Kim'), protected: false };
    await s0.getState().saveProfile(p);
    await s0.getState().selectProfile(p.id);
    const computed = await s0.getState().ensureEmbedding();
    expect(texts).toHaveLength(1);

    // "Reload" with the encoder removed.
    await closeDatabase();
    const s = makeStore();
    await s.getState().loadProfiles();
    s.setState({ bundle: bundle(true) });
    const calls = watchGenerate(s);
    await s.getState().generateForActive(params);
    expect(texts).toHaveLength(1); // no encoder call
    expect(calls).toHaveLength(1);
    expect(Array.from(calls[0].userEmbedding!)).toEqual(Array.from(computed!));
    expect(s.getState().embedding).toMatchObject({ status: 'ready', fromCache: true });
    expect(s.getState().resultProfile).toMatchObject({ id: p.id, personalized: true });

    // An edit that changes the embedding text needs the encoder: status says so, nothing is generated.
    await s.getState().saveProfile({ ...s.getState().profiles[0], age: 16 });
    await s.getState().generateForActive(params);
    expect(texts).toHaveLength(1);
    expect(calls).toHaveLength(1);
    expect(s.getState().embedding).toMatchObject({ status: 'encoder-removed', profileId: p.id });
    expect(s.getState().embedding.vector).toBeUndefined();
  });
});
