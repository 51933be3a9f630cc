// The store the safety-flow tests drive (guard-flow, semantic-flow): the engine, profiles and log slices on the real
// profile and log storage (fake-indexeddb), a loaded demo bundle with a profile encoder, and one profile saved and
// selected. The engine is the test's own small fake (embed + generate).
import { expect } from 'vitest';
import { create } from 'zustand';
import { PSA_EMBEDDING_TEMPLATE } from '../../src/safety/embedding-text';
import type { Profile } from '../../src/shared/profile';
import type { GenerateParams, LoadedBundleInfo } from '../../src/shared/types';
import { createEngineSlice, type EngineSlice } from '../../src/state/engine-slice';
import { createLogSlice, realLogDeps, type LogSlice } from '../../src/state/log-slice';
import { realProfileDeps } from '../../src/state/profile-deps';
import { createProfilesSlice, type EmbedFn, type ProfilesSlice } from '../../src/state/profiles-slice';

export type Store = EngineSlice & ProfilesSlice & LogSlice;

export interface FakeEngine {
  embed: EmbedFn;
  /** The store's generate action, given the store (to set its result). */
  generate(s: { setState(p: Partial<Store>): void }): (params: GenerateParams) => Promise<void>;
}

export async function storeWith<E extends FakeEngine>(profile: (s: Store) => Profile, engine: E) {
  const s = create<Store>()((...a) => ({
    ...createEngineSlice(...a),
    ...createProfilesSlice(realProfileDeps, engine.embed)(...a),
    ...createLogSlice(realLogDeps)(...a),
  }));
  s.setState({ bundle: { id: 'demo', profileEncoder: { id: 'enc-1', template: PSA_EMBEDDING_TEMPLATE } } as unknown as LoadedBundleInfo });
  s.setState({ generate: engine.generate(s) });
  await s.getState().loadProfiles();
  const p = profile(s.getState());
  expect(await s.getState().saveProfile(p)).toBe(true);
  expect(await s.getState().selectProfile(p.id)).toBe(true);
  return { s, p, engine };
}
