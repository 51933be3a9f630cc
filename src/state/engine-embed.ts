// The profiles slice's way to the engine's `embed`: through the engine slice's client (src/engine/client.ts is
// the engine's only door; one worker owns the models).
import { AppError } from '../shared/errors';
import { engineClient } from './engine-slice';
import type { EmbedFn } from './profiles-slice';

export const embedThroughEngine: EmbedFn = (text, onProgress) => {
  const client = engineClient();
  if (!client) return Promise.reject(new AppError('NOT_LOADED', 'the engine has not started yet'));
  return client.embed(text, (phase, loaded, total) => onProgress?.({ phase, loaded, total }));
};
