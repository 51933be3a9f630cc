// Embedding slice: the active profile's PSA user embedding, taken from the device's cache or computed by the
// engine's profile encoder (one job at a time: a switch mid-computation queues; a slower, older computation never
// overwrites a newer one). Never the zero embedding for a profile whose embedding cannot be made: that is refused.
import type { StateCreator } from 'zustand';
import { AppError, toErrorInfo, type ErrorInfo } from '../shared/errors';
import type { Profile } from '../shared/profile';
import type { EngineSlice } from './engine-slice';
import type { ProfileDeps } from './profile-deps';

/**
 * 'encoder-removed': the profile needs a new embedding but the bundle's profile encoder files were removed to save
 * space (cached embeddings still apply). Generation for it is refused, like an error: never the zero embedding.
 */
export type EmbeddingStatus = 'none' | 'unsupported' | 'computing' | 'ready' | 'error' | 'encoder-removed';

export interface EmbeddingState {
  status: EmbeddingStatus;
  /** The profile it belongs to. */
  profileId?: string;
  /** Storage key: hash of encoder identity + exact rendered text. */
  key?: string;
  vector?: Float32Array;
  /** Came from the cache rather than the encoder. */
  fromCache?: boolean;
  progress?: EmbedProgress;
  ms?: number;
  error?: ErrorInfo;
}

/** The engine's `embed-progress` event, less its routing fields. */
export interface EmbedProgress {
  phase: 'load' | 'tokenize' | 'run' | 'release';
  loaded?: number;
  total?: number;
}

export interface EmbedOutput {
  embedding: Float32Array;
  encoderId: string;
  tokens: number;
  ms: number;
}

/** The engine's embed, reached through the engine slice's client (the engine's one door). */
export type EmbedFn = (text: string, onProgress?: (p: EmbedProgress) => void) => Promise<EmbedOutput>;

export interface EmbeddingSlice {
  embedding: EmbeddingState;
  /** The active profile's embedding (cached or computed); undefined = no profile / no encoder → zero embedding. */
  ensureEmbedding(): Promise<Float32Array | undefined>;
}

type EmbedDeps = Pick<ProfileDeps, 'profileToPsaFields' | 'computePolicy' | 'renderEmbeddingText' | 'embeddingKey' | 'getCachedEmbedding' | 'putCachedEmbedding'>;
type All = EmbeddingSlice & Pick<EngineSlice, 'bundle'> & { profiles: Profile[]; activeProfileId?: string };

export function createEmbeddingSlice(deps: EmbedDeps, embed: EmbedFn): StateCreator<All, [], [], EmbeddingSlice> {
  return (set, get) => {
    // The embedding being computed (one at a time; a second caller for the same key shares it).
    let inflight: { key: string; promise: Promise<Float32Array | undefined> } | undefined;
    // The key the latest ensureEmbedding asked for: a slower, older computation must not overwrite a newer one.
    let wanted: string | undefined;
    // Embeddings run one after another: the engine does one job at a time (a switch mid-computation queues).
    let queue: Promise<unknown> = Promise.resolve();

    return {
      embedding: { status: 'none' },

      async ensureEmbedding() {
        const { profiles, activeProfileId, bundle } = get();
        const profile = profiles.find((p) => p.id === activeProfileId);
        if (!profile) {
          wanted = undefined;
          set({ embedding: { status: 'none' } });
          return undefined;
        }
        const encoder = bundle?.profileEncoder;
        if (!encoder) {
          wanted = undefined;
          set({ embedding: { status: 'unsupported', profileId: profile.id } });
          return undefined;
        }
        const fields = deps.profileToPsaFields(profile, deps.computePolicy(profile));
        const text = deps.renderEmbeddingText(encoder.template, fields);
        const key = await deps.embeddingKey(encoder.id, text);
        wanted = key;
        const now = get().embedding;
        if (now.key === key && now.status === 'ready' && now.vector) return now.vector;
        if (inflight?.key === key) return inflight.promise;
        const run = async (): Promise<Float32Array | undefined> => {
          const cached = await deps.getCachedEmbedding(key, profile.id); // records this profile as a user
          if (cached) {
            if (wanted === key) set({ embedding: { status: 'ready', profileId: profile.id, key, vector: cached, fromCache: true } });
            return cached;
          }
          if (encoder.removed) {
            // Nothing to compute with: say so, and refuse (the caller must not fall back to no personalization).
            if (wanted === key) set({ embedding: { status: 'encoder-removed', profileId: profile.id, key } });
            throw new AppError('MODEL_FILE_MISSING', 'this profile needs a new embedding, but the profile encoder was removed to save space');
          }
          if (wanted === key) set({ embedding: { status: 'computing', profileId: profile.id, key } });
          const onProgress = (progress: EmbedProgress) => {
            if (wanted === key) set({ embedding: { ...get().embedding, progress } });
          };
          try {
            const out = await embed(text, onProgress);
            await deps.putCachedEmbedding(key, out.embedding, out.encoderId, profile.id);
            if (wanted === key) set({ embedding: { status: 'ready', profileId: profile.id, key, vector: out.embedding, fromCache: false, ms: out.ms } });
            return out.embedding;
          } catch (e) {
            const error = toErrorInfo(e);
            if (wanted === key) set({ embedding: { status: 'error', profileId: profile.id, key, error } });
            throw e;
          }
        };
        const promise = queue.then(run, run).finally(() => {
          if (inflight?.promise === promise) inflight = undefined;
        });
        inflight = { key, promise };
        queue = promise.catch(() => undefined);
        return promise;
      },
    };
  };
}
