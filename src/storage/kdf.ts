// The WebCrypto pieces shared by the parent lock and encrypted profile files: PBKDF2-SHA256 from a secret,
// random bytes, constant-time comparison and strict base64.

/** PBKDF2-SHA256 iterations for new locks and files (OWASP's 2023 figure). Stored beside each hash, so it can rise. */
export const KDF_ITERATIONS = 600_000;
/** Bytes of random salt per lock / file. */
export const SALT_BYTES = 16;

const encoder = new TextEncoder();

/**
 * The UTF-8 bytes of a secret in Unicode NFC, so the same PIN or passphrase typed on another keyboard or system
 * (composed vs decomposed accents) gives the same key.
 */
function secretBytes(secret: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(secret.normalize('NFC'));
}

async function baseKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', secretBytes(secret), 'PBKDF2', false, ['deriveBits', 'deriveKey']);
}

/** PBKDF2-SHA256(secret, salt, iterations) → `bits` bits. */
export async function pbkdf2(secret: string, salt: Uint8Array<ArrayBuffer>, iterations: number, bits = 256): Promise<Uint8Array<ArrayBuffer>> {
  const key = await baseKey(secret);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, key, bits));
}

/** An AES-GCM-256 key from a passphrase via PBKDF2-SHA256 (not extractable). */
export async function aesKeyFromPassphrase(passphrase: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<CryptoKey> {
  const key = await baseKey(passphrase);
  return crypto.subtle.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, key, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
}

/** `n` random bytes from the platform CSPRNG. */
export function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(n));
}

/** Compares two byte strings in time that depends only on their lengths, not on where they differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard base64 (with padding) of bytes. */
export function toBase64(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** Bytes of a standard, padded base64 text; undefined when it is anything else (no whitespace, no URL alphabet). */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!B64.test(text)) return undefined;
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
