// `--profile-encoder DIR` as layer groups: an Optimum `feature-extraction` export of a Qwen2-style LLM (model.onnx +
// external data) becomes
//   embed_tokens.f16 + embed_tokens.json   the token-embedding table, raw little-endian fp16 [vocab, hidden] (CPU)
//   group_K.onnx (+ group_K.onnx_data…)     ≥ 3 graphs: hidden_states (+ attention_mask) → next_hidden_states; the
//                                           last ends with the final norm → last_hidden_state (PSA's pooling input)
//   encoder_groups.json                    the groups in run order + the table (the engine's entry point)
//   tokenizer / chat template / config     copied
// Every initializer is external, each external file ≤ `groupBytes` (default 1 GiB), so the engine can create, run and
// release one group at a time. See ../../../../shared/docs/large-encoder.md for why.
// `quantize` (default none = float32, the layout above unchanged byte for byte) writes each group's linear weights
// through the U-Net's streaming writers (../quantize/index.ts, one weight in memory at a time, read straight from the
// source export): q4 / q4f16 = com.microsoft MatMulNBits (4-bit, block 32; q4f16 with float16 activations), int8 =
// per-channel DequantizeLinear, fp16 = float16 weights and activations. Graph inputs and outputs stay float32 in
// every variant, so groups of any variant chain the same way; encoder_groups.json names the variant. The table
// follows the weights unless asked otherwise: int8 rows for q4 / int8, float16 for fp16 / q4f16 / none.
// A public causal-LM export (transformers.js / Optimum with past: onnx/model.onnx, model_q4.onnx,
// decoder_model_merged.onnx) is read through source.ts, which rewrites its proto into the feature-extraction form
// first (with-past.ts); an export already 4-bit (MatMulNBits) is written as it is, as the q4 variant.
// Not supported (refused with an error naming the reason): onnxruntime-genai builder exports. With exclude_embeds
// they take `inputs_embeds` [B,T,H] (+ attention_mask, position_ids) and return `hidden_states` (after the final
// norm), so the table is not in the graph at all; and their SkipSimplifiedLayerNormalization fuses each residual Add
// into the next layer's norm, so two tensors (the residual and the sub-layer output) cross every layer boundary. A
// two-tensor carry would be the extension; no such export can be made here (no onnxruntime-genai, no pip).
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConvertError } from '../errors';
import { writeQuantizedModel } from '../quantize/index';
import type { QuantizeOption } from '../variants';
import { writeModel, type WrittenFile } from '../write-model';
import { analyse, groupGraph, planGroups, HIDDEN_IN, HIDDEN_OUT, LAST_OUT } from './cut';
import { findEncoderModel, isPreQuantized, loadEncoderSource } from './source';
import type { WithPastEdit } from './with-past';
import { writeTable, TABLE_JSON, type TableDtype, type TableInfo } from './table';

export const GROUPS_JSON = 'encoder_groups.json';
export const GROUPS_FORMAT = 'psa-web-encoder-groups';
const COPIED = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.json', 'merges.txt', 'added_tokens.json', 'chat_template.json', 'chat_template.jinja'];

/** What `encoder_groups.json` holds (read by src/engine/embedding/groups-source.ts). */
export interface GroupsFile {
  format: typeof GROUPS_FORMAT;
  version: 1;
  layers: number;
  hiddenSize: number;
  /** Path of the table's JSON description (embed_tokens.json). */
  table: string;
  input: string;
  groups: { file: string; externalData: string[]; layers: [number, number] | null; finalNorm: boolean; output: string }[];
  /** The weights' variant when not float32 (absent = none, so a float32 index reads as before). */
  quantize?: Exclude<QuantizeOption, 'none'>;
}

export interface GroupOptions {
  /** Number of groups (default: enough that each holds ≤ groupBytes of weights, at least 3). */
  groups?: number;
  /** Largest external-data file (default 1 GiB); also sizes the default group count. */
  groupBytes?: number;
  /** Element type of the CPU embedding table (default: int8 for q4 / int8, else float16). */
  tableDtype?: TableDtype;
  /** Weight variant of the groups (default none: float32). */
  quantize?: QuantizeOption;
  /** The graph inside the source folder (default: source.ts's MODEL_CANDIDATES, first found). */
  model?: string;
  /** Copy the tokenizer, chat template and config next to the groups (default true; a bundle's variant folders share the parent's). */
  copyTokenizer?: boolean;
  log?: (line: string) => void;
}

export interface WrittenEncoder {
  groupsJson: WrittenFile;
  tableJson: WrittenFile;
  table: WrittenFile;
  groups: { model: WrittenFile; externalData: WrittenFile[] }[];
  copied: string[];
  info: GroupsFile;
}

export interface EncoderCheck {
  dir: string;
  model: string;
  hiddenSize: number;
  /** What was edited when the source is a causal-LM (with-past) export (source.ts, with-past.ts). */
  causalLm?: WithPastEdit;
  /** The source's linear weights are already MatMulNBits (4-bit): they pass through, as the q4 variant. */
  preQuantized: boolean;
}

/** Checks the source folder (before anything is written). */
export function checkGroupSource(dir: string, modelFile?: string): EncoderCheck {
  if (!existsSync(dir)) throw new ConvertError(`--profile-encoder ${dir} does not exist`);
  const model = findEncoderModel(dir, modelFile);
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) if (!existsSync(join(dir, f))) throw new ConvertError(`--profile-encoder ${dir}: ${f} is missing (the encoder needs its tokenizer and chat template)`);
  const src = loadEncoderSource(dir, model);
  const s = analyse(src.model, `--profile-encoder ${model}`);
  return { dir, model, hiddenSize: s.hiddenSize, causalLm: src.edit, preQuantized: isPreQuantized(src.model) };
}

export function writeLayerGroups(dir: string, out: string, o: GroupOptions = {}): WrittenEncoder {
  const log = o.log ?? (() => undefined);
  const { model, causalLm, preQuantized } = checkGroupSource(dir, o.model);
  const label = `--profile-encoder ${model}`;
  const groupBytes = o.groupBytes ?? 2 ** 30;
  if (!(groupBytes > 0) || groupBytes > 2 ** 30) throw new ConvertError('the encoder group file size must be between 1 byte and 1 GiB');
  mkdirSync(out, { recursive: true });
  const src = loadEncoderSource(dir, model).model;
  const s = analyse(src, label);
  const total = s.unitBytes.reduce((x, y) => x + y, 0);
  const n = o.groups ?? Math.min(s.layers + 1, Math.max(3, Math.ceil(total / groupBytes)));
  const cuts = planGroups(s, n);
  const q = o.quantize ?? 'none';
  // An already 4-bit export (onnx-community's model_q4.onnx) is written as it is, as the q4 variant: re-quantizing
  // 4-bit weights, or calling them float32, would be wrong.
  if (preQuantized && q !== 'q4') throw new ConvertError(`${label}: its weights are already 4-bit (MatMulNBits); it can only be written as the q4 variant (--encoder-quantize q4), not ${q}`);
  if (causalLm) log(`profile encoder: ${model} is a causal-LM export: ${causalLm.output} (the final norm's output) made the output; ${causalLm.removedOutputs.length} outputs (logits, present.*) and ${causalLm.droppedNodes} nodes dropped; ${causalLm.past.length} past inputs folded to length 0${causalLm.positionIds ? '; position_ids = arange(length)' : ''}${causalLm.mergedIf ? '; the merged decoder\'s no-past branch inlined' : ''}`);
  const tableDtype = o.tableDtype ?? defaultTable(q);
  log(`profile encoder (${q}): ${s.layers} layers + final norm → ${n} groups (units ${cuts.slice(0, -1).map((c, k) => `${c}..${cuts[k + 1] - 1}`).join(', ')}), table ${s.table.dims?.join('×')} → ${tableDtype}`);

  const t = writeTable(src, s.table, out, label, tableDtype);
  const tableJsonText = JSON.stringify(t.info, null, 2) + '\n';
  writeFileSync(join(out, TABLE_JSON), tableJsonText);

  const groups: WrittenEncoder['groups'] = [];
  const info: GroupsFile = { format: GROUPS_FORMAT, version: 1, layers: s.layers, hiddenSize: s.hiddenSize, table: TABLE_JSON, input: HIDDEN_IN, groups: [], ...(q !== 'none' ? { quantize: q } : {}) };
  for (let k = 0; k < n; k++) {
    const [a, b] = [cuts[k], cuts[k + 1]];
    const fresh = loadEncoderSource(dir, model).model; // writeModel rewrites tensors in place
    const g = groupGraph(fresh, s, a, b, label);
    const fileName = `group_${k}.onnx`;
    const w = q === 'none' || preQuantized
      ? writeModel(g, { dir: out, fileName, external: true, chunkBytes: groupBytes, minExternalBytes: 1 })
      : writeQuantizedModel(g, q, { dir: out, fileName, external: true, chunkBytes: groupBytes, minExternalBytes: 1, label: `${label} (group ${k + 1} of ${n})`, allowNoWeights: true }).written;
    groups.push(w);
    const lastLayer = Math.min(b, s.layers) - 1;
    info.groups.push({
      file: w.model.name,
      externalData: w.externalData.map((f) => f.name),
      layers: a <= lastLayer ? [a, lastLayer] : null,
      finalNorm: b > s.layers,
      output: b > s.layers ? LAST_OUT : HIDDEN_OUT,
    });
  }
  const groupsText = JSON.stringify(info, null, 2) + '\n';
  writeFileSync(join(out, GROUPS_JSON), groupsText);
  const copied = o.copyTokenizer === false ? [] : copyEncoderFiles(dir, out);
  const sha = (text: string) => ({ bytes: Buffer.byteLength(text), sha256: createHashHex(text) });
  return {
    groupsJson: { name: GROUPS_JSON, ...sha(groupsText) },
    tableJson: { name: TABLE_JSON, ...sha(tableJsonText) },
    table: { name: t.info.file, bytes: t.bytes, sha256: t.sha256 },
    groups,
    copied,
    info,
  };
}

/** Copies the tokenizer, chat template and config files the source has into `out`; returns their names. */
export function copyEncoderFiles(dir: string, out: string): string[] {
  mkdirSync(out, { recursive: true });
  const copied: string[] = [];
  for (const f of COPIED) if (existsSync(join(dir, f))) {
    copyFileSync(join(dir, f), join(out, f));
    copied.push(f);
  }
  return copied;
}

/** The table that goes with a weight variant: int8 rows where the weights are integer, float16 elsewhere. */
export function defaultTable(q: QuantizeOption): TableDtype {
  return q === 'q4' || q === 'int8' ? 'int8' : 'float16';
}

function createHashHex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export type { TableInfo };
