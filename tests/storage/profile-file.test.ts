// Profile files: plain and encrypted round trips, the exact message for each kind of bad file, forward
// compatibility (unknown fields left out), and fresh ids for profiles that collide with saved ones.
import { describe, expect, it } from 'vitest';
import { sampleProfile } from './helpers';
import type { Profile } from '../../src/shared/profile';
import { ImportError, exportProfiles, importProfiles, withFreshIds } from '../../src/storage/profile-file';

async function importError(text: string, passphrase?: string): Promise<string> {
  const e = await importProfiles(text, { passphrase }).then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(ImportError);
  expect((e as ImportError).code).toBe('IMPORT_INVALID');
  return (e as ImportError).message;
}

const three = (): Profile[] => [sampleProfile(), sampleProfile({ age: 15, protected: false, preset: 'teen' }), sampleProfile({ age: 40, actions: { Weapons: 'steer' }, logPrompts: true })];
const plainFile = (over: Record<string, unknown> = {}) => JSON.stringify({ format: 'psa-web-profiles', version: 1, exportedAt: '2026-11-30T12:00:00.000Z', profiles: three(), ...over });

describe('profile file', () => {
  it('round-trips a plain file', async () => {
    const ps = three();
    const text = await exportProfiles(ps);
    const parsed = JSON.parse(text);
    expect(parsed).toMatchObject({ format: 'psa-web-profiles', version: 1, profiles: ps });
    expect(Date.parse(parsed.exportedAt)).not.toBeNaN();
    expect(await importProfiles(text)).toEqual(ps.map((p) => JSON.parse(JSON.stringify(p))));
  });

  it('round-trips an encrypted file; the text holds no profile data; a wrong passphrase is refused', async () => {
    const ps = three();
    const text = await exportProfiles(ps, { passphrase: 'family secret' });
    const file = JSON.parse(text);
    expect(Object.keys(file).sort()).toEqual(['encrypted', 'format', 'version']);
    expect(file.encrypted.kdf).toBe('PBKDF2-SHA256');
    expect(file.encrypted.iterations).toBeGreaterThanOrEqual(600_000);
    expect(Buffer.from(file.encrypted.salt, 'base64')).toHaveLength(16);
    expect(Buffer.from(file.encrypted.iv, 'base64')).toHaveLength(12);
    for (const p of ps) expect(text).not.toContain(p.name);
    expect(await importProfiles(text, { passphrase: 'family secret' })).toEqual(ps);
    expect(await importError(text, 'family secreT')).toBe('wrong passphrase or damaged file');
    expect(await importError(text)).toBe('this file is encrypted: enter its passphrase');
    await expect(exportProfiles(ps, { passphrase: 'short' })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('names the exact problem', async () => {
    const ps = three();
    ps[2] = { ...ps[2], age: 7.5 };
    expect(await importError(plainFile({ profiles: ps }))).toBe('profiles[2].age must be a whole number from 0 to 100');
    expect(await importError('{"format":"psa-web-profiles",')).toBe('the file is not a psa-web profile file (it is not valid JSON)');
    expect(await importError('[1,2]')).toBe('not a psa-web profile file (its "format" is not "psa-web-profiles")');
    expect(await importError(JSON.stringify({ format: 'other-app', version: 1, profiles: [] }))).toBe('not a psa-web profile file (its "format" is not "psa-web-profiles")');
    expect(await importError(plainFile({ version: 3 }))).toBe('made by a newer version (3) of the file format than this app reads (1); update the app');
    expect(await importError(plainFile({ version: '1' }))).toBe('version must be a whole number ≥ 1');
    expect(await importError(plainFile({ profiles: {} }))).toBe('profiles must be a list');
    expect(await importError(plainFile({ exportedAt: 'yesterday' }))).toBe('exportedAt must be a date (ISO 8601 text)');
    expect(await importError(plainFile({ junk: 'x'.repeat(1024 * 1024) }))).toMatch(/^file is larger than 1 MB \(\d+ bytes\)$/);
    const dup = three();
    dup[1].id = dup[0].id;
    expect(await importError(plainFile({ profiles: dup }))).toBe('profiles[1].id repeats profiles[0].id');
    const many = three().map((p) => ({ ...p, gender: 'x', mental: 'y' }));
    expect(await importError(plainFile({ profiles: many }))).toBe(
      'profiles[0].gender must be one of: male, female, other; profiles[0].mental must be one of: healthy, depression, anxiety, war, sexual assault, major accidents, natural disasters, other; ' +
        'profiles[1].gender must be one of: male, female, other; profiles[1].mental must be one of: healthy, depression, anxiety, war, sexual assault, major accidents, natural disasters, other; ' +
        'profiles[2].gender must be one of: male, female, other; and 1 more',
    );
    const enc = JSON.parse(await exportProfiles(three(), { passphrase: 'family secret' }));
    enc.encrypted.iterations = 1e12;
    expect(await importError(JSON.stringify(enc), 'family secret')).toBe('encrypted.iterations must be a whole number from 600000 to 10000000');
    enc.encrypted.iterations = 600_000;
    enc.encrypted.iv = 'not base64!';
    expect(await importError(JSON.stringify(enc), 'family secret')).toBe('encrypted.iv must be base64 of 12 bytes');
  });

  it('leaves out fields it does not know (a newer app\'s file) and never copies __proto__', async () => {
    const text = plainFile().replace('"name":', '"futureField":{"x":1},"__proto__":{"polluted":true},"name":');
    const got = await importProfiles(text);
    expect(got).toHaveLength(3);
    expect(Object.keys(got[0])).not.toContain('futureField');
    expect(Object.getPrototypeOf(got[0])).toBe(Object.prototype);
    expect((got[0] as unknown as { polluted?: boolean }).polluted).toBeUndefined();
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('withFreshIds gives new ids only to profiles whose ids are taken (or repeated)', () => {
    const [a, b, c] = three();
    let n = 0;
    const out = withFreshIds([a, b, { ...c, id: b.id }], [a.id], () => `new-${++n}`);
    expect(out.map((p) => p.id)).toEqual(['new-1', b.id, 'new-2']);
    expect(out[1]).toBe(b);
    expect({ ...out[0], id: a.id }).toEqual(a);
  });
});
