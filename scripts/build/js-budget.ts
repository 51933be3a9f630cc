// The app's JavaScript budget: what the first screen loads must stay ≤ 250 kB gzip. Read from a build (dist/), not
// from the sources, because what counts is what the browser downloads:
// - index.html's entry scripts and its <link rel="modulepreload"> files,
// - every chunk those import statically (import declarations at the top of each chunk, followed transitively),
// - the workers the app can start without a click (every `new Worker(new URL(…))` in that code, each with its own
//   static imports) and the offline service worker it registers (dist/sw.js),
// gzip-compressed one by one as a server would send them. Chunks reached only by a dynamic import(), and
// onnxruntime-web's .mjs/.wasm (named in code, fetched when a model loads), are listed apart and not counted: they
// load on demand (transformers.js when a tokenizer is first built, screens loaded with React.lazy).
// `npx tsx scripts/build/js-budget.ts [DIST] [--budget BYTES]` prints the table and exits 1 over the budget; npm test
// runs it after its build (tools/test-all.mjs), and `npm run bench` records the total.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** 250 kB, in bytes (kB = 1000 bytes, as the issue states it). */
export const JS_BUDGET_BYTES = 250_000;

export type Role = 'entry' | 'modulepreload' | 'static import' | 'worker' | 'service worker' | 'dynamic import' | 'named in code';

export interface BudgetFile {
  /** Path relative to dist/, e.g. assets/main-abc.js. */
  file: string;
  role: Role;
  /** The file that reached it (undefined for index.html's own). */
  from?: string;
  bytes: number;
  gzipBytes: number;
}

export interface BudgetReport {
  dist: string;
  budget: number;
  /** What the first screen loads (counted). */
  first: BudgetFile[];
  /** Reached only by dynamic import() from the counted files (listed, not counted). */
  later: BudgetFile[];
  total: number;
  pass: boolean;
}

/** `src`/`href` of index.html's module scripts and modulepreload links ("/assets/x.js" → "assets/x.js"). */
export function htmlScripts(html: string): { file: string; role: 'entry' | 'modulepreload' }[] {
  const out: { file: string; role: 'entry' | 'modulepreload' }[] = [];
  const attr = (tag: string, name: string) => new RegExp(`\\s${name}\\s*=\\s*["']([^"']+)["']`, 'i').exec(tag)?.[1];
  for (const tag of html.match(/<script\b[^>]*>/gi) ?? []) {
    const src = attr(tag, 'src');
    if (src && /type\s*=\s*["']module["']/i.test(tag)) out.push({ file: src.replace(/^\.?\//, ''), role: 'entry' });
  }
  for (const tag of html.match(/<link\b[^>]*>/gi) ?? []) {
    const href = attr(tag, 'href');
    if (href && /rel\s*=\s*["']modulepreload["']/i.test(tag)) out.push({ file: href.replace(/^\.?\//, ''), role: 'modulepreload' });
  }
  return out;
}

/**
 * Module specifiers of the import declarations at the head of a built chunk. Bundlers hoist every static import to
 * the top, so reading only the leading run of `import …from"…"` / `import"…"` statements (comments skipped) finds
 * them all and cannot mistake text inside the code for an import.
 */
export function staticImports(code: string): string[] {
  const out: string[] = [];
  const head = /\s*(?:\/\/[^\n]*\n|\/\*[\s\S]*?\*\/|"use strict";|import\s*(?:[\w$*{},\s]+?\s*from\s*)?(["'])([^"']+)\1\s*;?)/y;
  let m: RegExpExecArray | null;
  while ((m = head.exec(code)) && m[0].length) if (m[2]) out.push(m[2]);
  return out;
}

/** Specifiers of dynamic `import("…")` calls with a literal argument (quotes or backticks). */
export function dynamicImports(code: string): string[] {
  return [...code.matchAll(/\bimport\(\s*(["'`])([^"'`$]+)\1\s*\)/g)].map((m) => m[2]);
}

/** Script URLs of `new Worker(new URL("…", import.meta.url))` (and SharedWorker) in a built chunk. */
export function workerUrls(code: string): string[] {
  return [...code.matchAll(/new\s+(?:Shared)?Worker\(\s*new\s+URL\(\s*(["'`])([^"'`]+)\1/g)].map((m) => m[2]);
}

/** Whether the code registers a service worker. */
const registersServiceWorker = (code: string) => /serviceWorker\.register\(/.test(code);

/** A specifier seen in `fromFile` → a path relative to dist ("/assets/x.js" is root-relative, "./x.js" file-relative). */
function resolve(spec: string, fromFile: string): string | undefined {
  if (/^[a-z]+:/i.test(spec)) return undefined; // another origin or a data: URL: not part of the build
  return spec.startsWith('/') ? spec.slice(1) : path.posix.normalize(path.posix.join(path.posix.dirname(fromFile), spec));
}

export function measureBudget(dist: string, budget = JS_BUDGET_BYTES): BudgetReport {
  const indexFile = path.join(dist, 'index.html');
  if (!existsSync(indexFile)) throw new Error(`js-budget: ${indexFile} is missing; run \`npm run build\` first`);
  const first: BudgetFile[] = [];
  const later: BudgetFile[] = [];
  const seen = new Set<string>();
  const sizes = (file: string) => {
    const full = path.join(dist, file);
    if (!existsSync(full)) throw new Error(`js-budget: ${file}, referenced by the build, is not in ${dist}`);
    const bytes = readFileSync(full);
    return { code: bytes.toString('utf8'), bytes: bytes.length, gzipBytes: gzipSync(bytes).length };
  };
  const queue: { file: string; role: Role; from?: string }[] = htmlScripts(readFileSync(indexFile, 'utf8'));
  const dynamic: { file: string; from: string }[] = [];
  while (queue.length) {
    const { file, role, from } = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const s = sizes(file);
    first.push({ file, role, from, bytes: s.bytes, gzipBytes: s.gzipBytes });
    for (const spec of staticImports(s.code)) {
      const f = resolve(spec, file);
      if (f) queue.push({ file: f, role: 'static import', from: file });
    }
    for (const spec of workerUrls(s.code)) {
      const f = resolve(spec, file);
      if (f) queue.push({ file: f, role: 'worker', from: file });
    }
    if (registersServiceWorker(s.code) && existsSync(path.join(dist, 'sw.js'))) queue.push({ file: 'sw.js', role: 'service worker', from: file });
    for (const spec of dynamicImports(s.code)) {
      const f = resolve(spec, file);
      if (f) dynamic.push({ file: f, from: file });
    }
  }
  // On-demand chunks (and what they import in turn, when the first screen does not already load it).
  for (let i = 0; i < dynamic.length; i++) {
    const { file, from } = dynamic[i];
    // A literal import() that names no built file is text inside the code (e.g. a library's warning message).
    if (seen.has(file) || !existsSync(path.join(dist, file))) continue;
    seen.add(file);
    const s = sizes(file);
    later.push({ file, role: 'dynamic import', from, bytes: s.bytes, gzipBytes: s.gzipBytes });
    for (const spec of [...staticImports(s.code), ...dynamicImports(s.code)]) {
      const f = resolve(spec, file);
      if (f) dynamic.push({ file: f, from: file });
    }
  }
  // Scripts code names by URL without importing them (onnxruntime-web's .mjs, fetched when a session is created).
  const texts = [...first, ...later].map((f) => readFileSync(path.join(dist, f.file), 'utf8'));
  const assets = path.join(dist, 'assets');
  for (const name of existsSync(assets) ? readdirSync(assets) : []) {
    const file = `assets/${name}`;
    if (seen.has(file) || !/\.m?js$/.test(name)) continue;
    const by = texts.findIndex((t) => t.includes(name));
    if (by < 0) continue;
    const s = sizes(file);
    later.push({ file, role: 'named in code', from: [...first, ...later][by].file, bytes: s.bytes, gzipBytes: s.gzipBytes });
  }
  const total = first.reduce((n, f) => n + f.gzipBytes, 0);
  return { dist, budget, first, later, total, pass: total <= budget };
}

const kB = (n: number) => `${(n / 1000).toFixed(1)} kB`;

export function formatBudget(r: BudgetReport): string {
  const rows = (fs: BudgetFile[]) => fs.map((f) => `  ${kB(f.gzipBytes).padStart(9)}  ${kB(f.bytes).padStart(9)}  ${f.role.padEnd(14)} ${f.file}${f.from ? `  (from ${f.from})` : ''}`);
  return [
    `first screen JavaScript (${r.dist}): gzip, raw, how it is reached`,
    ...rows(r.first),
    `  ${kB(r.total).padStart(9)}  total — budget ${kB(r.budget)}: ${r.pass ? '✓ within' : '✗ OVER'} (${((r.total / r.budget) * 100).toFixed(0)}%)`,
    ...(r.later.length ? ['loaded on demand, e.g. when a model loads (not counted):', ...rows(r.later)] : []),
  ].join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--budget');
  const budget = at >= 0 ? Number(args.splice(at, 2)[1]) : JS_BUDGET_BYTES;
  if (!Number.isInteger(budget) || budget <= 0) {
    console.error('js-budget: --budget takes a whole number of bytes');
    process.exit(2);
  }
  const dist = path.resolve(args[0] ?? path.join(import.meta.dirname, '..', '..', 'dist'));
  try {
    const r = measureBudget(dist, budget);
    console.log(formatBudget(r));
    process.exit(r.pass ? 0 : 1);
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}
