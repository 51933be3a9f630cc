// The profile encoder's source folder check (an Optimum feature-extraction export, or a transformers.js / Optimum
// causal-LM export, of the LLM PSA embeds profiles with, Qwen2.5-7B-Instruct for the released adapter; which graph
// file: encoder/source.ts): the graph, the tokenizer and the config's hidden size before anything is written.
// Seam for the layer-group step (issue 18, item 4): replace `addProfileEncoder` with the split into layer groups
// + a CPU embedding table; its checks (hidden size = the adapter's E, tokenizer present) stay.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findEncoderModel } from './encoder/source';
import { ConvertError } from './errors';

export interface ProfileEncoderSource {
  dir: string;
  files: string[];
  model: string;
  externalData: string[];
  hiddenSize: number;
}

/** Checks the folder before anything is written. */
export function checkProfileEncoder(dir: string, embeddingSize: number, modelFile?: string): ProfileEncoderSource {
  if (!existsSync(dir)) throw new ConvertError(`--profile-encoder ${dir} does not exist`);
  const model = findEncoderModel(dir, modelFile);
  if (!existsSync(join(dir, 'tokenizer.json'))) throw new ConvertError(`--profile-encoder ${dir}: tokenizer.json is missing`);
  let cfg: { hidden_size?: number };
  try {
    cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  } catch {
    throw new ConvertError(`--profile-encoder ${dir}: config.json is missing or not JSON`);
  }
  if (cfg.hidden_size !== embeddingSize) throw new ConvertError(`--profile-encoder ${dir}: hidden_size ${cfg.hidden_size} ≠ the adapter's embedding size ${embeddingSize}`);
  const files: string[] = [];
  const walk = (rel: string) => {
    for (const d of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) walk(r);
      else files.push(r);
    }
  };
  walk('');
  const externalData = files.filter((f) => f.startsWith(`${model}_data`) || f === `${model}.data`);
  return { dir, files: files.sort(), model, externalData, hiddenSize: cfg.hidden_size };
}
