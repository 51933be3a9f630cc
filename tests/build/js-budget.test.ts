// The first-screen JavaScript budget (scripts/build/js-budget.ts) on a small built folder shaped like psa-web's:
// what counts (entry, modulepreload, static imports followed transitively, workers and their imports, the service
// worker), what does not (dynamic imports, files only named in code, harness pages), and the verdict at the edge.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { dynamicImports, measureBudget, staticImports, workerUrls } from '../../scripts/build/js-budget';

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

/** Writes files under a fresh dist/ and returns its path. */
function dist(files: Record<string, string>): string {
  const d = mkdtempSync(path.join(tmpdir(), 'js-budget-'));
  dirs.push(d);
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(d, f)), { recursive: true });
    writeFileSync(path.join(d, f), text);
  }
  return d;
}

/** Pseudo-random text that gzip cannot shrink much, so sizes differ per file. */
const noise = (n: number, seed: number) => {
  let x = seed;
  return Array.from({ length: n }, () => ((x = (x * 1103515245 + 12345) >>> 0), String.fromCharCode(33 + (x % 90)))).join('');
};

const app = () => ({
  'index.html': '<script type="module" crossorigin src="/assets/main-A1.js"></script><link rel="modulepreload" crossorigin href="/assets/pre-P1.js">',
  'harness.html': '<script type="module" src="/assets/harness-H1.js"></script>',
  'assets/main-A1.js': `import{a as b}from"./shared-S1.js";import"./side-E1.js";const w=new Worker(new URL(\`/assets/worker-W1.js\`,\`\`+import.meta.url));navigator.serviceWorker.register(u);const l=()=>import(\`./lazy-L1.js\`);const doc="e.g. import(\`./MyComponent\`)";/*${noise(400, 1)}*/`,
  'assets/pre-P1.js': `export const p=1;/*${noise(300, 2)}*/`,
  'assets/shared-S1.js': `export const a="import\\"./not-an-import.js\\"";/*${noise(200, 3)}*/`,
  'assets/side-E1.js': `console.log(1);/*${noise(100, 4)}*/`,
  'assets/worker-W1.js': `import"./worker-dep-D1.js";const u=new URL(\`ort-O1.mjs\`,import.meta.url);import(\`./tf-T1.js\`);/*${noise(500, 5)}*/`,
  'assets/worker-dep-D1.js': `export const d=1;/*${noise(150, 6)}*/`,
  'assets/lazy-L1.js': `import"./lazy-dep-LD1.js";/*${noise(900, 7)}*/`,
  'assets/lazy-dep-LD1.js': `/*${noise(100, 8)}*/`,
  'assets/tf-T1.js': `/*${noise(2000, 9)}*/`,
  'assets/ort-O1.mjs': `/*${noise(700, 10)}*/`,
  'assets/harness-H1.js': `/*${noise(5000, 11)}*/`,
  'sw.js': `self.addEventListener("fetch",()=>{});/*${noise(120, 12)}*/`,
});

describe('scanning a built chunk', () => {
  it('reads the import declarations at the head only, never text inside the code', () => {
    expect(staticImports('/*! x */import{a as b,c}from"./a.js";import*as n from"./b.js";import"./c.js";const s="import\\"./d.js\\"";import("./e.js")')).toEqual(['./a.js', './b.js', './c.js']);
    expect(staticImports('const x=1;import"./late.js"')).toEqual([]);
  });
  it('finds dynamic imports and worker URLs with any quote', () => {
    expect(dynamicImports('a=import(`./x.js`),b=import("./y.js"),c=import(v)')).toEqual(['./x.js', './y.js']);
    expect(workerUrls('new Worker(new URL(`/assets/w.js`,``+import.meta.url),{type:`module`});new SharedWorker(new URL("s.js",import.meta.url))')).toEqual(['/assets/w.js', 's.js']);
  });
});

describe('measureBudget', () => {
  it('counts the entry, modulepreloads, static imports, workers with their imports and the service worker — gzip, one by one', () => {
    const files = app();
    const r = measureBudget(dist(files), 1e9);
    const counted = r.first.map((f) => `${f.role}:${f.file}`).sort();
    expect(counted).toEqual([
      'entry:assets/main-A1.js', 'modulepreload:assets/pre-P1.js', 'service worker:sw.js', 'static import:assets/shared-S1.js',
      'static import:assets/side-E1.js', 'static import:assets/worker-dep-D1.js', 'worker:assets/worker-W1.js',
    ].sort());
    for (const f of r.first) expect(f.gzipBytes).toBe(gzipSync(Buffer.from(files[f.file as keyof typeof files])).length);
    expect(r.total).toBe(r.first.reduce((n, f) => n + f.gzipBytes, 0));
    // On demand: the lazy chunk and its import, the worker's dynamic import, and ORT's .mjs named in the worker.
    expect(r.later.map((f) => `${f.role}:${f.file}`).sort()).toEqual(
      ['dynamic import:assets/lazy-L1.js', 'dynamic import:assets/lazy-dep-LD1.js', 'dynamic import:assets/tf-T1.js', 'named in code:assets/ort-O1.mjs'].sort(),
    );
    // The harness page's script is neither counted nor listed.
    expect([...r.first, ...r.later].some((f) => f.file.includes('harness'))).toBe(false);
  });

  it('passes at the budget and fails one byte under it', () => {
    const d = dist(app());
    const total = measureBudget(d, 1e9).total;
    expect(measureBudget(d, total).pass).toBe(true);
    expect(measureBudget(d, total - 1).pass).toBe(false);
  });

  it('says what is missing: no index.html, or a referenced chunk that is not there', () => {
    expect(() => measureBudget(dist({ 'x.txt': '' }))).toThrow(/index\.html is missing; run `npm run build`/);
    const files: Record<string, string> = app();
    delete files['assets/shared-S1.js'];
    expect(() => measureBudget(dist(files))).toThrow(/assets\/shared-S1\.js, referenced by the build, is not in/);
  });
});
