// The parent's session as storage knows it: an unguessable token handed out only for a PIN or passphrase that opens
// the stored lock (verifyLock, with its throttle), valid for a window on this tab's monotonic clock (a system clock
// moved forward does not stretch it), renewed by the state layer's parent actions and revoked when the session ends.
// Memory only and one per tab: a reload or another tab has none. The storage calls that need the parent (the parent
// log's view, export and clear) take a ParentProof — the PIN itself, or this session — so an open session is enough
// and the PIN need not be kept anywhere, while storage still refuses once the session has ended or run out.

import { AppError } from '../shared/errors';
import { hasLock, requireUnlocked, verifyLock, type VerifyResult } from './lock';
import { randomBytes } from './kdf';

/** The PIN / passphrase (checked against the stored lock, with its throttle), or an open parent session. */
export type ParentProof = string | { session: string };

const TOKEN_BYTES = 16;

let current: { token: string; until: number } | undefined;

const now = () => performance.now();
const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** Compares two tokens in time independent of where they differ. */
function sameToken(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return d === 0;
}

function checkWindow(ms: number): void {
  if (!Number.isFinite(ms) || ms <= 0) throw new AppError('INVALID_REQUEST', `parent session: the window must be a positive number of ms (got ${ms})`);
}

/**
 * Checks `secret` against the stored lock (a wrong one counts toward the throttle like any try) and, when it opens
 * it, starts this tab's parent session for `ms` (replacing an older one). With no lock set there is nothing to
 * check; a session is handed out all the same (the calls it opens need nothing then).
 */
export async function openParentSession(secret: string, ms: number): Promise<VerifyResult & { session?: string }> {
  checkWindow(ms);
  const r = await verifyLock(secret);
  if (!r.ok) return r;
  const token = toHex(randomBytes(TOKEN_BYTES));
  current = { token, until: now() + ms };
  return { ok: true, session: token };
}

/** Extends the open session to `ms` from now; false (and nothing renewed) when `token` is not the open session. */
export function renewParentSession(token: string, ms: number): boolean {
  checkWindow(ms);
  if (!current || !sameToken(current.token, token) || now() >= current.until) return false;
  current.until = now() + ms;
  return true;
}

/** Ends this tab's parent session: its token opens nothing any more. */
export function endParentSession(): void {
  current = undefined;
}

/**
 * Returns quietly when no lock is set, when `proof` is the PIN that opens it (throttle applying: LOCK_WRONG /
 * LOCK_THROTTLED otherwise), or when it is this tab's open, unexpired session; throws LOCK_SESSION_ENDED for a
 * session that has ended, run out, or never was.
 */
export async function requireParent(proof: ParentProof): Promise<void> {
  if (typeof proof === 'string') return requireUnlocked(proof);
  if (!(await hasLock())) return;
  const token = proof && typeof proof === 'object' && typeof proof.session === 'string' ? proof.session : '';
  if (current && sameToken(current.token, token) && now() < current.until) return;
  throw new AppError('LOCK_SESSION_ENDED', 'the parent session has ended: enter the parent PIN again');
}
