// The demo bundles for the Node tools (CLI, bench): where they live and building them on first use, so that
// `npm run generate` works on a fresh clone without `npm start` first (building takes about a second).
// PSA_MODELS_DIR moves the folder (tests build into a temporary one instead of touching public/models).
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { buildBundles, BUNDLE_NAMES } from '../models/bundle';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** Parent folder of `demo/` and `demo-plain/`: $PSA_MODELS_DIR, else public/models (what the app serves). */
export function modelsDir(): string {
  return path.resolve(process.env.PSA_MODELS_DIR || path.join(ROOT, 'public', 'models'));
}

const complete = (dir: string, name: string) => existsSync(path.join(dir, name, 'manifest.json'));

/**
 * Builds the demo bundles into modelsDir() when one is missing; true when it built. Each bundle is written to a
 * temporary folder first and renamed into place, so a concurrent run never reads a half-written bundle.
 */
export function ensureDemoBundles(log: (line: string) => void = () => undefined): boolean {
  const dir = modelsDir();
  if (BUNDLE_NAMES.every((n) => complete(dir, n))) return false;
  const t0 = performance.now();
  log(`building the demo bundles in ${path.relative(process.cwd(), dir) || '.'} (first use) …`);
  mkdirSync(dir, { recursive: true });
  const tmp = mkdtempSync(path.join(dir, '.building-'));
  try {
    buildBundles({ outDir: tmp });
    for (const name of BUNDLE_NAMES) {
      if (complete(dir, name)) continue; // another run finished first
      rmSync(path.join(dir, name), { recursive: true, force: true }); // a partial folder from an interrupted build
      try {
        renameSync(path.join(tmp, name), path.join(dir, name));
      } catch (e) {
        if (!complete(dir, name)) throw e; // else: another run put its copy there between the check and here
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  log(`built the demo bundles in ${Math.round(performance.now() - t0)} ms`);
  return true;
}
