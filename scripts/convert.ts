// `npm run convert -- --sd15 DIR --psa FILE [--profile-encoder DIR] [--quantize none,fp16,int8,q4] --out DIR`
// Turns a standard SD1.5 ONNX export + PSA's released adapter into a psa-web bundle (see scripts/convert/bundle.ts).
// Errors are one line: `convert: <what is wrong>`, exit code 1; nothing is left in --out.
import { convert, removeActiveTemp } from './convert/bundle';
import { ConvertError } from './convert/errors';
import { parseCli } from './lib/args';

const USAGE = `usage: npm run convert -- --sd15 DIR --psa FILE --out DIR [--profile-encoder DIR] [--quantize none,fp16,int8,q4|q4f16]
  [--graft auto|broadcast|attention] [--chunk-mb N] [--external-data] [--id ID] [--name NAME] [--json]
  [--encoder-group-mb N] [--encoder-groups N] [--encoder-table float16|float32|int8] [--encoder-quantize q4|q4f16|int8|fp16|none,…] [--encoder-model FILE]
  --sd15             Optimum/diffusers SD1.5 ONNX export (model_index.json, unet/, text_encoder/, vae_decoder/, tokenizer/, scheduler/)
  --psa              PSA's adapter: psa_adapter.bin (torch.save) or .safetensors (user_proj. / psa_adapter. keys)
  --profile-encoder  export of the profile LLM (Qwen2.5-7B-Instruct): Optimum feature-extraction, or a transformers.js /
                     Optimum causal-LM export with past (onnx/model.onnx, decoder_model_merged.onnx), cut into ≥ 3 layer
                     groups (files ≤ --encoder-group-mb, default 1024) + a CPU token-embedding table (--encoder-table)
  --encoder-model    the graph inside --profile-encoder to use (e.g. onnx/model_q4.onnx, already 4-bit: with
                     --encoder-quantize q4); default the first of onnx/model.onnx, model.onnx, onnx/decoder_model_merged.onnx
  --quantize         U-Net variants, comma list (default none = fp32): fp16 (needs shader-f16 on WebGPU), int8
                     (weight-only), q4 (MatMulNBits 4-bit + int8 convs, fp32 activations) or q4f16 (fp16 activations)
  --encoder-quantize profile encoder variants, same names (default int8: README says why; q4 ≈ 35 % smaller)
  --graft            broadcast (default: PSA's one-token user term as MatMul + broadcast Add) or attention (literal)
  --chunk-mb         largest external-data file for the U-Net (default 1024)`;

function main(): number {
  let values;
  try {
    ({ values } = parseCli(process.argv.slice(2), {
      sd15: { type: 'string' }, psa: { type: 'string' }, out: { type: 'string' }, 'profile-encoder': { type: 'string' },
      quantize: { type: 'string' }, graft: { type: 'string' }, 'chunk-mb': { type: 'string' }, 'external-data': { type: 'boolean' },
      'encoder-group-mb': { type: 'string' }, 'encoder-groups': { type: 'string' }, 'encoder-table': { type: 'string' }, 'encoder-quantize': { type: 'string' }, 'encoder-model': { type: 'string' },
      id: { type: 'string' }, name: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    }));
  } catch (e) {
    console.error(`convert: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  for (const k of ['sd15', 'psa', 'out'] as const) {
    if (!values[k]) {
      console.error(`convert: --${k} is required\n${USAGE}`);
      return 2;
    }
  }
  const graft = values.graft ?? 'auto';
  if (!['auto', 'broadcast', 'attention'].includes(graft)) {
    console.error(`convert: --graft must be auto, broadcast or attention`);
    return 2;
  }
  const chunkMb = values['chunk-mb'] ? Number(values['chunk-mb']) : 1024;
  if (!(chunkMb > 0)) {
    console.error('convert: --chunk-mb must be a positive number');
    return 2;
  }
  const groupMb = values['encoder-group-mb'] ? Number(values['encoder-group-mb']) : 1024;
  if (!(groupMb > 0 && groupMb <= 1024)) {
    console.error('convert: --encoder-group-mb must be a number in (0, 1024]');
    return 2;
  }
  const groups = values['encoder-groups'] ? Number(values['encoder-groups']) : undefined;
  if (groups !== undefined && !(Number.isInteger(groups) && groups >= 1)) {
    console.error('convert: --encoder-groups must be a positive integer');
    return 2;
  }
  const table = values['encoder-table']; // default: int8 rows with q4 / int8 weights, else float16
  if (table !== undefined && table !== 'float16' && table !== 'float32' && table !== 'int8') {
    console.error('convert: --encoder-table must be float16, float32 or int8');
    return 2;
  }
  const onSignal = () => {
    removeActiveTemp();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const t0 = Date.now();
    const r = convert({
      sd15: values.sd15!, psa: values.psa!, out: values.out!, profileEncoder: values['profile-encoder'], quantize: values.quantize,
      graft: graft as 'auto', chunkBytes: Math.floor(chunkMb * 2 ** 20), externalData: values['external-data'],
      encoderGroups: groups, encoderGroupBytes: Math.floor(groupMb * 2 ** 20), encoderTable: table, encoderQuantize: values['encoder-quantize'], encoderModel: values['encoder-model'], id: values.id, name: values.name,
      log: values.json ? undefined : (l) => console.log(l),
    });
    if (values.json) console.log(JSON.stringify({ dir: r.dir, checkpoint: r.checkpoint, graft: r.graft, files: r.files }, null, 2));
    else {
      console.log(`wrote ${r.dir} in ${((Date.now() - t0) / 1000).toFixed(1)} s (${r.graft.layers.length} PSA layers, ${r.graft.form}; adapter ${r.checkpoint.format} ${r.checkpoint.dtypes.join('/')}, E=${r.checkpoint.embeddingSize}, U=${r.checkpoint.userTokens})`);
      for (const f of r.files) console.log(`  ${f.path.padEnd(44)} ${String(f.bytes).padStart(12)}  ${f.sha256.slice(0, 16)}`);
    }
    return 0;
  } catch (e) {
    if (e instanceof ConvertError) {
      console.error(`convert: ${e.message}`);
      return 1;
    }
    console.error(`convert: unexpected failure: ${(e as Error).stack ?? e}`);
    return 1;
  }
}

process.exitCode = main();
