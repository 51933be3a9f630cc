// The file list of a standard Optimum/diffusers Stable Diffusion ONNX export, from its model_index.json and the
// standard names: <folder>/model.onnx, <folder>/config.json, tokenizer/ (vocab.json + merges.txt or tokenizer.json),
// scheduler/scheduler_config.json. A model's external-data files are not guessed here: each .onnx names its own
// (`model.onnx_data`, `weights.pb`, any other; see onnx-scan.ts), so callers add them after scanning the model
// (`isModelPath` says which candidates to scan). Only what the app runs is listed (no vae_encoder, no safety checker
// yet). Pure: existence is decided by the caller.

/** A candidate file; `required` ones must exist, optional ones are fetched when the host has them. */
export interface Candidate {
  path: string;
  required: boolean;
  /** Role folder the file belongs to (for messages). */
  folder?: string;
}

/** Folders whose model.onnx the app needs, by the model_index.json key that announces them. */
const MODEL_FOLDERS = ['text_encoder', 'unet', 'vae_decoder'] as const;

/** Whether model_index.json announces a component (`[library, class]` with non-null parts). */
function announced(index: Record<string, unknown>, key: string): boolean {
  const v = index[key];
  return Array.isArray(v) && v.length === 2 && v[0] !== null && v[1] !== null;
}

/**
 * Candidates of an Optimum SD export. Throws with a plain message when model_index.json does not describe a
 * Stable Diffusion pipeline with the three ONNX models.
 */
export function optimumCandidates(index: Record<string, unknown>): Candidate[] {
  if (!index || typeof index !== 'object' || typeof index._class_name !== 'string') {
    throw new Error('model_index.json has no _class_name: not a diffusers pipeline export');
  }
  const missing = MODEL_FOLDERS.filter((f) => !announced(index, f));
  if (missing.length) throw new Error(`model_index.json (${index._class_name}) lists no ${missing.join(', ')}: not a Stable Diffusion ONNX export this app can run`);
  const out: Candidate[] = [{ path: 'model_index.json', required: true }];
  for (const folder of MODEL_FOLDERS) {
    out.push({ path: `${folder}/model.onnx`, required: true, folder });
    out.push({ path: `${folder}/config.json`, required: false, folder });
  }
  if (!announced(index, 'tokenizer')) throw new Error('model_index.json lists no tokenizer');
  for (const name of ['vocab.json', 'merges.txt', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) {
    out.push({ path: `tokenizer/${name}`, required: false, folder: 'tokenizer' });
  }
  out.push({ path: 'scheduler/scheduler_config.json', required: announced(index, 'scheduler'), folder: 'scheduler' });
  return out;
}

/** Whether a candidate is one of the export's models (whose .onnx names its external-data files). */
export const isModelPath = (path: string): boolean => MODEL_FOLDERS.some((f) => path === `${f}/model.onnx`);

/** After probing: the tokenizer needs tokenizer.json, or vocab.json + merges.txt. Returns the problem, if any. */
export function tokenizerProblem(present: ReadonlySet<string>): string | undefined {
  if (present.has('tokenizer/tokenizer.json')) return undefined;
  const lack = ['tokenizer/vocab.json', 'tokenizer/merges.txt'].filter((p) => !present.has(p));
  return lack.length ? `${lack.join(' and ')} ${lack.length > 1 ? 'are' : 'is'} missing (needed to build the CLIP tokenizer; no tokenizer/tokenizer.json either)` : undefined;
}

/** A storage id for a URL source: host + last path segments, reduced to the characters storage keys allow. */
export function idFromUrl(url: string): string {
  const u = new URL(url);
  const tail = u.pathname.split('/').filter(Boolean).slice(-2).join('-');
  const raw = `${u.hostname}${u.port ? `-${u.port}` : ''}${tail ? `-${tail}` : ''}`;
  return raw.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 100) || 'bundle';
}
