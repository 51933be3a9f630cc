// `npm run profile -- embed`: usage errors exit 2 with one line, missing encoder files are named, a good run writes
// the float32 embedding [E] (and the projected user tokens with --bundle), the policy fills the lists when the
// profile JSON has none, and — parity with PSA's own computation — the fixture encoder made by transformers' Qwen2
// (fixtures/profile-encoder, see scripts/reference/README.md) reproduces every reference embedding to 1e-4.
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readNpy } from '../../scripts/lib/npy';
import { DEMO, ensureDemoBundles } from '../helpers/bundles';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const ENCODER = path.join(DEMO, 'profile_encoder');
const FIXTURE = path.join(ROOT, 'fixtures', 'profile-encoder');

function embed(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'scripts/profile.ts'), 'embed', ...args], { cwd: ROOT, encoding: 'utf8' });
  const stderr = r.stderr.split('\n').filter((l) => l.trim() && !/onnxruntime|graph\.cc/.test(l)).join('\n');
  return { code: r.status ?? 1, stdout: r.stdout.trim(), stderr };
}

const relErr = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return a.length === b.length ? num / den : Infinity;
};

let tmp: string;
beforeAll(async () => {
  await ensureDemoBundles();
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'profile-embed-'));
});

describe('npm run profile -- embed: usage and missing files', () => {
  it('refuses bad usage with exit 2 and one line', async () => {
    const badJson = path.join(tmp, 'bad.json');
    await fs.writeFile(badJson, JSON.stringify({ Age: 9, Age_Group: 'adults', Gender: 'male', Religion: 'None', Physical_Condition: 'healthy', Mental_Condition: 'healthy' }));
    const cases: [string[], RegExp][] = [
      [[], /--encoder DIR is required/],
      [['--encoder', ENCODER, '--out', 'x.npy'], /--profile .* is required/],
      [['--encoder', ENCODER, '--profile', 'child'], /--out FILE\.npy is required/],
      [['--encoder', ENCODER, '--profile', 'child', '--out', 'x.npy', '--bogus'], /bogus/],
      [['--encoder', ENCODER, '--profile', 'toddler', '--out', 'x.npy'], /neither a preset .* nor a readable JSON file/],
      [['--encoder', ENCODER, '--profile', 'child', '--out', 'x.npy', '--tokens', 't.npy'], /--tokens needs --bundle/],
      [['--encoder', path.join(tmp, 'nope'), '--profile', 'child', '--out', 'x.npy'], /--encoder folder not found/],
      [['--encoder', ENCODER, '--profile', badJson, '--out', 'x.npy'], /Age_Group "adults" does not fit Age 9/],
    ];
    for (const [args, msg] of cases) {
      const r = embed(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(/^embed: /);
      expect(r.stderr).toMatch(msg);
    }
  });

  it('names the missing encoder file in one line (exit 1)', async () => {
    const dir = path.join(tmp, 'enc');
    await fs.mkdir(dir);
    for (const f of ['tokenizer.json', 'config.json']) await fs.copyFile(path.join(ENCODER, f), path.join(dir, f));
    let r = embed(['--encoder', dir, '--profile', 'child', '--out', path.join(tmp, 'x.npy')]);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/MODEL_FILE_MISSING: model\.onnx is missing from the profile encoder folder/);
    await fs.copyFile(path.join(ENCODER, 'model.onnx'), path.join(dir, 'model.onnx'));
    r = embed(['--encoder', dir, '--profile', 'child', '--out', path.join(tmp, 'x.npy')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/tokenizer_config\.json is missing from the profile encoder folder/);
  });
});

describe('npm run profile -- embed: results', () => {
  it('writes the embedding [E] and, with --bundle, the projected user tokens [U, D]; profiles differ', async () => {
    const child = path.join(tmp, 'child.npy'), tokens = path.join(tmp, 'child-tokens.npy');
    const r = embed(['--encoder', ENCODER, '--profile', 'child', '--out', child, '--bundle', DEMO, '--tokens', tokens]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/profile "child" \(age 9 \(children\)/);
    const e = readNpy(await fs.readFile(child));
    expect(e.shape).toEqual([16]);
    expect(readNpy(await fs.readFile(tokens)).shape).toEqual([1, 32]);
    const adult = path.join(tmp, 'adult.npy');
    expect(embed(['--encoder', ENCODER, '--profile', 'adult', '--out', adult]).code).toBe(0);
    expect(relErr(readNpy(await fs.readFile(adult)).data, e.data)).toBeGreaterThan(1e-3);
  });

  it('a PSA-named profile JSON without lists takes them from the policy; with the Child preset\'s lists it equals the preset', async () => {
    const fields = { Age: 9, Gender: 'male', Religion: 'None', Physical_Condition: 'healthy', Mental_Condition: 'healthy' };
    const file = path.join(tmp, 'nine.json');
    await fs.writeFile(file, JSON.stringify(fields));
    const out = path.join(tmp, 'nine.npy');
    const r = embed(['--encoder', ENCODER, '--profile', file, '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    // PSA's own suggestion for a healthy 9-year-old (user 432's labels).
    expect(summary.fields.Banned_Categories).toEqual(['Hate', 'Self-Harm', 'Sexuality', 'Shocking', 'Violence']);
    const preset = path.join(tmp, 'preset.npy');
    expect(embed(['--encoder', ENCODER, '--profile', 'child', '--out', preset]).code).toBe(0);
    // The Child preset also bans Harassment and Propaganda (parent choices), so its text and embedding differ…
    expect(relErr(readNpy(await fs.readFile(out)).data, readNpy(await fs.readFile(preset)).data)).toBeGreaterThan(1e-4);
    // …and the same fields with those lists given explicitly reproduce it exactly.
    const all = ['Harassment', 'Hate', 'Propaganda', 'Self-Harm', 'Sexuality', 'Shocking', 'Violence'];
    await fs.writeFile(file, JSON.stringify({ ...fields, Banned_Categories: all }));
    const r1 = embed(['--encoder', ENCODER, '--profile', file, '--out', out, '--json']);
    expect(JSON.parse(r1.stdout).fields.Banned_Categories).toEqual(all);
    expect(Array.from(readNpy(await fs.readFile(out)).data)).toEqual(Array.from(readNpy(await fs.readFile(preset)).data));
    // Explicit lists change the text and so the embedding.
    await fs.writeFile(file, JSON.stringify({ Age: 9, Gender: 'male', Religion: 'None', Physical_Condition: 'healthy', Mental_Condition: 'healthy', Banned_Categories: ['Violence'] }));
    const r2 = embed(['--encoder', ENCODER, '--profile', file, '--out', out, '--json']);
    expect(JSON.parse(r2.stdout).fields.Allowed_Categories).toEqual(['Hate', 'Harassment', 'Self-Harm', 'Sexuality', 'Shocking', 'Propaganda']);
    expect(relErr(readNpy(await fs.readFile(out)).data, readNpy(await fs.readFile(preset)).data)).toBeGreaterThan(1e-4);
  });
});

interface ExpectedUser {
  user_id: string;
  profile: Record<string, unknown>;
  text: string;
  chat_text: string;
  input_ids: number[];
  tokens: number;
  embedding: number[];
  embedding_batched_like_psa?: number[];
}

describe('parity with PSA\'s get_embeds.py (fixtures/profile-encoder)', () => {
  it('reproduces every reference embedding to 1e-4 relative', async () => {
    expect(existsSync(path.join(FIXTURE, 'expected.json')), 'fixtures/profile-encoder/expected.json').toBe(true);
    const expected = JSON.parse(readFileSync(path.join(FIXTURE, 'expected.json'), 'utf8')) as { users: ExpectedUser[] };
    expect(expected.users.length).toBeGreaterThanOrEqual(3);
    for (const u of expected.users) {
      const p = { ...u.profile } as Record<string, unknown>;
      // users.csv holds the lists as Python list literals; the CLI takes JSON arrays.
      for (const k of ['Banned_Categories', 'Allowed_Categories']) {
        if (typeof p[k] === 'string') p[k] = JSON.parse((p[k] as string).replace(/'/g, '"'));
      }
      const file = path.join(tmp, `user-${u.user_id}.json`);
      await fs.writeFile(file, JSON.stringify(p));
      const out = path.join(tmp, `user-${u.user_id}.npy`);
      const r = embed(['--encoder', FIXTURE, '--profile', file, '--out', out, '--json']);
      expect(r.code, `user ${u.user_id}: ${r.stderr}`).toBe(0);
      expect(JSON.parse(r.stdout).tokens, `user ${u.user_id} tokens`).toBe(u.tokens);
      const got = readNpy(await fs.readFile(out)).data;
      const err = relErr(got, u.embedding);
      expect(err, `user ${u.user_id}: relative error ${err}`).toBeLessThan(1e-4);
      if (u.embedding_batched_like_psa) expect(relErr(got, u.embedding_batched_like_psa), `user ${u.user_id} vs batched`).toBeLessThan(1e-4);
    }
  });
});
