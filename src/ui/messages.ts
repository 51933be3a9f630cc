// The one table that turns engine error codes into plain words for people. Technical detail stays available
// under "details" in the UI; this text is what a parent or a first-time user reads.
import type { ErrorCode, ErrorInfo } from '../shared/errors';

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
  IMPORT_INVALID: 'This profile file could not be imported. Nothing was changed.',
  DOWNLOAD_FAILED: 'The download stopped because the connection kept failing. What was downloaded is kept; press Resume to continue.',
};

export function describeError(e: ErrorInfo): { title: string; detail: string } {
  return { title: ERROR_TEXT[e.code] ?? ERROR_TEXT.INTERNAL, detail: e.message };
}
