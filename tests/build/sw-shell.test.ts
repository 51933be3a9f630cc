// The build step that lists the offline shell (scripts/build/sw-shell.ts): what is reached from the app page, what is
// left out (harness pages and what only they use), the demo bundle's files, the version, and the injection into sw.js.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PLACEHOLDER, demoFiles, injectShell, shellFiles, shellVersion, type BuiltFile } from '../../scripts/build/sw-shell';

const chunk = (fileName: string, code: string, imports: string[] = [], dynamicImports: string[] = []): BuiltFile => ({ type: 'chunk', fileName, code, imports, dynamicImports });
const asset = (fileName: string, source: string | Uint8Array): BuiltFile => ({ type: 'asset', fileName, source });

/** A build shaped like psa-web's: app page, a harness page, a worker naming ORT's files, a lazily imported chunk. */
function build(): Record<string, BuiltFile> {
  const files = [
    asset('index.html', '<script type="module" src="/assets/main-AAAA1111.js"></script><link href="/assets/main-CCCC3333.css">'),
    asset('harness.html', '<script type="module" src="/assets/harness-HHHH0000.js"></script>'),
    chunk('assets/main-AAAA1111.js', 'import "./client-BBBB2222.js"; import("./lazy-LLLL4444.js")', ['assets/client-BBBB2222.js'], ['assets/lazy-LLLL4444.js']),
    chunk('assets/client-BBBB2222.js', 'new Worker(new URL("worker-WWWW5555.js", import.meta.url), { type: "module" })'),
    chunk('assets/lazy-LLLL4444.js', 'export const x = 1'),
    chunk('assets/harness-HHHH0000.js', 'import "./client-BBBB2222.js"; new URL("only-harness-XXXX9999.wasm", import.meta.url)', ['assets/client-BBBB2222.js']),
    asset('assets/main-CCCC3333.css', 'body{}'),
    asset('assets/worker-WWWW5555.js', new TextEncoder().encode('new URL("ort-wasm-OOOO6666.mjs", import.meta.url); new URL("ort-wasm-PPPP7777.wasm", import.meta.url)')),
    asset('assets/ort-wasm-OOOO6666.mjs', 'export default 1'),
    asset('assets/ort-wasm-PPPP7777.wasm', new Uint8Array([0, 97, 115, 109])),
    asset('assets/only-harness-XXXX9999.wasm', new Uint8Array([0, 97, 115, 109])),
  ];
  return Object.fromEntries(files.map((f) => [f.fileName, f]));
}

describe('shellFiles', () => {
  it('lists the app page and everything it reaches by import or by name (workers, ORT files), not the harness', () => {
    const files = shellFiles(build());
    expect(files[0]).toBe('index.html');
    expect([...files].sort()).toEqual([
      'assets/client-BBBB2222.js',
      'assets/lazy-LLLL4444.js',
      'assets/main-AAAA1111.js',
      'assets/main-CCCC3333.css',
      'assets/ort-wasm-OOOO6666.mjs',
      'assets/ort-wasm-PPPP7777.wasm',
      'assets/worker-WWWW5555.js',
      'index.html',
    ]);
  });

  it('refuses a build without the app page', () => {
    const b = build();
    delete b['index.html'];
    expect(() => shellFiles(b)).toThrow('sw-shell: the build emitted no index.html');
  });
});

describe('demoFiles', () => {
  let dir = '';
  afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));
  const demo = (files: string[], onDisk = files) => {
    dir = mkdtempSync(path.join(tmpdir(), 'sw-shell-'));
    mkdirSync(path.join(dir, 'models', 'demo', 'unet'), { recursive: true });
    writeFileSync(path.join(dir, 'models', 'demo', 'manifest.json'), JSON.stringify({ files: files.map((p) => ({ path: p })) }));
    for (const f of onDisk) writeFileSync(path.join(dir, 'models', 'demo', f), 'x');
    return dir;
  };

  it('lists the manifest and every file it names', () => {
    expect(demoFiles(demo(['unet/model.onnx', 'unet/config.json']))).toEqual(['models/demo/manifest.json', 'models/demo/unet/model.onnx', 'models/demo/unet/config.json']);
  });
  it('is empty when the demo bundle was not built', () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sw-shell-'));
    expect(demoFiles(dir)).toEqual([]);
  });
  it('names a listed file that is missing', () => {
    expect(() => demoFiles(demo(['unet/model.onnx', 'unet/config.json'], ['unet/config.json']))).toThrow('models/demo/unet/model.onnx, listed in its manifest, is missing');
  });
});

describe('shellVersion', () => {
  const bytes: Record<string, string> = { 'index.html': '<html>', 'assets/a.js': 'a' };
  const v = (b = bytes, worker = 'sw') => shellVersion(Object.keys(b), (f) => b[f], worker);
  it('is stable for the same shell and changes with any file byte, a file name, or the worker source', () => {
    expect(v()).toBe(v());
    expect(v()).toMatch(/^[0-9a-f]{16}$/);
    expect(v({ ...bytes, 'assets/a.js': 'b' })).not.toBe(v());
    expect(v({ 'index.html': '<html>', 'assets/b.js': 'a' })).not.toBe(v());
    expect(v(bytes, 'sw2')).not.toBe(v());
  });
});

describe('injectShell', () => {
  it('writes the list in place of the placeholder, so the worker bytes change with the version', () => {
    const src = `const SHELL = ${PLACEHOLDER};\nconst X = 1;`;
    const out = injectShell(src, { version: 'abc', files: ['index.html'] });
    expect(out).toBe('const SHELL = {"version":"abc","files":["index.html"]};\nconst X = 1;');
    expect(injectShell(src, { version: 'abd', files: ['index.html'] })).not.toBe(out);
  });
  it('refuses a worker source without exactly one placeholder', () => {
    expect(() => injectShell('const SHELL = null;', { version: 'a', files: [] })).toThrow('exactly once');
    expect(() => injectShell(`${PLACEHOLDER} ${PLACEHOLDER}`, { version: 'a', files: [] })).toThrow('exactly once');
  });
});
