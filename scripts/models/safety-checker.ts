// The demo bundle's tiny SD1.5 safety checker: the committed fixture (fixtures/safety-checker), i.e. diffusers' own
// StableDiffusionSafetyChecker with a tiny CLIP vision tower, exported by torch.onnx exactly as diffusers' convert
// script / Optimum do (scripts/reference/safety_checker_fixture.py made it). Copied, not regenerated here: the point
// is that the demo runs the very graph the parity test pins to diffusers. Its thresholds were chosen for the
// fixture's images, so on the demo's abstract images it flags whatever it flags; tests pick `adjustment` instead.
// Its Q16 prompts (safety_checker/q16.json; Q16's own 768-d ones do not fit a 16-d tiny CLIP) are
// fixtures/q16/demo's, chosen by scripts/models/q16-demo-prompts.ts so that the demo's own abstract pictures pass
// (0 of 64 held-out pictures flagged): random prompts would blur about half of a child's demo pictures. Q16's parity
// is proved on fixtures/q16/tiny's prompts; tests that need a flag lower the request's threshold.
import { readFileSync } from 'node:fs';
import path from 'node:path';

const FIXTURE = path.resolve(import.meta.dirname, '..', '..', 'fixtures', 'safety-checker');
const Q16_DEMO = path.resolve(import.meta.dirname, '..', '..', 'fixtures', 'q16', 'demo', 'q16.json');

/** Bundle-relative path → bytes, in diffusers' layout (safety_checker/ + feature_extractor/). */
export function safetyCheckerFiles(): Record<string, Uint8Array> {
  const read = (f: string) => new Uint8Array(readFileSync(path.join(FIXTURE, f)));
  return {
    'safety_checker/model.onnx': read('model.onnx'),
    'safety_checker/config.json': read('config.json'),
    'feature_extractor/preprocessor_config.json': read('preprocessor_config.json'),
    'safety_checker/q16.json': new Uint8Array(readFileSync(Q16_DEMO)),
  };
}

export const SAFETY_CHECKER_MODEL = 'safety_checker/model.onnx';
