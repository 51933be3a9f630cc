// Test helper: the demo bundles, built by the project's own generator when they are not there yet
// (`npm test` builds them first; a lone `npx vitest` run builds them here).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { buildBundles } from '../../scripts/models/bundle';

export const MODELS_DIR = path.resolve(import.meta.dirname, '..', '..', 'public', 'models');
export const DEMO = path.join(MODELS_DIR, 'demo');
export const DEMO_PLAIN = path.join(MODELS_DIR, 'demo-plain');
export const PARITY = path.resolve(import.meta.dirname, '..', '..', 'fixtures', 'parity');

let built: Promise<void> | undefined;
export function ensureDemoBundles(): Promise<void> {
  built ??= (async () => {
    if (!existsSync(path.join(DEMO, 'manifest.json')) || !existsSync(path.join(DEMO_PLAIN, 'manifest.json'))) {
      buildBundles({ outDir: MODELS_DIR });
    }
  })();
  return built;
}
