// Build step for the offline app shell: decides which built files the service worker (public/sw.js) precaches, gives
// that set a content version, and writes both into the built dist/sw.js (plus dist/sw-shell.json for people and
// tests to read). Writing the list into sw.js itself matters: the browser only installs a new worker when the bytes
// of sw.js change, so a build whose shell changed must produce a different sw.js, or the old shell stays cached.
//
// The shell is: index.html and every built file it reaches (chunks, CSS, the worker scripts, onnxruntime-web's
// .mjs/.wasm), not the test harness pages; plus the built-in demo bundle (its manifest and the files it lists),
// which the app runs when no bundle is stored and which must work offline too. Never a downloaded bundle: those
// live in OPFS.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Plugin } from 'vite';

/** The part of a Rollup output entry this step reads. */
export interface BuiltFile {
  type: 'chunk' | 'asset';
  fileName: string;
  /** Chunks: static and dynamic imports (file names). */
  imports?: string[];
  dynamicImports?: string[];
  code?: string;
  source?: string | Uint8Array;
}

export interface ShellList {
  /** Content hash of everything precached (and of the worker's own source): the cache is `psa-shell-<version>`. */
  version: string;
  /** Paths relative to the app's base URL; 'index.html' is fetched as the base URL itself. */
  files: string[];
}

const TEXT = /\.(html|m?js|css)$/;

/**
 * The built files the app page needs: everything reachable from `appEntry` by import edges or by file name. Worker
 * scripts and onnxruntime-web's .mjs/.wasm have no import edge (code names them in `new URL('…', import.meta.url)`),
 * so each reached text file is also searched for the other files' names — hashed, hence unambiguous. The test
 * harness pages and what only they use are left out. Order: as reached.
 */
export function shellFiles(bundle: Record<string, BuiltFile>, appEntry = 'index.html'): string[] {
  if (bundle[appEntry]?.type !== 'asset') throw new Error(`sw-shell: the build emitted no ${appEntry}`);
  const candidates = Object.keys(bundle).filter((f) => f.startsWith('assets/'));
  const textOf = (f: BuiltFile): string => {
    if (f.type === 'chunk') return f.code ?? '';
    if (!TEXT.test(f.fileName)) return '';
    return typeof f.source === 'string' ? f.source : new TextDecoder().decode(f.source);
  };
  const reached = [appEntry];
  const seen = new Set(reached);
  for (let i = 0; i < reached.length; i++) {
    const file = bundle[reached[i]];
    const text = textOf(file);
    const named = candidates.filter((c) => text.includes(path.posix.basename(c)));
    for (const next of [...(file.imports ?? []), ...(file.dynamicImports ?? []), ...named]) {
      if (!seen.has(next) && bundle[next]) {
        seen.add(next);
        reached.push(next);
      }
    }
  }
  return reached;
}

/** The demo bundle's files (its manifest and every file it lists), relative to the base URL; [] without a demo. */
export function demoFiles(publicDir: string, dir = 'models/demo'): string[] {
  const manifestPath = path.join(publicDir, dir, 'manifest.json');
  if (!existsSync(manifestPath)) return [];
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { files?: { path: string }[] };
  if (!Array.isArray(manifest.files)) throw new Error(`sw-shell: ${manifestPath} has no "files" list`);
  for (const f of manifest.files) {
    if (!existsSync(path.join(publicDir, dir, f.path))) throw new Error(`sw-shell: ${dir}/${f.path}, listed in its manifest, is missing`);
  }
  return [`${dir}/manifest.json`, ...manifest.files.map((f) => `${dir}/${f.path}`)];
}

/** Hash of the listed files' bytes (in list order) and of the worker source: any change gives a new version. */
export function shellVersion(files: string[], bytesOf: (file: string) => string | Uint8Array, workerSource: string): string {
  const h = createHash('sha256').update(workerSource);
  for (const f of files) h.update(`\0${f}\0`).update(bytesOf(f));
  return h.digest('hex').slice(0, 16);
}

/** The placeholder in public/sw.js the build replaces with the shell list. */
export const PLACEHOLDER = '/*__PSA_SHELL__*/ null';

export function injectShell(workerSource: string, shell: ShellList): string {
  const at = workerSource.indexOf(PLACEHOLDER);
  if (at < 0 || workerSource.indexOf(PLACEHOLDER, at + 1) >= 0) throw new Error(`sw-shell: public/sw.js must contain ${PLACEHOLDER} exactly once`);
  return workerSource.slice(0, at) + JSON.stringify(shell) + workerSource.slice(at + PLACEHOLDER.length);
}

/** Vite plugin: emits dist/sw.js (public/sw.js with the shell list written in) and dist/sw-shell.json. */
export function swShell(): Plugin {
  let publicDir = '';
  return {
    name: 'psa-sw-shell',
    apply: 'build',
    configResolved(config) {
      publicDir = config.publicDir;
    },
    // 'post': Vite emits index.html in its own generateBundle; this one must see it.
    generateBundle: { order: 'post', handler(_options, bundle) {
      const built = bundle as unknown as Record<string, BuiltFile>;
      const workerSource = readFileSync(path.join(publicDir, 'sw.js'), 'utf8');
      const fromBuild = shellFiles(built);
      const demo = demoFiles(publicDir);
      const files = [...fromBuild, ...demo];
      const bytesOf = (f: string) => {
        const b = built[f];
        if (b) return b.type === 'chunk' ? b.code ?? '' : b.source ?? '';
        return readFileSync(path.join(publicDir, f));
      };
      const shell: ShellList = { version: shellVersion(files, bytesOf, workerSource), files };
      // Emitted after Vite copied public/ into the output folder, so this sw.js replaces the unbuilt copy.
      this.emitFile({ type: 'asset', fileName: 'sw.js', source: injectShell(workerSource, shell) });
      this.emitFile({ type: 'asset', fileName: 'sw-shell.json', source: JSON.stringify(shell, null, 1) });
    } },
  };
}
