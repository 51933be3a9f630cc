// Fuzzing the profile-file import with mutated files (seeded, reproducible): byte flips, truncations, field
// deletions, type swaps, huge numbers, prototype-pollution keys, deep nesting, oversize and non-JSON texts, plus
// damaged encrypted files. Every file either imports whole (every profile in it, each valid by a check written
// here independently) or is refused with ImportError and nothing else; the database is unchanged after each
// refusal; Object.prototype is never touched.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { dumpDatabase, freshDatabase, sampleProfile } from './helpers';
import { CATEGORIES, GENDERS, MENTAL_CONDITIONS, OTHER, PHYSICAL_CONDITIONS, PROFILE_PRESETS, RELIGIONS, type Profile } from '../../src/shared/profile';
import { ImportError, exportProfiles, importProfiles, withFreshIds } from '../../src/storage/profile-file';
import { deleteProfile, listProfiles, saveProfiles, setActiveProfileId } from '../../src/storage/profiles';

const SEED = 20261130;
const PLAIN_CASES = 1200;
const PASSPHRASE = 'fuzzing passphrase';

/** mulberry32: a small seeded PRNG, so a failure can be replayed. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: <T>(xs: readonly T[]): T => xs[int(xs.length)] };
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Path = (string | number)[];

function paths(v: Json, at: Path = [], out: Path[] = []): Path[] {
  if (at.length) out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v && typeof v === 'object') for (const k of Object.keys(v)) paths(v[k], [...at, k], out);
  return out;
}

function parentOf(root: Json, path: Path): { parent: Record<string | number, Json>; key: string | number } {
  let cur = root as Record<string | number, Json>;
  for (const k of path.slice(0, -1)) cur = cur[k] as Record<string | number, Json>;
  return { parent: cur, key: path[path.length - 1] };
}

const OTHER_VALUES: Json[] = [null, true, false, 0, -1, 1.5, 101, '', 'x', 'ban', 'other', [], {}, [1, 'a'], { a: 1 }, 'Violence', 1e21];
const HUGE: string[] = ['1e308', '-1e308', '1e999', '-1e999', '9007199254740993', '1e-400', '-0', '123456789012345678901234567890'];
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype'];

/** One mutated plain file (text) and a label for the statistics. */
function mutatePlain(r: ReturnType<typeof rng>, base: Json, baseText: string): { kind: string; text: string } {
  const kind = r.pick(['flip', 'truncate', 'delete', 'swap', 'huge', 'proto', 'nest', 'nonjson', 'splice', 'header', 'multi', 'limits', 'oversize'] as const);
  const obj = (): Json => JSON.parse(baseText) as Json;
  const randomPath = (o: Json) => r.pick(paths(o));
  switch (kind) {
    case 'flip': {
      const chars = [...baseText];
      for (let n = 1 + r.int(4); n > 0; n--) chars[r.int(chars.length)] = String.fromCharCode(r.pick([r.int(128), r.int(256), r.int(0xffff)]));
      return { kind, text: chars.join('') };
    }
    case 'truncate':
      return { kind, text: baseText.slice(0, r.int(baseText.length)) };
    case 'delete': {
      const o = obj();
      const { parent, key } = parentOf(o, randomPath(o));
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
      return { kind, text: JSON.stringify(o) };
    }
    case 'swap': {
      const o = obj();
      const { parent, key } = parentOf(o, randomPath(o));
      parent[key] = r.pick(OTHER_VALUES);
      return { kind, text: JSON.stringify(o) };
    }
    case 'huge': {
      // Written as text, so values JSON.stringify could not produce (1e999 → Infinity, -0, beyond 2^53) get in.
      const o = obj();
      const { parent, key } = parentOf(o, randomPath(o));
      const marker = `__HUGE_${r.int(1e9)}__`;
      parent[key] = marker;
      return { kind, text: JSON.stringify(o).replace(`"${marker}"`, r.pick(HUGE)) };
    }
    case 'proto': {
      // Own "__proto__" / "constructor" keys, as JSON.parse creates them, at a random object (or renaming a field).
      const objects = paths(base).filter((p) => {
        const v = p.reduce<Json>((c, k) => (c as Record<string | number, Json>)[k], base);
        return v !== null && typeof v === 'object' && !Array.isArray(v);
      });
      const key = r.pick(PROTO_KEYS);
      const payload = r.pick(['{"polluted":true}', '{"toString":1,"isAdmin":true}', 'null', '"x"', '[{"polluted":1}]']);
      if (r.next() < 0.3) {
        const field = r.pick(['"name":', '"choices":', '"age":', '"profiles":', '"Violence":']);
        return { kind, text: baseText.replace(field, `"${key}":`) };
      }
      const o = obj();
      const target = objects.length && r.next() < 0.8 ? (r.pick(objects).reduce<Json>((c, k) => (c as Record<string | number, Json>)[k], o) as Record<string, Json>) : (o as Record<string, Json>);
      const marker = `__PROTO_${r.int(1e9)}__`;
      target[marker] = 0;
      return { kind, text: JSON.stringify(o).replace(`"${marker}":0`, `"${key}":${payload}`) };
    }
    case 'nest': {
      const depth = r.pick([50, 1000, 20_000, 120_000]);
      const nested = r.next() < 0.5 ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
      if (r.next() < 0.2) return { kind, text: nested };
      const o = obj();
      const { parent, key } = parentOf(o, randomPath(o));
      const marker = `__NEST_${r.int(1e9)}__`;
      parent[key] = marker;
      return { kind, text: JSON.stringify(o).replace(`"${marker}"`, nested) };
    }
    case 'nonjson': {
      const junk = Array.from({ length: r.int(200) }, () => String.fromCharCode(r.int(0xffff))).join('');
      return {
        kind,
        text: r.pick(['', ' ', 'null', 'true', '0', '"psa-web-profiles"', '[]', '{}', '<profiles/>', 'undefined', `\uFEFF${baseText}`, `${baseText}}`, `${baseText}\u0000`, junk, baseText.replace(/"/g, "'"), '\uD800\uDC00\uD800', 'NaN']),
      };
    }
    case 'splice': {
      const a = r.int(baseText.length);
      const b = a + r.int(40);
      return { kind, text: r.next() < 0.5 ? baseText.slice(0, a) + baseText.slice(b) : baseText.slice(0, b) + baseText.slice(a, b) + baseText.slice(b) };
    }
    case 'header': {
      const o = obj() as Record<string, Json>;
      const field = r.pick(['format', 'version', 'exportedAt', 'profiles']);
      o[field] = r.pick([...OTHER_VALUES, 0, 2, 3, 999, -1, 'psa-web-profile', 'PSA-WEB-PROFILES']);
      return { kind, text: JSON.stringify(o) };
    }
    case 'multi': {
      // Two structural mutations on top of each other.
      const o = obj();
      for (let n = 0; n < 2; n++) {
        const ps = paths(o);
        if (!ps.length) break;
        const { parent, key } = parentOf(o, r.pick(ps));
        if (r.next() < 0.5) parent[key] = r.pick(OTHER_VALUES);
        else if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete parent[key];
      }
      return { kind, text: JSON.stringify(o) };
    }
    case 'limits': {
      const o = obj() as { profiles: Record<string, Json>[] };
      const p = o.profiles[r.int(o.profiles.length)];
      const which = r.int(6);
      if (which === 0) p.name = 'n'.repeat(201);
      else if (which === 1) p.customWords = Array.from({ length: 501 }, (_, i) => `w${i}`);
      else if (which === 2) o.profiles = Array.from({ length: 1001 }, (_, i) => ({ ...o.profiles[0], id: `x${i}` }));
      else if (which === 3) o.profiles.push({ ...p }); // a repeated id
      else if (which === 4) p.id = '   ';
      else p.actions = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`C${i}`, 'block']));
      return { kind, text: JSON.stringify(o) };
    }
    case 'oversize':
      return { kind, text: baseText.replace('{', '{' + ' '.repeat(1024 * 1024 + r.int(1000))) };
  }
}

/** A profile as the contract allows it, checked here without the code under test. */
function problemWith(p: unknown): string | undefined {
  if (!p || typeof p !== 'object' || Object.getPrototypeOf(p) !== Object.prototype) return 'not a plain object';
  const o = p as Record<string, unknown>;
  const allowed = ['id', 'name', 'age', 'gender', 'religion', 'physical', 'mental', 'choices', 'actions', 'customWords', 'explanationStyle', 'protected', 'preset', 'logPrompts', 'createdAt', 'updatedAt'];
  for (const k of Reflect.ownKeys(o)) if (typeof k !== 'string' || !allowed.includes(k)) return `unexpected key ${String(k)}`;
  const nonEmpty = (v: unknown, max: number) => typeof v === 'string' && v.trim().length > 0 && [...v].length <= max;
  if (!nonEmpty(o.id, 200) || !nonEmpty(o.name, 200)) return 'id/name';
  if (!Number.isInteger(o.age) || (o.age as number) < 0 || (o.age as number) > 100) return 'age';
  if (![...GENDERS, OTHER].includes(o.gender as never)) return 'gender';
  if (![...RELIGIONS, OTHER].includes(o.religion as never)) return 'religion';
  if (![...PHYSICAL_CONDITIONS, OTHER].includes(o.physical as never)) return 'physical';
  if (![...MENTAL_CONDITIONS, OTHER].includes(o.mental as never)) return 'mental';
  const plain = (v: unknown) => !!v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;
  if (!plain(o.choices) || Reflect.ownKeys(o.choices as object).some((k) => !CATEGORIES.includes(k as never) || !['ban', 'allow'].includes((o.choices as Record<string, unknown>)[k as string] as string))) return 'choices';
  if (o.actions !== undefined && (!plain(o.actions) || Object.entries(o.actions as object).some(([k, v]) => PROTO_KEYS.includes(k) || !['block', 'steer'].includes(v)))) return 'actions';
  if (!Array.isArray(o.customWords) || o.customWords.length > 500 || !o.customWords.every((w) => nonEmpty(w, 200))) return 'customWords';
  if (!['child', 'adult'].includes(o.explanationStyle as string)) return 'explanationStyle';
  if (typeof o.protected !== 'boolean' || (o.logPrompts !== undefined && typeof o.logPrompts !== 'boolean')) return 'booleans';
  if (o.preset !== undefined && !PROFILE_PRESETS.includes(o.preset as never)) return 'preset';
  for (const t of [o.createdAt, o.updatedAt]) if (!Number.isSafeInteger(t) || (t as number) < 0) return 'timestamps';
  return undefined;
}

describe('import fuzz', () => {
  const base: Profile[] = [
    sampleProfile({ name: 'Mia', age: 9 }),
    sampleProfile({ name: 'Leo', age: 15, gender: 'male', religion: 'Buddhism', mental: 'war', choices: { Sexuality: 'ban', Hate: 'allow' }, customWords: ['gun', 'blood'], actions: { Violence: 'steer' }, preset: 'teen' }),
    sampleProfile({ name: 'Ana', age: 40, gender: 'other', religion: 'Christianity', physical: 'visual impairment', explanationStyle: 'adult', protected: false, logPrompts: true, preset: undefined }),
  ];
  const protoNamesBefore = Object.getOwnPropertyNames(Object.prototype).sort();
  let saved: Profile[];

  beforeAll(async () => {
    await freshDatabase();
    saved = await saveProfiles(base.map((p) => ({ ...p, id: `saved-${p.id}` })));
    await setActiveProfileId(saved[0].id);
  });
  afterAll(() => {
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(protoNamesBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it(`${PLAIN_CASES} mutated plain files: each imports whole or is refused with ImportError, the database untouched`, async () => {
    const r = rng(SEED);
    const baseText = await exportProfiles(base, { plain: true });
    const baseJson = JSON.parse(baseText) as Json;
    const baseline = await dumpDatabase();
    const stats = new Map<string, { accepted: number; refused: number }>();
    const messages = new Set<string>();
    const started = performance.now();
    for (let i = 0; i < PLAIN_CASES; i++) {
      const { kind, text } = mutatePlain(r, baseJson, baseText);
      const s = stats.get(kind) ?? { accepted: 0, refused: 0 };
      stats.set(kind, s);
      let got: Profile[];
      try {
        got = await importProfiles(text);
      } catch (e) {
        if (!(e instanceof ImportError)) throw new Error(`case ${i} (${kind}) threw ${String(e)} — not an ImportError`);
        expect(e.message.length).toBeGreaterThan(0);
        messages.add(e.message.replace(/\d+/g, 'N').slice(0, 60));
        s.refused++;
        expect(await dumpDatabase(), `case ${i} (${kind})`).toEqual(baseline);
        continue;
      }
      s.accepted++;
      // Accepted: all of the file's profiles, each valid; then the caller's save stores exactly them.
      const inFile = (JSON.parse(text) as { profiles: unknown[] }).profiles;
      expect(got.length, `case ${i} (${kind})`).toBe(inFile.length);
      for (const p of got) expect(problemWith(p), `case ${i} (${kind}): ${JSON.stringify(p).slice(0, 200)}`).toBeUndefined();
      const fresh = withFreshIds(got, (await listProfiles()).map((p) => p.id));
      await saveProfiles(fresh);
      expect((await listProfiles()).length).toBe(saved.length + got.length);
      for (const p of fresh) await deleteProfile(p.id);
      expect(await dumpDatabase()).toEqual(baseline);
    }
    const ms = performance.now() - started;
    const refused = [...stats.values()].reduce((n, s) => n + s.refused, 0);
    console.info(`import fuzz: ${PLAIN_CASES} plain files in ${(ms / 1000).toFixed(1)} s; refused ${refused}, accepted ${PLAIN_CASES - refused}; ${messages.size} distinct messages`);
    console.info([...stats].map(([k, s]) => `${k} ${s.refused}/${s.accepted}`).join(', '));
    // The fuzzer exercises both outcomes and many different refusals (else it would prove little).
    expect(refused).toBeGreaterThan(PLAIN_CASES / 2);
    expect(PLAIN_CASES - refused).toBeGreaterThan(20);
    expect(messages.size).toBeGreaterThan(40);
  });

  it('damaged encrypted files: refused with ImportError, database untouched (few key derivations)', async () => {
    const r = rng(SEED + 1);
    const text = await exportProfiles(base, { passphrase: PASSPHRASE });
    const file = JSON.parse(text) as { encrypted: Record<string, Json> };
    const baseline = await dumpDatabase();
    const derive = vi.spyOn(crypto.subtle, 'deriveKey');
    const b64flip = (b64: string) => {
      const bytes = Buffer.from(b64, 'base64');
      bytes[r.int(bytes.length)] ^= 1 << r.int(8);
      return bytes.toString('base64');
    };
    const cases: { kind: string; text: string; passphrase?: string }[] = [];
    const withEnc = (patch: Record<string, Json | undefined>) => JSON.stringify({ ...file, encrypted: { ...file.encrypted, ...patch } });
    // Valid envelopes whose content is damaged: each needs the real key derivation (kept few).
    for (let i = 0; i < 8; i++) cases.push({ kind: 'ciphertext bit flip', text: withEnc({ ciphertext: b64flip(file.encrypted.ciphertext as string) }) });
    cases.push({ kind: 'ciphertext truncated', text: withEnc({ ciphertext: Buffer.from(file.encrypted.ciphertext as string, 'base64').subarray(0, 40).toString('base64') }) });
    cases.push({ kind: 'iv bit flip', text: withEnc({ iv: b64flip(file.encrypted.iv as string) }) });
    cases.push({ kind: 'salt bit flip', text: withEnc({ salt: b64flip(file.encrypted.salt as string) }) });
    cases.push({ kind: 'other iteration count', text: withEnc({ iterations: 600_001 }) });
    cases.push({ kind: 'wrong passphrase', text, passphrase: 'fuzzing passphrasE' });
    const expensive = cases.length;
    // Broken envelopes: refused before any key derivation.
    const fields = ['kdf', 'iterations', 'salt', 'iv', 'ciphertext'];
    for (let i = 0; i < 120; i++) {
      const kind = r.pick(['field swap', 'field delete', 'bad base64', 'truncate', 'envelope', 'no passphrase'] as const);
      if (kind === 'field swap') cases.push({ kind, text: withEnc({ [r.pick(fields)]: r.pick([...OTHER_VALUES, 1e12, 99_999, 2_000_001, 'PBKDF2', 'AES']) }) });
      else if (kind === 'field delete') cases.push({ kind, text: withEnc({ [r.pick(fields)]: undefined }) });
      else if (kind === 'bad base64') {
        const f = r.pick(['salt', 'iv', 'ciphertext']);
        const v = file.encrypted[f] as string;
        const bad = r.pick([v.slice(1), `${v}=`, v.replace(/[A-Za-z]/, '-'), ` ${v}`, v.slice(0, -1), '', '====', Buffer.from(v, 'base64').toString('base64url')]);
        cases.push({ kind, text: withEnc({ [f]: bad === v ? `${v}!` : bad }) });
      } else if (kind === 'truncate') cases.push({ kind, text: text.slice(0, r.int(text.length)) });
      else if (kind === 'envelope') cases.push({ kind, text: JSON.stringify({ ...file, encrypted: r.pick(OTHER_VALUES), ...(r.next() < 0.3 ? { profiles: [] } : {}) }) });
      else cases.push({ kind, text, passphrase: r.pick([undefined, '']) });
    }
    for (const [i, c] of cases.entries()) {
      const e = await importProfiles(c.text, { passphrase: 'passphrase' in c ? c.passphrase : PASSPHRASE }).then(
        () => new Error(`case ${i} (${c.kind}) was accepted`),
        (x: unknown) => x,
      );
      expect(e, `case ${i} (${c.kind}): ${String(e)}`).toBeInstanceOf(ImportError);
      if (i < expensive) expect((e as ImportError).message).toBe('wrong passphrase or damaged file');
      expect(await dumpDatabase()).toEqual(baseline);
    }
    console.info(`import fuzz: ${cases.length} damaged encrypted files, ${derive.mock.calls.length} key derivations`);
    expect(derive.mock.calls.length).toBe(expensive);
    derive.mockRestore();
    // And the undamaged file still imports.
    expect(await importProfiles(text, { passphrase: PASSPHRASE })).toEqual(JSON.parse(JSON.stringify(base)));
  });
});
