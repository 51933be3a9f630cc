// Regenerates fixtures/encoder-groups/: the committed tiny Qwen2 fixture (fixtures/profile-encoder/) converted into
// layer groups exactly as `npm run convert -- --profile-encoder … --encoder-group-mb 0.019 --encoder-table float32`
// would (3 groups: layers.0 | layers.1 | final norm; external files ≤ 20 000 bytes; an fp32 table so the browser
// test can hold the result to transformers' fp32 reference at 1e-4). Served to Chromium at /__fixtures/encoder-groups/
// by e2e/encoder-groups.spec.ts, which first checks this copy still equals a fresh conversion.
//   npx tsx scripts/convert/encoder/fixture.ts [OUT]
import { rmSync } from 'node:fs';
import path from 'node:path';
import { writeLayerGroups } from './index';

export const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
export const FIXTURE_OPTIONS = { groupBytes: 20_000, tableDtype: 'float32' as const };

export function writeGroupsFixture(out: string): void {
  rmSync(out, { recursive: true, force: true });
  writeLayerGroups(path.join(ROOT, 'fixtures', 'profile-encoder'), out, FIXTURE_OPTIONS);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const out = path.resolve(process.argv[2] ?? path.join(ROOT, 'fixtures', 'encoder-groups'));
  writeGroupsFixture(out);
  console.log(`wrote ${out}`);
}
