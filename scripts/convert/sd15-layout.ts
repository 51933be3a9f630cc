// Checks an Optimum / diffusers SD1.5 ONNX export folder before anything is written, and says which folders are
// copied. Layout: model_index.json, text_encoder/, unet/ (model.onnx + model.onnx_data or weights.pb), vae_decoder/,
// tokenizer/ (vocab.json + merges.txt, or tokenizer.json), scheduler/scheduler_config.json; safety_checker/ and
// feature_extractor/ when present. vae_encoder/ is not copied: psa-web only generates from text.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConvertError } from './errors';

export const COPIED_MODELS = ['text_encoder', 'vae_decoder'] as const;
export const OPTIONAL_FOLDERS = ['safety_checker', 'feature_extractor'] as const;

export interface Sd15Layout {
  dir: string;
  optional: string[];
  unetConfig?: Record<string, unknown>;
  vaeConfig?: Record<string, unknown>;
  scheduler: Record<string, unknown>;
}

const readJson = (p: string, what: string): Record<string, unknown> => {
  try {
    return JSON.parse(readFileSync(p, 'utf8'));
  } catch {
    throw new ConvertError(`${what} is not valid JSON`);
  }
};

export function checkSd15(dir: string): Sd15Layout {
  const LAYOUT = 'an Optimum SD1.5 export has model_index.json, text_encoder/, unet/, vae_decoder/, tokenizer/ and scheduler/';
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ConvertError(`--sd15 ${dir} is not a folder`);
  for (const f of ['unet', 'text_encoder', 'vae_decoder', 'tokenizer', 'scheduler']) {
    if (!existsSync(join(dir, f))) throw new ConvertError(`--sd15 ${dir}: ${f}/ is missing (${LAYOUT})`);
  }
  for (const m of ['unet', ...COPIED_MODELS]) if (!existsSync(join(dir, m, 'model.onnx'))) throw new ConvertError(`--sd15 ${dir}: ${m}/model.onnx is missing`);
  const tok = join(dir, 'tokenizer');
  if (!existsSync(join(tok, 'tokenizer.json')) && !(existsSync(join(tok, 'vocab.json')) && existsSync(join(tok, 'merges.txt')))) {
    throw new ConvertError(`--sd15 ${dir}: tokenizer/ needs vocab.json + merges.txt (or tokenizer.json)`);
  }
  const sched = join(dir, 'scheduler', 'scheduler_config.json');
  if (!existsSync(sched)) throw new ConvertError(`--sd15 ${dir}: scheduler/scheduler_config.json is missing`);
  if (!existsSync(join(dir, 'model_index.json'))) throw new ConvertError(`--sd15 ${dir}: model_index.json is missing (${LAYOUT})`);
  const opt = (p: string) => (existsSync(p) ? readJson(p, p) : undefined);
  return {
    dir,
    optional: OPTIONAL_FOLDERS.filter((f) => existsSync(join(dir, f))),
    unetConfig: opt(join(dir, 'unet', 'config.json')),
    vaeConfig: opt(join(dir, 'vae_decoder', 'config.json')),
    scheduler: readJson(sched, sched),
  };
}

/** Attention heads of an attn2 module from unet/config.json (num_attention_heads, or diffusers' legacy
 * attention_head_dim which SD1.5 uses to mean heads); per-block lists index down blocks, reversed for up blocks. */
export function headsFromConfig(cfg: Record<string, unknown> | undefined): (module: string) => number | undefined {
  const h = (cfg?.num_attention_heads ?? cfg?.attention_head_dim) as number | number[] | undefined;
  return (module) => {
    if (typeof h === 'number') return h;
    if (!Array.isArray(h)) return undefined;
    const [group, idx] = module.split('.');
    if (group === 'mid_block') return h[h.length - 1];
    if (group === 'up_blocks') return [...h].reverse()[Number(idx)];
    return h[Number(idx)];
  };
}
