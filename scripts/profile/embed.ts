// `npm run profile -- embed --encoder DIR --profile FILE.json|PRESET --out FILE.npy [--bundle DIR --tokens FILE.npy]`:
// a profile's PSA user embedding on Node, with the engine's own embedding code (src/engine/embedding) under
// onnxruntime-node. The profile JSON uses PSA's users.csv field names; the category lists come from the JSON when it
// names them (the parent's explicit lists), else from the policy (src/safety/policy). The text is the bundle's
// embedding template (--bundle) or PSA's own get_embeds.txt, rendered as get_embeds.py did. Also the helpers
// `npm run generate -- --profile` uses. Usage errors: one line, exit 2; failures: one line, exit 1.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AGE_GROUPS, CATEGORIES, PROFILE_PRESETS, type Category, type Policy, type Profile, type ProfilePreset, type PsaFields } from '../../src/shared/profile';
import { toErrorInfo } from '../../src/shared/errors';
import { PSA_EMBEDDING_TEMPLATE, renderEmbeddingText } from '../../src/safety/embedding-text';
import { computePolicy } from '../../src/safety/policy';
import { ADULT_AGE, ageGroupOf, createProfile, profileToPsaFields } from '../../src/safety/profile';
import { resolveBundle } from '../../src/engine/bundle-resolve';
import { embeddingTemplateOf } from '../../src/engine/embedding/bundle-encoder';
import { computeEmbedding } from '../../src/engine/embedding/compute';
import { bundleEncoder, folderEncoder } from '../../src/engine/embedding/encoder-source';
import { nodeRuntime } from '../../src/engine/node-host';
import { fsReader } from '../../src/engine/node-reader';
import { createSession } from '../../src/engine/sessions';
import { parseCli, UsageError } from '../lib/args';
import { writeNpy } from '../lib/npy';

const USAGE = 'usage: npm run profile -- embed --encoder DIR --profile FILE.json|PRESET --out FILE.npy [--bundle DIR --tokens FILE.npy] [--json]';

// UsageError is the shared one (scripts/lib/args.ts), re-exported for callers of this module.
export { UsageError };

/**
 * A profile for the CLIs: a label for people, the PSA fields that fill the embedding template, and the profile and
 * policy the app's safety flow (prompt guard, steering, image stage) judges with.
 */
export interface ProfileInput {
  label: string;
  fields: PsaFields;
  profile: Profile;
  policy: Policy;
}

const PSA_KEYS = ['Age', 'Age_Group', 'Gender', 'Religion', 'Physical_Condition', 'Mental_Condition', 'Banned_Categories', 'Allowed_Categories', 'User_ID', 'name'];

function categoryList(v: unknown, key: string, file: string): Category[] {
  if (!Array.isArray(v) || v.some((x) => !(CATEGORIES as readonly string[]).includes(x))) {
    throw new UsageError(`${file}: ${key} must be a list of PSA categories (${CATEGORIES.join(', ')})`);
  }
  return [...new Set(v as Category[])];
}

/** PSA-named JSON → fields; lists from the JSON when given (a missing one is the complement), else from the policy. */
export function fieldsFromPsaJson(o: unknown, file: string): PsaFields {
  return profileFromPsaJson(o, file).fields;
}

/**
 * PSA-named JSON → its fields and the profile the app would hold for that person: the JSON's explicit lists become
 * the parent's choices and, as for a new profile in the app, a minor is protected with child-style wording.
 */
function profileFromPsaJson(o: unknown, file: string): { fields: PsaFields; profile: Profile } {
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new UsageError(`${file} must hold a JSON object with PSA's fields (${PSA_KEYS.slice(0, 6).join(', ')})`);
  const j = o as Record<string, unknown>;
  const unknownKeys = Object.keys(j).filter((k) => !PSA_KEYS.includes(k));
  if (unknownKeys.length) throw new UsageError(`${file}: unknown field(s) ${unknownKeys.join(', ')}; PSA's fields are ${PSA_KEYS.slice(0, 8).join(', ')}`);
  const age = typeof j.Age === 'string' && j.Age.trim() !== '' ? Number(j.Age) : j.Age;
  if (typeof age !== 'number' || !Number.isInteger(age)) throw new UsageError(`${file}: Age must be a whole number of years`);
  let group: string;
  try {
    group = ageGroupOf(age);
  } catch (e) {
    throw new UsageError(`${file}: ${(e as Error).message}`);
  }
  if (j.Age_Group !== undefined && j.Age_Group !== group) {
    const known = AGE_GROUPS.map((g) => g.name) as string[];
    throw new UsageError(`${file}: Age_Group "${String(j.Age_Group)}" does not fit Age ${age} (PSA's band is "${group}"${known.includes(String(j.Age_Group)) ? '' : `; groups: ${known.join(', ')}`})`);
  }
  const str = (k: string): string => {
    const v = j[k];
    // pandas reads PSA's "None" as missing; accept that reading (null / "nan") as "None" too.
    if (k === 'Religion' && (v === null || v === 'nan')) return 'None';
    if (typeof v !== 'string' || !v) throw new UsageError(`${file}: ${k} is required (a string in PSA's vocabulary)`);
    return v;
  };
  const profile: Profile = {
    id: 'cli', name: 'cli', age, gender: str('Gender') as Profile['gender'], religion: str('Religion') as Profile['religion'],
    physical: str('Physical_Condition') as Profile['physical'], mental: str('Mental_Condition') as Profile['mental'],
    choices: {}, customWords: [], explanationStyle: age < ADULT_AGE ? 'child' : 'adult', protected: age < ADULT_AGE, createdAt: 0, updatedAt: 0,
  };
  const hasBanned = j.Banned_Categories !== undefined, hasAllowed = j.Allowed_Categories !== undefined;
  let banned: Category[], allowed: Category[];
  if (hasBanned || hasAllowed) {
    banned = hasBanned ? categoryList(j.Banned_Categories, 'Banned_Categories', file) : [];
    allowed = hasAllowed ? categoryList(j.Allowed_Categories, 'Allowed_Categories', file) : [];
    if (!hasBanned) banned = CATEGORIES.filter((c) => !allowed.includes(c));
    if (!hasAllowed) allowed = CATEGORIES.filter((c) => !banned.includes(c));
    const both = banned.filter((c) => allowed.includes(c));
    if (both.length) throw new UsageError(`${file}: ${both.join(', ')} cannot be both banned and allowed`);
    profile.choices = Object.fromEntries([...banned.map((c) => [c, 'ban']), ...allowed.map((c) => [c, 'allow'])]);
  } else {
    let policy;
    try {
      policy = computePolicy(profile);
    } catch (e) {
      throw new UsageError(`${file}: ${(e as Error).message}`);
    }
    ({ banned, allowed } = policy);
  }
  const fields = {
    Age: age, Age_Group: group, Gender: profile.gender, Religion: profile.religion,
    Physical_Condition: profile.physical, Mental_Condition: profile.mental, Banned_Categories: banned, Allowed_Categories: allowed,
  };
  return { fields, profile };
}

/** `--profile` value: a preset name, or a JSON file with PSA's field names. */
export async function profileFromArg(arg: string): Promise<ProfileInput> {
  if ((PROFILE_PRESETS as readonly string[]).includes(arg)) {
    const p = createProfile(arg as ProfilePreset, { id: arg, name: arg, now: 0 });
    const policy = computePolicy(p);
    return { label: arg, fields: profileToPsaFields(p, policy), profile: p, policy };
  }
  let text: string;
  try {
    text = await fs.readFile(arg, 'utf8');
  } catch {
    throw new UsageError(`--profile "${arg}" is neither a preset (${PROFILE_PRESETS.join(', ')}) nor a readable JSON file`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${arg} is not valid JSON (${(e as Error).message})`);
  }
  const { fields, profile } = profileFromPsaJson(json, arg);
  const name = (json as { name?: unknown; User_ID?: unknown }).name ?? (json as { User_ID?: unknown }).User_ID;
  const label = name !== undefined ? String(name) : path.basename(arg, '.json');
  // The JSON's lists are the parent's choices; the policy adds only the floor no choice can lower (Sexuality < 18).
  return { label, fields, profile: { ...profile, id: label, name: label }, policy: computePolicy(profile) };
}

export function describeFields(f: PsaFields): string {
  return `age ${f.Age} (${f.Age_Group}), ${f.Gender}, religion ${f.Religion}, ${f.Physical_Condition}, ${f.Mental_Condition}; banned [${f.Banned_Categories.join(', ')}]`;
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** The projected user token(s) [U, D] of an embedding, with the bundle's user_projection. */
async function projectTokens(bundleDir: string, embedding: Float32Array): Promise<{ shape: number[]; data: Float32Array }> {
  const reader = fsReader(bundleDir);
  const bundle = await resolveBundle(reader);
  const file = bundle.files.user_projection?.fp32 ?? Object.values(bundle.files.user_projection ?? {})[0];
  if (!file) throw new Error(`the bundle at ${bundleDir} has no user_projection; --tokens needs a PSA bundle`);
  const rt = nodeRuntime();
  const s = await createSession(rt, await reader.bytes(file.path), { file: file.path, role: 'user_projection' });
  try {
    const out = await s.run({ user_embeds: new rt.ort.Tensor('float32', embedding, [1, embedding.length]) });
    const t = out.user_tokens;
    return { shape: t.dims.slice(1) as number[], data: Float32Array.from(t.data as Float32Array) };
  } catch (e) {
    throw new Error(`projecting the embedding with ${file.path} failed: ${(e as Error).message.split('\n')[0]}`);
  } finally {
    await s.release();
  }
}

export async function runEmbed(argv: string[]): Promise<number> {
  try {
    return await embedMain(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`embed: ${e.message}`);
      return 2;
    }
    const info = toErrorInfo(e);
    console.error(`embed: ${info.code === 'INTERNAL' ? '' : `${info.code}: `}${info.message.split('\n')[0]}`);
    return 1;
  }
}

async function embedMain(argv: string[]): Promise<number> {
  const { values } = parseCli(argv, {
    encoder: { type: 'string' }, profile: { type: 'string' }, out: { type: 'string' }, bundle: { type: 'string' },
    tokens: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.encoder && !values.bundle) throw new UsageError('--encoder DIR is required (or --bundle DIR to use its profile encoder)');
  if (!values.profile) throw new UsageError(`--profile FILE.json or a preset (${PROFILE_PRESETS.join(', ')}) is required`);
  if (!values.out) throw new UsageError('--out FILE.npy is required');
  if (values.tokens && !values.bundle) throw new UsageError('--tokens needs --bundle DIR (the user projection lives in the bundle)');
  for (const [flag, dir] of [['--encoder', values.encoder], ['--bundle', values.bundle]] as const) {
    if (dir && !(await isDir(dir))) throw new UsageError(`${flag} folder not found: ${path.resolve(dir)}`);
  }
  const profile = await profileFromArg(values.profile);

  let template = PSA_EMBEDDING_TEMPLATE;
  let bundleSource;
  if (values.bundle) {
    const reader = fsReader(values.bundle);
    const bundle = await resolveBundle(reader);
    template = await embeddingTemplateOf(reader, bundle);
    bundleSource = bundleEncoder(reader, bundle, 'cpu', false);
    if (!values.encoder && !bundleSource) throw new UsageError(`the bundle at ${path.resolve(values.bundle)} has no profile encoder; give --encoder DIR`);
  }
  const source = values.encoder ? await folderEncoder(fsReader(values.encoder)) : bundleSource!;
  const text = renderEmbeddingText(template, profile.fields);
  const result = await computeEmbedding(nodeRuntime(), source, text);

  await fs.mkdir(path.dirname(path.resolve(values.out)), { recursive: true });
  await fs.writeFile(values.out, writeNpy({ shape: [result.embedding.length], data: result.embedding }));
  let tokenShape: number[] | undefined;
  if (values.tokens) {
    const t = await projectTokens(values.bundle!, result.embedding);
    tokenShape = t.shape;
    await fs.mkdir(path.dirname(path.resolve(values.tokens)), { recursive: true });
    await fs.writeFile(values.tokens, writeNpy(t));
  }
  const summary = {
    out: values.out, profile: profile.label, fields: profile.fields, embeddingSize: result.embedding.length, tokens: result.tokens,
    encoderId: result.encoderId, ms: Math.round(result.ms), ...(tokenShape ? { userTokens: values.tokens, userTokensShape: tokenShape } : {}),
  };
  if (values.json) console.log(JSON.stringify(summary));
  else {
    console.log(`wrote ${values.out}: embedding [${result.embedding.length}] for profile "${profile.label}" (${describeFields(profile.fields)}), ${result.tokens} tokens, ${Math.round(result.ms)} ms`);
    if (tokenShape) console.log(`wrote ${values.tokens}: user tokens [${tokenShape.join(', ')}]`);
  }
  return 0;
}
