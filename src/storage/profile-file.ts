// The profile file: export to, and import from, a versioned JSON text, encrypted with a passphrase (AES-GCM-256, key
// by PBKDF2-SHA256) unless the caller explicitly asks for a plain one: a profile holds a child's age, gender,
// religion, health and blocked words, so a file that anyone can read must be a deliberate choice, never a default.
// Import checks everything before returning and throws only ImportError, whose message names the exact problem;
// it never returns part of a file. A File is measured before it is read (`readProfileFile`), and an encrypted
// file's iteration count is bounded before any key is derived: a hostile file cannot make the page read 2 GB or
// spin PBKDF2 for minutes. Storing the result is the caller's job
// (profiles.ts saveProfiles, all-or-nothing); imported ids may collide with saved ones: the caller decides, e.g.
// `withFreshIds` gives colliding profiles new ids.
//
// Plain:     { "format": "psa-web-profiles", "version": 1, "exportedAt": ISO-8601, "profiles": [Profile…] }
// Encrypted: { "format": "psa-web-profiles", "version": 1,
//              "encrypted": { "kdf": "PBKDF2-SHA256", "iterations", "salt", "iv", "ciphertext" } }   (base64 fields)
// The ciphertext is the plain file's JSON (UTF-8), with "psa-web-profiles/1" as additional authenticated data.

import { AppError } from '../shared/errors';
import type { Profile } from '../shared/profile';
import { KDF_ITERATIONS, SALT_BYTES, aesKeyFromPassphrase, fromBase64, randomBytes, toBase64 } from './kdf';
import { checkProfile } from './profile-check';

export const PROFILE_FILE_FORMAT = 'psa-web-profiles';
export const PROFILE_FILE_VERSION = 1;
/** Files above this size are refused before parsing (a real file of 100 profiles is ~50 KB). */
export const MAX_FILE_BYTES = 1024 * 1024;
export const MAX_FILE_PROFILES = 1000;
export const MIN_FILE_PASSPHRASE_CHARS = 8;
/**
 * Accepted iteration counts on import, fixed here rather than tied to KDF_ITERATIONS (600 000 today): raising what
 * we write must not refuse files written before. The floor refuses files too weak to be ours; the ceiling keeps
 * the derivation to a few seconds on a phone (2 000 000 ≈ 3× ours) so a file cannot freeze the page.
 */
export const FILE_ITERATIONS_RANGE = [100_000, 2_000_000] as const;
const IV_BYTES = 12;
const GCM_TAG_BYTES = 16;
const AAD = new TextEncoder().encode(`${PROFILE_FILE_FORMAT}/${PROFILE_FILE_VERSION}`);
/** How many problems one ImportError lists before "and N more". */
const SHOWN_PROBLEMS = 5;

/** A refused profile file (code IMPORT_INVALID); the message says exactly what is wrong. */
export class ImportError extends AppError {
  constructor(message: string) {
    super('IMPORT_INVALID', message);
    this.name = 'ImportError';
  }
}

interface PlainFile {
  format: typeof PROFILE_FILE_FORMAT;
  version: number;
  exportedAt: string;
  profiles: Profile[];
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const own = (o: Record<string, unknown>, k: string): unknown => (Object.hasOwn(o, k) ? o[k] : undefined);

/** How a file is written: encrypted with `passphrase`, or plain only when `plain` is true (never both, never neither). */
export interface ExportOptions {
  passphrase?: string;
  plain?: boolean;
}

/**
 * The profiles as file text (pretty JSON), encrypted with `passphrase` (≥ 8 characters). A plain file needs
 * `plain: true`; no passphrase without it is refused (INVALID_REQUEST), so forgetting one never writes the profiles
 * in clear. Each profile is checked first (PROFILE_INVALID) so a file we write always imports.
 */
export async function exportProfiles(profiles: Profile[], opts: ExportOptions = {}): Promise<string> {
  if (opts.plain === true && opts.passphrase !== undefined) throw new AppError('INVALID_REQUEST', 'choose a passphrase or a plain file, not both');
  if (opts.plain !== true && opts.passphrase === undefined) {
    throw new AppError('INVALID_REQUEST', 'a profile file is encrypted: give a passphrase, or ask for a plain file explicitly');
  }
  const clean = profiles.map((p, i) => {
    const { profile, problems } = checkProfile(p, `profiles[${i}]`);
    if (!profile) throw new AppError('PROFILE_INVALID', problems.join('; '));
    return profile;
  });
  const plain: PlainFile = { format: PROFILE_FILE_FORMAT, version: PROFILE_FILE_VERSION, exportedAt: new Date().toISOString(), profiles: clean };
  if (opts.passphrase === undefined) return JSON.stringify(plain, null, 2);
  if ([...opts.passphrase.normalize('NFC')].length < MIN_FILE_PASSPHRASE_CHARS || opts.passphrase.trim() === '') {
    throw new AppError('INVALID_REQUEST', `a file passphrase needs at least ${MIN_FILE_PASSPHRASE_CHARS} characters`);
  }
  const salt = randomBytes(SALT_BYTES);
  const iv = randomBytes(IV_BYTES);
  const key = await aesKeyFromPassphrase(opts.passphrase, salt, KDF_ITERATIONS);
  const ciphertext = new Uint8Array(
    await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: AAD }, key, new TextEncoder().encode(JSON.stringify(plain))),
  );
  return JSON.stringify(
    {
      format: PROFILE_FILE_FORMAT,
      version: PROFILE_FILE_VERSION,
      encrypted: { kdf: 'PBKDF2-SHA256', iterations: KDF_ITERATIONS, salt: toBase64(salt), iv: toBase64(iv), ciphertext: toBase64(ciphertext) },
    },
    null,
    2,
  );
}

/**
 * The UTF-8 size of a text when it could exceed MAX_FILE_BYTES; a text too short to reach the limit even at 3 bytes
 * per UTF-16 unit is not encoded (its length is returned, which is only compared against the limit).
 */
function utf8Bytes(text: string): number {
  if (text.length * 3 <= MAX_FILE_BYTES) return text.length;
  return new TextEncoder().encode(text).length;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ImportError(`${what} is not a psa-web profile file (it is not valid JSON)`);
  }
}

/** Checks the "format" / "version" header shared by plain and encrypted files. */
function checkHeader(file: unknown): Record<string, unknown> {
  if (!isPlainObject(file) || own(file, 'format') !== PROFILE_FILE_FORMAT) {
    throw new ImportError(`not a psa-web profile file (its "format" is not "${PROFILE_FILE_FORMAT}")`);
  }
  const version = own(file, 'version');
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) throw new ImportError('version must be a whole number ≥ 1');
  if (version > PROFILE_FILE_VERSION) throw new ImportError(`made by a newer version (${version}) of the file format than this app reads (${PROFILE_FILE_VERSION}); update the app`);
  return file;
}

function bytesField(enc: Record<string, unknown>, name: string, check: (n: number) => boolean, want: string): Uint8Array<ArrayBuffer> {
  const v = own(enc, name);
  const bytes = typeof v === 'string' ? fromBase64(v) : undefined;
  if (!bytes || !check(bytes.length)) throw new ImportError(`encrypted.${name} must be base64 of ${want}`);
  return bytes;
}

async function decrypt(file: Record<string, unknown>, passphrase: string | undefined): Promise<unknown> {
  const enc = own(file, 'encrypted');
  if (!isPlainObject(enc)) throw new ImportError('encrypted must be an object');
  if (own(file, 'profiles') !== undefined) throw new ImportError('an encrypted file must not also hold plain profiles');
  if (own(enc, 'kdf') !== 'PBKDF2-SHA256') throw new ImportError('encrypted.kdf must be "PBKDF2-SHA256"');
  const iterations = own(enc, 'iterations');
  const [lo, hi] = FILE_ITERATIONS_RANGE;
  if (typeof iterations !== 'number' || !Number.isSafeInteger(iterations) || iterations < lo || iterations > hi) {
    const got = JSON.stringify(iterations) ?? String(iterations);
    throw new ImportError(`encrypted.iterations must be a whole number from ${lo} to ${hi} (this file says ${got.slice(0, 40)}); it was not opened`);
  }
  const salt = bytesField(enc, 'salt', (n) => n === SALT_BYTES, `${SALT_BYTES} bytes`);
  const iv = bytesField(enc, 'iv', (n) => n === IV_BYTES, `${IV_BYTES} bytes`);
  const ciphertext = bytesField(enc, 'ciphertext', (n) => n > GCM_TAG_BYTES, `more than ${GCM_TAG_BYTES} bytes`);
  if (passphrase === undefined || passphrase === '') throw new ImportError('this file is encrypted: enter its passphrase');
  let plain: ArrayBuffer;
  try {
    const key = await aesKeyFromPassphrase(passphrase, salt, iterations);
    plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: AAD }, key, ciphertext);
  } catch {
    throw new ImportError('wrong passphrase or damaged file');
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(plain);
  } catch {
    throw new ImportError('damaged file: the decrypted content is not text');
  }
  return parseJson(text, 'the decrypted content');
}

function checkProfiles(file: Record<string, unknown>): Profile[] {
  const exportedAt = own(file, 'exportedAt');
  if (exportedAt !== undefined && (typeof exportedAt !== 'string' || Number.isNaN(Date.parse(exportedAt)))) {
    throw new ImportError('exportedAt must be a date (ISO 8601 text)');
  }
  const list = own(file, 'profiles');
  if (!Array.isArray(list)) throw new ImportError('profiles must be a list');
  if (list.length > MAX_FILE_PROFILES) throw new ImportError(`profiles has ${list.length} entries (at most ${MAX_FILE_PROFILES})`);
  const problems: string[] = [];
  const out: Profile[] = [];
  const firstIndexOfId = new Map<string, number>();
  list.forEach((p, i) => {
    const checked = checkProfile(p, `profiles[${i}]`, 'drop');
    problems.push(...checked.problems);
    if (!checked.profile) return;
    const seen = firstIndexOfId.get(checked.profile.id);
    if (seen !== undefined) problems.push(`profiles[${i}].id repeats profiles[${seen}].id`);
    else firstIndexOfId.set(checked.profile.id, i);
    out.push(checked.profile);
  });
  if (problems.length) {
    const more = problems.length > SHOWN_PROBLEMS ? `; and ${problems.length - SHOWN_PROBLEMS} more` : '';
    throw new ImportError(problems.slice(0, SHOWN_PROBLEMS).join('; ') + more);
  }
  return out;
}

/**
 * Reads a profile file (plain, or encrypted with `passphrase`) and returns all its profiles, checked and copied
 * field by field (fields this version does not know are left out), or throws ImportError — never anything else,
 * never part of the list. Ids are kept as in the file: see `withFreshIds` before saving.
 */
export async function importProfiles(text: string, opts: { passphrase?: string } = {}): Promise<Profile[]> {
  try {
    if (typeof text !== 'string') throw new ImportError('not a psa-web profile file (expected text)');
    const size = utf8Bytes(text);
    if (size > MAX_FILE_BYTES) throw new ImportError(`file is larger than 1 MB (${size} bytes)`);
    let file = checkHeader(parseJson(text, 'the file'));
    if (own(file, 'encrypted') !== undefined) {
      const inner = checkHeader(await decrypt(file, opts.passphrase));
      if (own(inner, 'encrypted') !== undefined) throw new ImportError('damaged file: encrypted twice');
      file = inner;
    }
    return checkProfiles(file);
  } catch (e) {
    if (e instanceof ImportError) throw e;
    // Anything else is a bug here, but the promise to callers holds: a refused file, the app keeps running.
    throw new ImportError(`the file could not be read (${e instanceof Error ? e.message : String(e)})`);
  }
}

/** What `readProfileFile` needs of a File (a Blob has both; tests pass stand-ins). */
export interface FileLike {
  readonly size: number;
  text(): Promise<string>;
}

/**
 * The text of a chosen file, refused (ImportError) by its size before a byte is read: `File.text()` of a 2 GB file
 * would load it whole into the page first. The text is checked again by `importProfiles`.
 */
export async function readProfileFile(file: FileLike): Promise<string> {
  const size = file?.size;
  if (typeof size !== 'number' || !Number.isFinite(size) || size < 0) throw new ImportError('not a file (it has no size)');
  if (size > MAX_FILE_BYTES) throw new ImportError(`file is larger than 1 MB (${size} bytes)`);
  try {
    return await file.text();
  } catch (e) {
    throw new ImportError(`the file could not be read (${e instanceof Error ? e.message : String(e)})`);
  }
}

/**
 * Copies of `profiles` where each id already in `existingIds` (or repeated) gets a new random id, so an import
 * never overwrites a saved profile. Profiles whose ids are free keep them.
 */
export function withFreshIds(profiles: Profile[], existingIds: Iterable<string>, newId: () => string = () => crypto.randomUUID()): Profile[] {
  const taken = new Set(existingIds);
  return profiles.map((p) => {
    let id = p.id;
    while (taken.has(id)) id = newId();
    taken.add(id);
    return id === p.id ? p : { ...p, id };
  });
}
