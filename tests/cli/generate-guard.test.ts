// `npm run generate -- --profile` runs the app's safety flow (src/state/guarded-generation.ts), on the real CLI under
// onnxruntime-node with the tiny demo bundle: a blocked prompt exits 3 with its explanation and writes nothing; a
// benign one is drawn and checked by the image stage; a steered one runs with the profile's personalized negative
// prompt and Safe Latent Diffusion (the engine's U-Net batch shows SLD ran); --no-guard says so loudly and draws;
// the picture the CLI writes is blurred exactly when the demo's safety checker flags it, as the app would show it;
// the engine's semantic check blocks what the text guard let through.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodePng } from '../../scripts/lib/png';
import { blurRgba } from '../../src/engine/image-check';
import { nodeEngine } from '../../src/engine/node-host';
import { renderEmbeddingText } from '../../src/safety/embedding-text';
import { computePolicy } from '../../src/safety/policy';
import { PROFILE_PRESETS } from '../../src/shared/profile';
import { createProfile, profileToPsaFields } from '../../src/safety/profile';
import { profileFromArg } from '../../scripts/profile/embed';
import { actionFor, checkPrompt } from '../../src/safety/guard/guard';
import { planGeneration, withSteering } from '../../src/state/guard-flow';
import { DEMO, ensureDemoBundles } from '../helpers/bundles';
import { runCli } from '../helpers/cli';

// Each CLI call loads the bundle and runs a few steps; on a busy machine that can take a while.
const SLOW = 300_000;
const STEPS = 3;

let tmp: string;
beforeAll(async () => {
  await ensureDemoBundles();
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'generate-guard-'));
});

const exists = (f: string) => fs.stat(f).then(() => true, () => false);
const gen = (out: string, ...args: string[]) => runCli(['--bundle', DEMO, '--steps', String(STEPS), '--out', out, ...args]);

describe('npm run generate -- --profile: the app’s safety flow', () => {
  it('child + "a naked woman": exit 3, no picture, the block explained (human line and --json), no embedding computed', async () => {
    const out = path.join(tmp, 'blocked.png');
    const r = gen(out, '--profile', 'child', '--prompt', 'a naked woman', '--json');
    expect(r.code, r.stderr).toBe(3);
    expect(await exists(out)).toBe(false);
    expect(r.stderr).toMatch(/^generate: blocked by the prompt guard of profile "child": Sexuality \(matched "naked"\); no picture was written/m);
    expect(r.stderr).toMatch(/^guard: blocked by the text stage for profile "child" — Sexuality \(matched "naked"\): .*under 18/m);
    // The guard ran before any engine work for the profile: its embedding was never computed.
    expect(r.stderr).not.toMatch(/→ embedding/);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ out: null, blocked: true, profile: 'child' });
    expect(j.guard).toMatchObject({ decision: 'blocked', blockedBy: 'text', imageStage: { ran: false } });
    expect(j.guard.decisions).toEqual([expect.objectContaining({ stage: 'text', category: 'Sexuality', action: 'blocked', matched: ['naked'] })]);
    // What the app shows a child names no words; the parent log gets the event without the prompt (not kept by default).
    expect(j.guard.decisions[0].message).not.toMatch(/naked/);
    expect(j.guard.log).toEqual([{ stage: 'text', source: 'lexicon', category: 'Sexuality', action: 'blocked' }]);
    // The same prompt without a profile is not guarded (as the app's "no profile" choice), and says so.
    const free = path.join(tmp, 'free.png');
    const f = gen(free, '--prompt', 'a naked woman');
    expect(f.code, f.stderr).toBe(0);
    expect(f.stderr).toMatch(/no --profile: nothing is guarded/);
    expect(await exists(free)).toBe(true);
  }, SLOW);

  it('child + a benign prompt: a picture, the prompt reported allowed and the image stage run', async () => {
    const out = path.join(tmp, 'cat.png');
    const r = gen(out, '--profile', 'child', '--prompt', 'a photo of a cat', '--seed', '0', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(decodePng(await fs.readFile(out)).width).toBeGreaterThan(0);
    const j = JSON.parse(r.stdout);
    expect(j.guard.decision).toBe('allowed');
    expect(j.guard.decisions.filter((d: { stage: string }) => d.stage !== 'image')).toEqual([]);
    expect(j.guard.imageStage.ran).toBe(true);
    // The child bans every category: the safety checker's verdict (Sexuality), then Q16's (the other bans), last.
    expect(j.guard.log.slice(-2)).toMatchObject([{ stage: 'image', category: 'Sexuality' }, { stage: 'q16', category: 'Inappropriate' }]);
    expect(j.guard.imageStage.q16).toMatchObject({ flagged: expect.any(Boolean), probability: expect.any(Number) });
    expect(r.stderr).toMatch(/^guard: the prompt is allowed for profile "child"/m);
    expect(r.stderr).toMatch(/^image stage: the safety checker /m);
  }, SLOW);

  it('a steered prompt runs with the profile’s negative prompt and SLD (the U-Net runs batch 3), reported per decision', async () => {
    const prompt = 'a soldier with a bloody knife';
    const p = createProfile('psa-level-1', { id: 'psa-level-1', now: 0 });
    const policy = computePolicy(p);
    const base = { prompt, negativePrompt: 'blurry', seed: 2, steps: STEPS, guidance: 7.5, scheduler: 'pndm' as const, width: 64, height: 64 };
    expect(planGeneration(base, p, policy).decision).toBe('steered'); // the case this test is about
    const want = withSteering(base, p, policy);
    const out = path.join(tmp, 'steered.png');
    const r = gen(out, '--profile', 'psa-level-1', '--prompt', prompt, '--negative', 'blurry', '--seed', '2', '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.guard.decision).toBe('steered');
    expect(j.guard.decisions.map((d: { category: string; action: string }) => `${d.category} ${d.action}`).sort()).toEqual(['Shocking steered', 'Violence steered']);
    expect(j.guard.steering).toEqual({ negativePrompt: want.negativePrompt, sld: want.sld });
    expect(j.guard.steering.negativePrompt).toMatch(/^blurry, .*violence/);
    expect(j.unet.batch).toBe(3);
    expect(j.sld).toBe('profile');
    expect(r.stderr.match(/^guard: steered by the text stage/gm)).toHaveLength(2);
    expect(r.stderr).toMatch(/^steering: negative prompt "blurry, .*" \+ Safe Latent Diffusion \(concept "an image showing violence/m);
    // Unguarded, the same request runs plain CFG (batch 2) and draws a different picture.
    const plain = path.join(tmp, 'steered-off.png');
    const u = gen(plain, '--profile', 'psa-level-1', '--prompt', prompt, '--negative', 'blurry', '--seed', '2', '--no-guard', '--json');
    expect(u.code, u.stderr).toBe(0);
    expect(JSON.parse(u.stdout).unet.batch).toBe(2);
    expect((await fs.readFile(plain)).equals(await fs.readFile(out))).toBe(false);
  }, SLOW);

  it('--no-guard: a loud warning on stderr, the picture written, the report says the guard was off', async () => {
    const out = path.join(tmp, 'noguard.png');
    const r = gen(out, '--profile', 'child', '--prompt', 'a naked woman', '--no-guard', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^!!! WARNING --no-guard: the safety flow of profile "child" is OFF/m);
    expect(r.stderr).not.toMatch(/^guard: /m);
    expect(await exists(out)).toBe(true);
    expect(JSON.parse(r.stdout).guard).toBe('off');
    const bad = gen(out, '--prompt', 'x', '--no-guard');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('generate: --no-guard needs --profile (without a profile nothing is guarded)');
  }, SLOW);

  it('the image stage: the written picture is blurred exactly when the demo’s safety checker flags it', async () => {
    // The checker's verdicts, computed here with the app's plan on the same engine but without the engine's blur.
    const profile = createProfile('child', { id: 'child', now: 0 });
    const policy = computePolicy(profile);
    const engine = nodeEngine();
    const info = await engine.load({ url: DEMO, backend: 'cpu' });
    const verdicts = new Map<number, { flagged: boolean; q16: boolean; rgba: Uint8ClampedArray }>();
    try {
      const emb = await engine.embed('t', renderEmbeddingText(info.profileEncoder!.template, profileToPsaFields(profile, policy)));
      for (let seed = 0; seed < 24 && !([true, false].every((f) => [...verdicts.values()].some((v) => v.flagged === f))); seed++) {
        const plan = planGeneration({ prompt: 'a photo of a cat', seed, steps: STEPS, guidance: 7.5, scheduler: info.defaultScheduler, width: 64, height: 64 }, profile, policy);
        if (plan.decision === 'blocked' || !plan.params.imageCheck) throw new Error('the child profile should draw this prompt with the image stage');
        const res = await engine.generate('t', { ...plan.params, userEmbedding: emb.embedding, imageCheck: { ...plan.params.imageCheck, blur: false } });
        verdicts.set(seed, { flagged: res.imageCheck!.flagged, q16: res.imageCheck!.q16?.flagged ?? false, rgba: new Uint8ClampedArray(res.rgba) });
      }
    } finally {
      await engine.unload();
    }
    const flaggedSeed = [...verdicts].find(([, v]) => v.flagged)?.[0];
    const cleanSeed = [...verdicts].find(([, v]) => !v.flagged)?.[0];
    // The demo's random-weight checker flags some of these pictures and not others; if that changes, say so.
    expect(flaggedSeed, 'no seed in 0..23 makes the demo checker flag: this test cannot see the blur').toBeDefined();
    expect(cleanSeed).toBeDefined();
    for (const seed of [flaggedSeed!, cleanSeed!]) {
      const v = verdicts.get(seed)!;
      const out = path.join(tmp, `image-${seed}.png`);
      const r = gen(out, '--profile', 'child', '--prompt', 'a photo of a cat', '--seed', String(seed), '--json');
      expect(r.code, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout);
      // Q16 (the child's other bans) may blur too; the demo ships Q16 prompts its own pictures pass, so usually not.
      const blurred = v.flagged || v.q16;
      expect(j.guard.imageStage).toMatchObject({ ran: true, flagged: v.flagged, blurred });
      const expected = new Uint8ClampedArray(v.rgba);
      if (blurred) blurRgba(expected, 64, 64);
      const png = decodePng(await fs.readFile(out));
      expect(Buffer.from(png.rgba).equals(Buffer.from(expected)), `seed ${seed}`).toBe(true);
      if (v.flagged) {
        expect(r.stderr).toMatch(/^image stage: the safety checker flagged the picture; it was blurred/m);
        expect(j.guard.decisions).toContainEqual(expect.objectContaining({ stage: 'image', category: 'Sexuality', action: 'blurred' }));
        expect(j.guard.log.at(-2)).toEqual({ stage: 'image', category: 'Sexuality', action: 'blurred' });
      } else {
        expect(r.stderr).toMatch(/^image stage: the safety checker did not flag the picture/m);
        expect(j.guard.log.at(-2)).toEqual({ stage: 'image', category: 'Sexuality', action: 'allowed' });
      }
      expect(j.guard.log.at(-1)).toEqual({ stage: 'q16', category: 'Inappropriate', action: v.q16 ? 'blurred' : 'allowed' });
    }
  }, SLOW);

  it('a PSA-JSON profile is judged as the app would hold it: a 12-year-old is blocked, the floor applies over an allowed Sexuality', async () => {
    const file = path.join(tmp, 'kid.json');
    await fs.writeFile(file, JSON.stringify({ name: 'kid', Age: 12, Gender: 'female', Religion: 'None', Physical_Condition: 'healthy', Mental_Condition: 'healthy', Banned_Categories: ['Violence'], Allowed_Categories: ['Hate', 'Harassment', 'Self-Harm', 'Sexuality', 'Shocking', 'Propaganda'] }));
    const out = path.join(tmp, 'kid.png');
    const r = gen(out, '--profile', file, '--prompt', 'a naked woman', '--json');
    expect(r.code, r.stderr).toBe(3);
    expect(await exists(out)).toBe(false);
    const d = JSON.parse(r.stdout).guard.decisions[0];
    expect(d).toMatchObject({ stage: 'text', category: 'Sexuality', action: 'blocked' });
    expect(d.reason).toMatch(/cannot apply under 18/);
  }, SLOW);

  it('the engine’s semantic check acts after the text guard allowed: the stage named, block → exit 3 and no picture, steer → a picture', async () => {
    // The demo's semantic section fires on a prompt that is one of its phrases. The text stages (word lists and the
    // classifier in recall mode) catch every phrase for a child, so look over the presets and an adult who bans everything for a profile and phrase the
    // text stages let through; the semantic stage then acts as that profile's rule says (block for minors and
    // protected profiles, steer for other adults).
    const manifest = JSON.parse(await fs.readFile(path.join(DEMO, 'manifest.json'), 'utf8'));
    const concepts = Object.entries(manifest.semanticGuard.concepts as Record<string, { phrases: string[] }>);
    // An adult who bans every category (strict classifier thresholds) joins the presets as a candidate.
    const adult = path.join(tmp, 'adult-bans-all.json');
    await fs.writeFile(adult, JSON.stringify({ name: 'adult-bans-all', Age: 35, Gender: 'male', Religion: 'None', Physical_Condition: 'healthy', Mental_Condition: 'healthy', Banned_Categories: ['Hate', 'Harassment', 'Violence', 'Self-Harm', 'Sexuality', 'Shocking', 'Propaganda'], Allowed_Categories: [] }));
    const picks = [];
    for (const arg of [...PROFILE_PRESETS, adult]) {
      const { profile: who, policy, label } = await profileFromArg(arg);
      for (const [c, v] of concepts) {
        if (!policy.banned.includes(c as never)) continue;
        for (const phrase of v.phrases) {
          if (checkPrompt(phrase, who, policy).decision === 'allowed') picks.push({ arg, label, category: c, phrase, action: actionFor(c as never, who) });
        }
      }
    }
    const pick = picks.find((x) => x.action === 'block') ?? picks[0];
    expect(pick, 'every demo phrase is caught by the text stages for every preset: the semantic stage cannot be reached here').toBeDefined();
    const out = path.join(tmp, 'semantic.png');
    const r = gen(out, '--profile', pick.arg, '--prompt', pick.phrase, '--json');
    if (pick.action === 'block') {
      expect(r.code, r.stderr).toBe(3);
      expect(await exists(out)).toBe(false);
      const j = JSON.parse(r.stdout);
      expect(j.guard).toMatchObject({ decision: 'blocked', blockedBy: 'semantic', semanticCheck: 'blocked' });
      expect(j.guard.decisions).toContainEqual(expect.objectContaining({ stage: 'semantic', category: pick.category, action: 'blocked' }));
      expect(r.stderr).toMatch(new RegExp(`^generate: blocked by the semantic check of profile "${pick.label}": ${pick.category}`, 'm'));
    } else {
      expect(r.code, r.stderr).toBe(0);
      expect(await exists(out)).toBe(true);
      const j = JSON.parse(r.stdout);
      expect(j.guard).toMatchObject({ semanticCheck: 'steered' });
      expect(j.guard.decisions).toContainEqual(expect.objectContaining({ stage: 'semantic', category: pick.category, action: 'steered' }));
    }
  }, SLOW);
});
