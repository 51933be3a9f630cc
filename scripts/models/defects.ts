// Deliberately broken models for tests of the contract check (`validateModelIO`): a renamed input
// (U-Net `encoder_hidden_states` → `text_embeds`; other roles: their first input gets a `_renamed` suffix) and a
// wrong declared rank (U-Net `sample` declared rank 3). Every one still loads in onnxruntime, so the check sees
// real session metadata. ("Missing file" is the loader's business, not built here.)
import type { ModelRole } from '../../src/shared/contract';
import { decodeModel, encodeModel } from './onnx-builder';
import { buildProfileEncoder } from './profile-encoder';
import { SAFETY_CHECKER_MODEL, safetyCheckerFiles } from './safety-checker';
import { profileVocabRows } from './profile-tokenizer';
import { buildTextEncoder } from './text-encoder';
import { buildUnet, type UnetDefect } from './unet';
import { buildUserProjection } from './user-projection';
import { buildVaeDecoder } from './vae';

export type ModelDefect = UnetDefect;

/** Renames graph input `from` to `to` everywhere it is used. */
export function renameInput(modelBytes: Uint8Array, from: string, to: string): Uint8Array {
  const m = decodeModel(modelBytes);
  const g = m.graph!;
  const input = g.input?.find((i) => i.name === from);
  if (!input) throw new Error(`model has no input ${from}`);
  input.name = to;
  for (const n of g.node ?? []) n.input = (n.input ?? []).map((i) => (i === from ? to : i));
  return encodeModel(m);
}

/** Model bytes of `role` with `defect`; the U-Net supports both defects, other roles only `renamed-input`. */
export function buildDefectiveModel(role: ModelRole, defect: ModelDefect): Uint8Array {
  if (role === 'unet') return buildUnet({ userTokens: 1, defect });
  if (defect !== 'renamed-input') throw new Error(`defect ${defect} is only built for the unet`);
  const bytes = {
    text_encoder: () => buildTextEncoder(),
    user_projection: () => buildUserProjection(),
    profile_encoder: () => buildProfileEncoder({ vocabSize: profileVocabRows() }),
    vae_decoder: () => buildVaeDecoder(),
    safety_checker: () => safetyCheckerFiles()[SAFETY_CHECKER_MODEL],
  }[role]();
  const first = decodeModel(bytes).graph!.input![0].name!;
  return renameInput(bytes, first, `${first}_renamed`);
}
