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
};

export function describeError(e: ErrorInfo): { title: string; detail: string } {
  return { title: ERROR_TEXT[e.code] ?? ERROR_TEXT.INTERNAL, detail: e.message };
}
