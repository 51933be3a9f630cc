// Error codes that cross the worker boundary and reach the UI. Errors travel as plain `{code, message}`; the UI
// turns a code into plain words in one table (src/ui/lib/messages.ts). Add a code here before throwing it anywhere.

export const ERROR_CODES = [
  'NO_WEBGPU', // no adapter / API: informational, the engine falls back to WASM
  'BACKEND_INIT_FAILED', // ORT could not start on any backend
  'BUNDLE_NOT_FOUND', // manifest/folder missing or unreadable
  'BUNDLE_INVALID', // manifest or config malformed
  'MODEL_FILE_MISSING', // a file the bundle names is absent
  'MODEL_FILE_CORRUPT', // truncated or unparsable ONNX
  'CONTRACT_MISMATCH', // a model's I/O does not match the contract
  'NOT_LOADED', // generate before load
  'BUSY', // a request arrived while another one runs
  'CANCELLED', // the user stopped it
  'INVALID_REQUEST', // bad parameters (size, steps, scheduler, embedding length...)
  'PROMPT_TOO_LONG', // over-long prompt (when truncation is refused)
  'DEVICE_LOST', // WebGPU device lost mid-run
  'OUT_OF_MEMORY', // allocation failed
  'INTERNAL', // a bug: anything else
  // src/storage (IndexedDB, parent lock, profile files)
  'STORAGE_FAILED', // IndexedDB unavailable, or a read/write failed or was interrupted (nothing half-written)
  'STORAGE_FULL', // QuotaExceededError: the site's storage is full; nothing was changed
  'STORAGE_NEWER_VERSION', // the saved data comes from a newer version of the app; left untouched
  'PROFILE_INVALID', // a profile failed the structural check on save
  'LOCK_WRONG', // wrong PIN / passphrase
  'LOCK_THROTTLED', // too many wrong tries: wait before the next one
  'LOCK_SECRET_INVALID', // a new PIN / passphrase is too short or malformed
  'LOCK_SESSION_ENDED', // a parent session (storage/parent-session.ts) was used after it ended or ran out
  'IMPORT_INVALID', // a profile file was refused (the message names the exact problem)
  'PIN_REQUIRED', // an action that can lower a protected profile's safety was asked without the parent PIN
  // model bundles (engine/bundles: downloads, folder import)
  'DOWNLOAD_FAILED', // the network kept failing for a file (after retries); what was downloaded is kept
  'BUNDLE_REDIRECT_REFUSED', // the host redirected a bundle file away from the bundle's folder (another host or path)
  'BLOCKED_BY_POLICY', // the app's Content-Security-Policy (connect-src) does not allow the bundle's host
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorInfo {
  code: ErrorCode;
  message: string;
}

/** An Error that carries a code; the only kind the engine throws on purpose. */
export class AppError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'AppError';
    this.code = code;
  }
  toInfo(): ErrorInfo {
    return { code: this.code, message: this.message };
  }
}

export function isErrorCode(x: unknown): x is ErrorCode {
  return typeof x === 'string' && (ERROR_CODES as readonly string[]).includes(x);
}

/** Any thrown value → `{code, message}` (never a stack trace, never `[object Object]`). */
export function toErrorInfo(err: unknown): ErrorInfo {
  if (err instanceof AppError) return err.toInfo();
  if (err && typeof err === 'object' && 'code' in err && isErrorCode((err as { code: unknown }).code)) {
    return { code: (err as { code: ErrorCode }).code, message: String((err as { message?: unknown }).message ?? '') };
  }
  const message = err instanceof Error ? err.message : String(err);
  if (/out of memory|OOM|allocation failed|RangeError: Array buffer allocation/i.test(message)) return { code: 'OUT_OF_MEMORY', message };
  if (/device (was )?lost|GPUDevice.*lost/i.test(message)) return { code: 'DEVICE_LOST', message };
  return { code: 'INTERNAL', message };
}
