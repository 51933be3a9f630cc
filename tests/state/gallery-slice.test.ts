// The gallery slice composed as the app composes it (engine, profiles, log and gallery slices) on the real guard,
// lock and storage (fake-indexeddb), with a small fake engine: each shown picture is kept with its settings, model
// and safety decisions (a blurred one only blurred, a blocked prompt not at all); the visibility rule — a parent
// (no lock, or the lock open) sees every profile's pictures, anyone else only the active profile's; deleting a
// protected profile's picture needs the PIN; "use these settings" hands back the person's own request.
import '../storage/helpers';
import { PNG } from 'pngjs';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { create } from 'zustand';
import { PSA_EMBEDDING_TEMPLATE } from '../../src/safety/embedding-text';
import { readTextChunks } from '../../src/shared/png-text';
import type { GenerateParams, GenerateResult, LoadedBundleInfo } from '../../src/shared/types';
import { createEngineSlice, type EngineSlice } from '../../src/state/engine-slice';
import { createGallerySlice, galleryScope, realGalleryDeps, type GallerySlice } from '../../src/state/gallery-slice';
import { createLogSlice, realLogDeps, type LogSlice } from '../../src/state/log-slice';
import { realProfileDeps } from '../../src/state/profile-deps';
import { createProfilesSlice, type EmbedFn, type ProfilesSlice } from '../../src/state/profiles-slice';
import { closeDatabase } from '../../src/storage/db';
import { listGallery } from '../../src/storage/gallery';
import { freshDatabase } from '../storage/helpers';

type Store = EngineSlice & ProfilesSlice & LogSlice & GallerySlice;
const PIN = '4821';
const W = 4;
const H = 2;

const embed: EmbedFn = async (text) => ({ embedding: new Float32Array(8).fill(text.length / 1000), encoderId: 'enc-1', tokens: 1, ms: 1 });

/** Fake engine: a W×H picture whose pixels are 10 (100 when its image stage blurs, standing for the blurred copy). */
function fakeGenerate(s: { setState(p: Partial<Store>): void }, opts: { blur?: boolean }, sent: GenerateParams[]) {
  return async (params: GenerateParams) => {
    sent.push(params);
    const blurred = !!opts.blur && !!params.imageCheck?.blur;
    const imageCheck = params.imageCheck && { flagged: !!opts.blur, scores: [0], specialScores: [0], blurred };
    const rgba = new Uint8ClampedArray(W * H * 4).fill(blurred ? 100 : 10);
    s.setState({ result: { width: W, height: H, rgba, seed: params.seed, backend: 'wasm', ...(imageCheck ? { imageCheck } : {}) } as GenerateResult });
  };
}

const bundle = {
  id: 'demo',
  name: 'Demo',
  version: '1.2.3',
  psa: true,
  imageChecker: true,
  variants: { unet: 'fp32', text_encoder: 'fp32', vae_decoder: 'fp32' },
  profileEncoder: { id: 'enc-1', template: PSA_EMBEDDING_TEMPLATE },
} as unknown as LoadedBundleInfo;

let clock = 1_700_000_000_000;
function makeStore(opts: { blur?: boolean } = {}, gallerySlice: typeof createGallerySlice = createGallerySlice) {
  const sent: GenerateParams[] = [];
  const s = create<Store>()((...a) => ({
    ...createEngineSlice(...a),
    ...createProfilesSlice(realProfileDeps, embed)(...a),
    ...createLogSlice(realLogDeps)(...a),
    // The real storage and lock; Node has no canvas, so pngjs encodes (the browser's encoder is in the e2e test).
    ...gallerySlice({ ...realGalleryDeps, encodePng: async (rgba, w, h) => encodePng(rgba, w, h), now: () => ++clock })(...a),
  }));
  s.setState({ bundle, generate: fakeGenerate(s, opts, sent) });
  return { s, sent };
}

function encodePng(rgba: Uint8ClampedArray, width: number, height: number): Uint8Array {
  const png = new PNG({ width, height });
  png.data.set(rgba);
  return new Uint8Array(PNG.sync.write(png));
}

const params = (prompt: string, negativePrompt?: string): GenerateParams => ({ prompt, negativePrompt, seed: 7, steps: 6, scheduler: 'euler', guidance: 6.5, width: W, height: H });

/** A parent sets the PIN, adds an unprotected adult (Sam) and a protected child (Mia); Sam is active, session open. */
async function family(opts: { blur?: boolean } = {}) {
  const { s, sent } = makeStore(opts);
  await s.getState().loadProfiles();
  expect(await s.getState().setPin(PIN)).toBe(true);
  const sam = { ...s.getState().draftFromPreset('adult', 'Sam'), protected: false };
  const mia = s.getState().draftFromPreset('child', 'Mia');
  expect(mia.protected).toBe(true);
  for (const p of [sam, mia]) expect(await s.getState().saveProfile(p)).toBe(true);
  expect(await s.getState().selectProfile(sam.id)).toBe(true);
  return { s, sent, sam, mia };
}

const shownIds = (s: { getState(): Store }) => s.getState().gallery.entries.map((e) => e.profile.id);

beforeEach(freshDatabase);

describe('the visibility rule', () => {
  it('no lock or an open lock: everything; a closed lock: the active profile only (no profile → the no-profile pictures)', () => {
    expect(galleryScope(false, false, 'kid')).toBe('all');
    expect(galleryScope(true, true, 'kid')).toBe('all');
    expect(galleryScope(true, false, 'kid')).toEqual({ profileKey: 'kid' });
    expect(galleryScope(true, false, undefined)).toEqual({ profileKey: '' });
  });

  it('the child sees only their own pictures; the parent, once the PIN opens the lock, sees everyone\'s', async () => {
    const { s, sam, mia } = await family();
    await s.getState().generateForActive(params('a red bicycle'));
    expect(await s.getState().selectProfile(mia.id)).toBe(true); // the handover closes the parent's session
    await s.getState().generateForActive(params('a happy dog'));
    expect(s.getState().result).toBeDefined();

    await s.getState().loadGallery();
    expect(s.getState().gallery).toMatchObject({ status: 'ready', seesAll: false });
    expect(shownIds(s)).toEqual([mia.id]);
    expect(s.getState().gallery.bytes).toBe(s.getState().gallery.entries[0].bytes);

    expect(await s.getState().unlock(PIN)).toBe(true);
    await s.getState().loadGallery();
    expect(s.getState().gallery.seesAll).toBe(true);
    expect(shownIds(s)).toEqual([mia.id, sam.id]); // newest first
    const all = s.getState().gallery.entries;
    expect(s.getState().gallery.bytes).toBe(all[0].bytes + all[1].bytes);

    s.getState().lockNow();
    await s.getState().loadGallery();
    expect(shownIds(s)).toEqual([mia.id]);
  });
});

describe('keeping each shown picture', () => {
  it('stores the PNG with the parameters text and the metadata, across a reload', async () => {
    const { s, sam } = await family();
    await s.getState().generateForActive(params('a red bicycle', 'rain'));
    await closeDatabase(); // a reload
    const [e] = await listGallery('all');
    expect(e).toMatchObject({
      profileKey: sam.id,
      profile: { id: sam.id, name: 'Sam', protected: false },
      settings: { prompt: 'a red bicycle', negativePrompt: 'rain', seed: 7, steps: 6, scheduler: 'euler', guidance: 6.5, width: W, height: H },
      model: { id: 'demo', name: 'Demo', version: '1.2.3', variant: 'fp32', backend: 'wasm' },
      safety: { decision: 'allowed', interventions: [] },
    });
    const bytes = new Uint8Array(await e.png.arrayBuffer());
    expect(e.bytes).toBe(bytes.length);
    expect(readTextChunks(bytes).parameters).toBe(
      'a red bicycle\nNegative prompt: rain\nSteps: 6, Sampler: Euler, CFG scale: 6.5, Seed: 7, Size: 4x2, Model: demo@1.2.3',
    );
    expect(Array.from(PNG.sync.read(Buffer.from(bytes)).data)).toEqual(new Array(W * H * 4).fill(10));
  });

  it('a blurred picture is kept only blurred, with the image check and its explanation recorded', async () => {
    const { s, mia } = await family({ blur: true });
    expect(await s.getState().selectProfile(mia.id)).toBe(true);
    await s.getState().generateForActive(params('a beach'));
    expect(s.getState().result?.imageCheck?.blurred).toBe(true);
    const [e] = await listGallery({ profileKey: mia.id });
    expect(e.safety.imageCheck).toEqual({ flagged: true, blurred: true });
    expect(e.safety.interventions).toContainEqual({ stage: 'image', category: 'Sexuality', action: 'blurred' });
    expect(Array.from(PNG.sync.read(Buffer.from(await e.png.arrayBuffer())).data)).toEqual(new Array(W * H * 4).fill(100));
  });

  it('a steered prompt is recorded as steered, and keeps the person\'s own negative prompt (not the steering\'s)', async () => {
    const { s, sent, sam } = await family();
    const banning = { ...s.getState().profiles.find((p) => p.id === sam.id)!, choices: { Violence: 'ban' as const } };
    expect(await s.getState().saveProfile(banning)).toBe(true);
    await s.getState().generateForActive(params('a knife fight in an alley', 'blurry'));
    expect(sent[0].negativePrompt).toMatch(/^blurry, .*violence/); // the engine got the steered one
    const [e] = await listGallery('all');
    expect(e.safety.decision).toBe('steered');
    expect(e.safety.interventions).toContainEqual({ stage: 'text', category: 'Violence', action: 'steered' });
    expect(e.settings.negativePrompt).toBe('blurry');
    s.getState().reuseSettings('not shown');
    expect(s.getState().pendingSettings).toBeUndefined();
    s.getState().reuseSettings(e.id); // keeping it reloaded the shown list
    expect(s.getState().gallery.entries.map((x) => x.id)).toEqual([e.id]);
    expect(s.getState().pendingSettings).toEqual(e.settings);
    s.getState().clearPendingSettings();
    expect(s.getState().pendingSettings).toBeUndefined();
  });

  it('a blocked prompt makes no picture and stores nothing', async () => {
    const { s, sent, mia } = await family();
    expect(await s.getState().selectProfile(mia.id)).toBe(true);
    await s.getState().generateForActive(params('a bloody knife fight'));
    expect(s.getState().guardOutcome?.decision).toBe('blocked');
    expect(sent).toHaveLength(0);
    expect(await listGallery('all')).toEqual([]);
  });

  it('a picture made with no profile (chosen on purpose) is kept under no profile, with no safety decisions', async () => {
    const { s } = makeStore();
    await s.getState().loadProfiles();
    expect(await s.getState().selectProfile(undefined)).toBe(true);
    await s.getState().generateForActive(params('a teapot'));
    const [e] = await listGallery({ profileKey: '' });
    expect(e.profile).toEqual({ name: 'no profile', protected: false });
    expect(e.safety).toEqual({ decision: 'none', interventions: [] });
    await s.getState().loadGallery();
    expect(s.getState().gallery.seesAll).toBe(true); // no lock: whoever holds the device is the parent
  });
});

describe('deleting', () => {
  it('a protected profile\'s picture needs the PIN: refused without it, deleted once the dialog is answered', async () => {
    const { s, mia } = await family();
    expect(await s.getState().selectProfile(mia.id)).toBe(true);
    await s.getState().generateForActive(params('a happy dog'));
    await s.getState().loadGallery();
    const id = s.getState().gallery.entries[0].id;

    // No dialog on screen (state alone): refused, nothing deleted.
    expect(await s.getState().deleteFromGallery(id)).toBe(false);
    expect(s.getState().gallery.error?.code).toBe('PIN_REQUIRED');
    expect(await listGallery('all')).toHaveLength(1);

    // With the dialog: it asks (purpose 'gallery'); a wrong PIN keeps it waiting, the right one deletes.
    const detach = s.getState().attachPinDialog();
    const done = s.getState().deleteFromGallery(id);
    await expect.poll(() => s.getState().pinPrompt?.purpose).toBe('gallery');
    await s.getState().answerPin('0000');
    expect(s.getState().pinPrompt?.error?.code).toBe('WRONG_PIN');
    expect(await listGallery('all')).toHaveLength(1);
    await s.getState().answerPin(PIN);
    expect(await done).toBe(true);
    expect(await listGallery('all')).toEqual([]);
    expect(s.getState().gallery.entries).toEqual([]);
    detach();
  });

  it('an unprotected profile\'s picture is deleted without the PIN', async () => {
    const { s } = await family();
    s.getState().lockNow(); // even with the parent's session closed
    await s.getState().generateForActive(params('a red bicycle'));
    await s.getState().loadGallery();
    expect(await s.getState().deleteFromGallery(s.getState().gallery.entries[0].id)).toBe(true);
    expect(await listGallery('all')).toEqual([]);
  });

  it('a picture this reader cannot see (a stale screen) needs the PIN even if its profile is not protected', async () => {
    const { s, mia } = await family();
    await s.getState().generateForActive(params('a red bicycle')); // Sam's, unprotected
    await s.getState().loadGallery();
    const samsPicture = s.getState().gallery.entries[0].id;
    expect(await s.getState().selectProfile(mia.id)).toBe(true); // the lock closes; the screen still lists Sam's
    expect(await s.getState().deleteFromGallery(samsPicture)).toBe(false);
    expect(s.getState().gallery.error?.code).toBe('PIN_REQUIRED');
    expect(await listGallery('all')).toHaveLength(1);
  });
});

describe('other tabs', () => {
  it('a picture kept or deleted in one tab shows up in, or goes from, another tab\'s gallery', async () => {
    const a = makeStore().s;
    // A second tab: its own store on the same database, and its own modules (so its own tab channel, as a real tab).
    vi.resetModules();
    const b = makeStore({}, (await import('../../src/state/gallery-slice')).createGallerySlice).s;
    for (const s of [a, b]) {
      await s.getState().loadProfiles();
      expect(await s.getState().selectProfile(undefined)).toBe(true);
    }
    await b.getState().loadGallery();
    const stop = b.getState().followGalleryInOtherTabs();
    try {
      await a.getState().generateForActive(params('a teapot'));
      await expect.poll(() => b.getState().gallery.entries.length).toBe(1);
      expect(await a.getState().deleteFromGallery(a.getState().gallery.entries[0].id)).toBe(true);
      await expect.poll(() => b.getState().gallery.entries.length).toBe(0);
    } finally {
      stop();
    }
  });
});
