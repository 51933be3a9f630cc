// Profile files: plain and encrypted round trips, the exact message for each kind of bad file, forward
// compatibility (unknown fields left out), and fresh ids for profiles that collide with saved ones. Also: encrypted
// is the default (plain only when asked), a File's size is checked before it is read, and an encrypted file's
// iteration count is bounded before any key is derived.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sampleProfile } from './helpers';
import type { Profile } from '../../src/shared/profile';
import { KDF_ITERATIONS } from '../../src/storage/kdf';
import { FILE_ITERATIONS_RANGE, ImportError, MAX_FILE_BYTES, exportProfiles, importProfiles, readProfileFile, withFreshIds } from '../../src/storage/profile-file';

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
    const text = await exportProfiles(ps, { plain: true });
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
    expect(await importError(JSON.stringify(enc), 'family secret')).toBe(
      'encrypted.iterations must be a whole number from 100000 to 2000000 (this file says 1000000000000); it was not opened',
    );
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

  it('is encrypted unless a plain file is asked for explicitly', async () => {
    const ps = three();
    // No passphrase and no `plain`: refused, not silently written in clear.
    await expect(exportProfiles(ps)).rejects.toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(/passphrase/) });
    await expect(exportProfiles(ps, { plain: false })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    // Both at once is a contradiction: refused rather than guessed.
    await expect(exportProfiles(ps, { plain: true, passphrase: 'family secret' })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    const plain = await exportProfiles(ps, { plain: true });
    expect(JSON.parse(plain)).not.toHaveProperty('encrypted');
    expect(plain).toContain(ps[0].name);
    const enc = await exportProfiles(ps, { passphrase: 'family secret' });
    expect(JSON.parse(enc)).toHaveProperty('encrypted');
    expect(enc).not.toContain(ps[0].name);
  });

  it('a file is measured before it is read: one over 1 MB is refused without calling text()', async () => {
    const text = vi.fn(async () => {
      throw new Error('text() must not be called for a file over the limit');
    });
    const e = await readProfileFile({ size: MAX_FILE_BYTES + 1, text }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ImportError);
    expect((e as ImportError).message).toBe(`file is larger than 1 MB (${MAX_FILE_BYTES + 1} bytes)`);
    expect(text).not.toHaveBeenCalled();
    // At the limit it is read; a read that fails is an ImportError too (never anything else).
    expect(await readProfileFile({ size: MAX_FILE_BYTES, text: async () => 'ok' })).toBe('ok');
    await expect(readProfileFile({ size: 10, text: async () => Promise.reject(new Error('NotReadableError')) })).rejects.toBeInstanceOf(ImportError);
    await expect(readProfileFile({ size: Number.NaN, text })).rejects.toBeInstanceOf(ImportError);
    expect(text).not.toHaveBeenCalled();
    // A real Blob goes through.
    const blob = new Blob([await exportProfiles(three(), { plain: true })]);
    expect(await importProfiles(await readProfileFile(blob))).toHaveLength(3);
  });
});

describe('iterations of an imported encrypted file', () => {
  afterEach(() => vi.restoreAllMocks());
  const [LO, HI] = FILE_ITERATIONS_RANGE;

  /** An encrypted file made here with WebCrypto at a chosen iteration count (the format as the header documents it). */
  async function encryptedWith(iterations: number, passphrase: string, profiles: Profile[]): Promise<string> {
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const base = await crypto.subtle.importKey('raw', new TextEncoder().encode(passphrase), 'PBKDF2', false, ['deriveKey']);
    const key = await crypto.subtle.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, base, { name: 'AES-GCM', length: 256 }, false, ['encrypt']);
    const inner = JSON.stringify({ format: 'psa-web-profiles', version: 1, exportedAt: '2026-11-30T12:00:00.000Z', profiles });
    const ct = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: new TextEncoder().encode('psa-web-profiles/1') }, key, new TextEncoder().encode(inner));
    const b64 = (b: ArrayBuffer | Uint8Array) => Buffer.from(b instanceof Uint8Array ? b : new Uint8Array(b)).toString('base64');
    return JSON.stringify({ format: 'psa-web-profiles', version: 1, encrypted: { kdf: 'PBKDF2-SHA256', iterations, salt: b64(salt), iv: b64(iv), ciphertext: b64(ct) } });
  }

  it('the range holds what this app writes, and is 100 000 … 2 000 000', () => {
    expect([LO, HI]).toEqual([100_000, 2_000_000]);
    expect(KDF_ITERATIONS).toBeGreaterThanOrEqual(LO);
    expect(KDF_ITERATIONS).toBeLessThanOrEqual(HI);
  });

  it('outside the range: refused with IMPORT_INVALID before any key is derived', async () => {
    const file = JSON.parse(await exportProfiles(three(), { passphrase: 'family secret' }));
    const deriveKey = vi.spyOn(crypto.subtle, 'deriveKey');
    const deriveBits = vi.spyOn(crypto.subtle, 'deriveBits');
    for (const n of [LO - 1, HI + 1, 50_000_000, 0, -600_000, 600_000.5, '600000', null]) {
      file.encrypted.iterations = n;
      expect(await importError(JSON.stringify(file), 'family secret')).toMatch(/^encrypted\.iterations must be a whole number from 100000 to 2000000 \(this file says .+\); it was not opened$/);
    }
    expect(deriveKey).not.toHaveBeenCalled();
    expect(deriveBits).not.toHaveBeenCalled();
  });

  it('inside the range: the floor imports for real; the ceiling reaches the key derivation', async () => {
    const ps = three();
    expect(await importProfiles(await encryptedWith(LO, 'family secret', ps), { passphrase: 'family secret' })).toEqual(ps);
    // The ceiling (2 000 000 rounds) is accepted by the check and handed to PBKDF2; the derivation itself is stood in
    // for (it would cost seconds of a shared CPU) by one that records the count and fails like a wrong passphrase.
    const file = JSON.parse(await exportProfiles(ps, { passphrase: 'family secret' }));
    file.encrypted.iterations = HI;
    const deriveKey = vi.spyOn(crypto.subtle, 'deriveKey').mockRejectedValue(new DOMException('stand-in', 'OperationError'));
    expect(await importError(JSON.stringify(file), 'family secret')).toBe('wrong passphrase or damaged file');
    expect(deriveKey).toHaveBeenCalledTimes(1);
    expect((deriveKey.mock.calls[0][0] as Pbkdf2Params).iterations).toBe(HI);
  });
});

describe('fresh ids', () => {
  it('withFreshIds gives new ids only to profiles whose ids are taken (or repeated)', () => {
    const [a, b, c] = three();
    let n = 0;
    const out = withFreshIds([a, b, { ...c, id: b.id }], [a.id], () => `new-${++n}`);
    expect(out.map((p) => p.id)).toEqual(['new-1', b.id, 'new-2']);
    expect(out[1]).toBe(b);
    expect({ ...out[0], id: a.id }).toEqual(a);
  });
});
