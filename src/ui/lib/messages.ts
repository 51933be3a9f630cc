// The one table that turns engine error codes into plain words for people. Technical detail stays available
// under "details" in the UI; this text is what a parent or a first-time user reads.
import type { ErrorCode, ErrorInfo } from '../../shared/errors';
import type { GenerationRefusal, PinPurpose, ProfileError, ProfileErrorCode, ProfileNoticeCode } from '../../state/profiles-slice';
import type { LogAction, LogErrorCode, LogStage, LogTextSource } from '../../state/log-slice';
import type { GalleryErrorCode, GalleryView } from '../../state/gallery-slice';

export const ERROR_TEXT: Record<ErrorCode, string> = {
  NO_WEBGPU: 'Your browser cannot use the graphics card here, so images are made on the processor (slower).',
  BACKEND_INIT_FAILED: 'The image engine could not start on this device.',
  BUNDLE_NOT_FOUND: 'The model could not be found. Check the model location or import it again.',
  BUNDLE_INVALID: 'The model files are damaged or incomplete.',
  MODEL_FILE_MISSING: 'A model file is missing. Download or import the model again.',
  MODEL_FILE_CORRUPT: 'A model file is damaged (perhaps a download was cut short). Download it again.',
  CONTRACT_MISMATCH: 'These model files do not fit this app (wrong kind of model).',
  NOT_LOADED: 'No model is loaded yet.',
  BUSY: 'Still working on the previous image. Wait for it or press Stop.',
  CANCELLED: 'Stopped.',
  INVALID_REQUEST: 'Some settings are not valid.',
  PROMPT_TOO_LONG: 'The description is too long.',
  DEVICE_LOST: 'The graphics card stopped responding. The model was reloaded; try again.',
  OUT_OF_MEMORY: 'The device ran out of memory. Try a smaller image size.',
  INTERNAL: 'Something went wrong inside the app.',
  STORAGE_FAILED: 'Saving or reading on this device did not work. Nothing was half-saved; try again.',
  STORAGE_FULL: 'This browser has no room left to save for this site. Nothing was lost; free some space and try again.',
  STORAGE_NEWER_VERSION: 'The profiles on this device were saved by a newer version of the app. Update the app; nothing was changed.',
  PROFILE_INVALID: 'This profile has a field that is not valid, so it was not saved.',
  LOCK_WRONG: 'That PIN or passphrase is not right.',
  LOCK_THROTTLED: 'Too many wrong tries. Wait a moment before trying again.',
  LOCK_SECRET_INVALID: 'Choose a PIN of at least 4 digits or a passphrase of at least 8 characters.',
  LOCK_SESSION_ENDED: 'The parent area locked again. Unlock it with the parent PIN to go on.',
  IMPORT_INVALID: 'This profile file could not be imported. Nothing was changed.',
  PIN_REQUIRED: 'Only a parent can change this: it needs the parent PIN. Nothing was changed.',
  DOWNLOAD_FAILED: 'The download stopped because the connection kept failing. What was downloaded is kept; press Resume to continue.',
  BUNDLE_REDIRECT_REFUSED: 'The model host tried to send the download to another address, so it was stopped. Models are only taken from the address you gave.',
  BLOCKED_BY_POLICY: 'This app’s security policy does not allow downloads from that address yet. The details say what to do.',
};

export function describeError(e: ErrorInfo): { title: string; detail: string } {
  return { title: ERROR_TEXT[e.code] ?? ERROR_TEXT.INTERNAL, detail: e.message };
}

// Profiles and the parent lock (src/state/profiles-slice.ts codes).
export const PROFILE_ERROR_TEXT: Record<ProfileErrorCode, string> = {
  PIN_REQUIRED: 'This needs the parent PIN. Nothing was changed.',
  WRONG_PIN: 'That PIN is not right.',
  THROTTLED: 'Too many wrong tries.',
  PIN_INVALID: 'That PIN or passphrase cannot be used.',
  NO_LOCK: 'A protected profile needs a parent PIN: type one in the field above (or untick “Protected”).',
  PROFILE_INVALID: 'This profile cannot be saved yet.',
  PROFILE_NOT_FOUND: 'That profile no longer exists (perhaps it was deleted in another tab).',
  IMPORT_FAILED: 'Nothing was imported: the file is not a profile file this app can read.',
  EXPORT_FAILED: 'The profiles could not be exported.',
  PASSPHRASE_REQUIRED: 'Choose a file passphrase (at least 8 characters) to protect the file, or tick “Save without a passphrase”.',
  STORAGE_FAILED: 'The browser could not save or read the profiles.',
};

export const PROFILE_NOTICE_TEXT: Record<ProfileNoticeCode, string> = {
  SAVED: 'Saved.',
  DELETED: 'Deleted.',
  IMPORTED: 'Imported {n} profile(s).',
  EXPORTED: 'Exported {n} profile(s).',
  PIN_SET: 'Parent PIN set. The lock is open for now; press “Lock now” when you are done.',
  PIN_CHANGED: 'Parent PIN changed.',
  PIN_REMOVED: 'Parent lock removed.',
  UNLOCKED: 'Unlocked for 10 minutes.',
  LOCKED: 'Locked.',
};

/**
 * Shown before a plain (unencrypted) profile file is written: what anyone who gets the file can read, in plain
 * words, so the choice is made knowing it.
 */
export const PLAIN_EXPORT_WARNING =
  'Without a passphrase, anyone who gets this file can read every profile in it: name, age, gender, religion, ' +
  'health (physical and mental conditions), blocked words, and which topics are blocked or allowed.';

/** "12 s", "3 min" */
export function formatWait(ms: number): string {
  const s = Math.max(1, Math.ceil(ms / 1000));
  return s < 120 ? `${s} s` : `${Math.ceil(s / 60)} min`;
}

/** The words for a profile error; a wrong PIN or a throttle says how long to wait (from `now`). */
export function describeProfileError(e: ProfileError, now = Date.now()): string {
  const base = e.cause && e.cause in ERROR_TEXT ? ERROR_TEXT[e.cause] : (PROFILE_ERROR_TEXT[e.code] ?? PROFILE_ERROR_TEXT.STORAGE_FAILED);
  const wait = e.retryAt && e.retryAt > now ? ` Try again in ${formatWait(e.retryAt - now)}.` : '';
  return `${base}${wait}`;
}

export function describeProfileNotice(n: { code: ProfileNoticeCode; count?: number }): string {
  return PROFILE_NOTICE_TEXT[n.code].replace('{n}', String(n.count ?? 0));
}

// The parent log (src/state/log-slice.ts codes, src/storage/parent-log.ts stages and actions).
export const LOG_ERROR_TEXT: Record<LogErrorCode, string> = {
  WRONG_PIN: 'That PIN is not right.',
  THROTTLED: 'Too many wrong tries.',
  SESSION_ENDED: 'The parent area locked again: enter the parent PIN to see the log.',
  STORAGE_FAILED: 'The browser could not read or change the parent log.',
};
export const LOG_STAGE_TEXT: Record<LogStage, string> = { text: 'Prompt', image: 'Image', q16: 'Image (Q16)' };
/** Which check decided, in plain words: the prompt checks by their source, the image checks by their stage. */
export const LOG_SOURCE_TEXT: Record<LogTextSource | 'image' | 'q16', string> = {
  lexicon: 'word list',
  classifier: 'learned classifier',
  semantic: 'meaning check',
  image: 'image safety checker',
  q16: 'image check (Q16)',
};
/** Plain words for the check behind an entry; entries from before the check was recorded say so. */
export function logDecidedBy(e: { stage: LogStage; source?: LogTextSource }): string {
  if (e.stage !== 'text') return LOG_SOURCE_TEXT[e.stage];
  return e.source ? LOG_SOURCE_TEXT[e.source] : 'not recorded';
}
export const LOG_ACTION_TEXT: Record<LogAction, string> = { blocked: 'Blocked', steered: 'Adjusted', blurred: 'Blurred', allowed: 'Allowed' };

export function describeLogError(e: { code: LogErrorCode; retryAt?: number; detail?: string }, now = Date.now()): string {
  const wait = e.retryAt && e.retryAt > now ? ` Try again in ${formatWait(e.retryAt - now)}.` : '';
  return `${LOG_ERROR_TEXT[e.code]}${wait}`;
}

// A bundle whose files the manifest does not pin with SHA-256 hashes (Optimum exports, format-1 manifests): shown
// in the Models panel before anything is downloaded, with the files it concerns.
export const UNVERIFIED_BUNDLE_TEXT =
  'These model files cannot be checked: the bundle gives no fingerprints (SHA-256) for them, so a changed or tampered file would not be noticed. Download only from a source you trust.';

// A profile whose new embedding needs the profile encoder after the user removed it (Models panel).
export const ENCODER_REMOVED_TEXT =
  'This profile needs the profile encoder, which was removed to save space. Download the bundle again to compute it.';

/** The PIN dialog's title: what the PIN is asked for. */
export const PIN_PURPOSE_TEXT: Record<PinPurpose, string> = {
  unlock: 'Parent PIN to open the parent area',
  profile: 'Parent PIN to change a protected profile',
  switch: 'Parent PIN to switch away from a protected profile',
  model: 'Parent PIN to change or remove a model',
  log: 'Parent PIN to see the parent log',
  'clear-log': 'Parent PIN again to delete the parent log',
  'change-pin': 'Current parent PIN, to change it',
  'remove-pin': 'Current parent PIN, to remove the lock',
  export: 'Parent PIN to export a protected profile',
  import: 'Parent PIN to import protected profiles',
  gallery: "Parent PIN to delete a protected profile's picture",
  erase: 'Parent PIN again to erase everything on this device',
};

const PART_TEXT = { imageChecker: 'a picture safety check', embedding: 'the part that applies a personal profile' } as const;

/** Why Generate made nothing (before any engine work), in words a parent understands, with what to do next. */
export function describeRefusal(r: GenerationRefusal): string {
  if (r.code === 'NO_PROFILE_CHOSEN') return 'Choose who is using the app first (above): a profile, or "no profile" on purpose. No picture is made for nobody in particular.';
  const parts = r.missing.map((m) => PART_TEXT[m]).join(' and ');
  return `No picture: the model in use lacks ${parts}, which ${r.profileName}'s safety settings need. A parent can choose a model that has it, or allow this model in ${r.profileName}'s profile.`;
}

/** A new PIN of digits only, shorter than 6: worth a hint (never a refusal: 4 digits are allowed). */
export const isShortPin = (s: string) => /^[0-9]{4,5}$/.test(s);

/** Shown while a new PIN of only 4 or 5 digits is typed. */
export const SHORT_PIN_HINT = 'A PIN of 6 or more digits is much harder to guess; a passphrase is harder still.';

/** The gallery's words (src/ui/gallery/). */
export const GALLERY_TEXT = {
  title: 'Gallery',
  intro: 'Every picture made here is kept on this device only, with the settings that made it.',
  seesAll: "You see every profile's pictures (no parent lock, or the parent's session is open).",
  seesOwn: "Only this profile's pictures are shown. The parent sees everyone's.",
  empty: 'No pictures yet. Make one on Home: it is kept here.',
  recent: 'Recent pictures',
  seeAll: 'See every picture in the gallery',
  unlock: "Unlock to see everyone's pictures…",
  storage: 'Storage used by these pictures',
  open: 'Open',
  close: 'Close',
  download: 'Download PNG',
  reuse: 'Use these settings',
  delete: 'Delete',
  noProfile: 'No profile',
  safety: { none: 'No profile: no safety checks ran', allowed: 'Allowed as asked', steered: 'Adjusted by the safety settings' },
  blurred: 'Blurred by the picture check (only the blurred picture was kept)',
  flagged: 'Flagged by the picture check',
} as const;

export const GALLERY_ERROR_TEXT: Record<GalleryErrorCode, string> = {
  PIN_REQUIRED: "Deleting a protected profile's picture needs the parent PIN. Nothing was deleted.",
  NOT_FOUND: 'That picture is no longer here (perhaps deleted in another tab).',
  SAVE_FAILED: 'The picture is shown but could not be kept in the gallery.',
  STORAGE_FAILED: 'The gallery could not be read or changed on this device. Try again.',
};

/** A gallery error in words, with the storage layer's own words (a full disk says so) and what to do next. */
export function describeGalleryError(e: NonNullable<GalleryView['error']>): string {
  const cause = e.cause && e.cause !== 'INTERNAL' && e.cause !== 'STORAGE_FAILED' ? ` ${ERROR_TEXT[e.cause]}` : '';
  return GALLERY_ERROR_TEXT[e.code] + cause;
}

