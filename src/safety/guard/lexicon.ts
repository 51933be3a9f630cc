// Lexicon compiler and matcher for the prompt guard. A lexicon is data (lexicon/<category>.json): terms and
// benign-look-alike exceptions written in a small notation; this module expands their inflections, indexes them by
// first word and finds whole-word (and whole-phrase) matches in the token streams from normalize.ts.
//
// Term notation (one string per term, words separated by spaces or hyphens):
//   word        a single-word term matches the word and its plural ("gun" → gun, guns); in a phrase, only the last
//               word takes plurals, the others must be exact ("slit wrist" → slit wrists, not slits wrist)
//   word~v      verb: also -s, -ed, -ing and the -er/-ers agent ("stab~v" → stabs, stabbed, stabbing, stabber…)
//   word~x      exactly this form, nothing generated ("ass~x": not "asses")
//   word|alt    extra spellings or irregular forms of that word ("knife|knives", "shoot~v|shot")
//   {a,b c}     alternatives, each a word or a phrase, at one place in the term ("punch~v {him,a child}")
//   *           any one word ("slit~v * throat" → "slitting a throat", "slit his throat"); never first or last
// Phrases of 2–3 words also match written as one word ("self harm" → "selfharm"), a common evasion.
// Generating forms forward (instead of stemming the prompt) keeps benign neighbours apart: "hate" yields "hated"
// and "hating" but never reaches "hat".

import { squeeze, type Token } from './normalize';

export interface LexiconFile {
  category: string;
  /** What the category covers, for people editing the file. */
  description?: string;
  terms: string[];
  /** Benign phrases that contain a term ("killer whale"): a term match inside one of these is not a match. */
  exceptions?: string[];
}

interface CompiledTerm {
  category: string;
  /** The term as written in the file, without inflection markers (what explanations and the parent see). */
  term: string;
  /** Allowed forms per word position; null = any word ('*'). */
  words: (ReadonlySet<string> | null)[];
  /** The same forms squeezed (for stretched words like "kiiiill"). */
  squeezedWords: (ReadonlySet<string> | null)[];
  exception: boolean;
}

/** A term (or exception) found in a prompt. */
export interface Hit {
  category: string;
  term: string;
  /** Span in the original prompt, UTF-16 offsets, end exclusive. */
  start: number;
  end: number;
  exception: boolean;
}

const VOWEL = /[aeiou]/;

/** Plural / third person of a word. */
export function plural(w: string): string[] {
  if (/(s|x|z|ch|sh)$/.test(w)) return [w + 'es'];
  if (/[^aeiou]y$/.test(w)) return [w.slice(0, -1) + 'ies'];
  if (/[^aeiou]o$/.test(w)) return [w + 's', w + 'es'];
  return [w + 's'];
}

/** Verb forms: third person, past, -ing, agent noun (+ plural), by English spelling rules. */
export function verbForms(w: string): string[] {
  const out = plural(w);
  let stem: string; // what -ed/-ing/-er attach to
  if (/ie$/.test(w)) {
    out.push(w + 'd', w.slice(0, -2) + 'ying', w + 'r', w + 'rs');
    return out;
  }
  if (/[^aeiou]y$/.test(w)) {
    out.push(w.slice(0, -1) + 'ied', w + 'ing', w.slice(0, -1) + 'ier', w.slice(0, -1) + 'iers');
    return out;
  }
  if (/e$/.test(w) && !/(ee|ye|oe)$/.test(w)) {
    out.push(w + 'd', w.slice(0, -1) + 'ing', w + 'r', w + 'rs');
    return out;
  }
  // One-syllable consonant-vowel-consonant words double their last consonant: stab → stabbed, rob → robbing.
  const syllables = w.match(/[aeiouy]+/g)?.length ?? 0;
  if (syllables === 1 && /[^aeiou][aeiou][^aeiouwxy]$/.test(w)) stem = w + w[w.length - 1];
  else stem = w;
  out.push(stem + 'ed', stem + 'ing', stem + 'er', stem + 'ers');
  return out;
}

interface ParsedWord {
  forms: ReadonlySet<string>;
  base: string;
}

/** One word position of a term: the word specs any of which may stand there. */
export type Position = string[];

/**
 * Split a term into its variants, each a list of word positions. A {group}'s one-word options share one position
 * (matched as a set, not expanded); each phrase option becomes a variant of its own, so
 * "hit {him,her,a child} hard" → [hit][him|her][hard] and [hit][a][child][hard]. Keeping one-word alternatives
 * together keeps the compiled lexicon small however many combinations an entry describes.
 */
export function expandTerm(spec: string, where: string): Position[][] {
  const items = spec.trim().toLowerCase().match(/\{[^{}]*\}|[^\s{}]+/g) ?? [];
  if (/[{}]/.test(spec.replace(/\{[^{}]*\}/g, ''))) throw new Error(`${where}: unbalanced braces in "${spec}"`);
  const splitWords = (t: string) => t.split(/[\s\-']+/).filter(Boolean);
  let variants: Position[][] = [[]];
  for (const item of items) {
    let options: Position[][];
    if (item.startsWith('{')) {
      const opts = item.slice(1, -1).split(',').map((o) => o.trim());
      if (opts.some((o) => o === '')) throw new Error(`${where}: an empty alternative in "${spec}"`);
      const single = opts.filter((o) => splitWords(o).length === 1).map((o) => splitWords(o)[0]);
      const multi = opts.filter((o) => splitWords(o).length > 1);
      options = [...(single.length > 0 ? [[single]] : []), ...multi.map((o) => splitWords(o).map((w) => [w]))];
    } else {
      options = [splitWords(item).map((w) => [w])];
    }
    variants = variants.flatMap((v) => options.map((o) => [...v, ...o]));
  }
  return variants.filter((v) => v.length > 0);
}

// Expanded alternatives repeat the same words thousands of times ("{punch~v,…} {a,the,…} {kid,…}"): parse each
// word spec once and share its form sets (read-only after construction).
const wordCache = new Map<string, ParsedWord>();
const squeezedCache = new WeakMap<ReadonlySet<string>, ReadonlySet<string>>();

function parseWord(spec: string, isLast: boolean, single: boolean, where: string): ParsedWord {
  const key = `${spec}\u0000${isLast || single ? 'last' : 'inner'}`;
  let w = wordCache.get(key);
  if (!w) {
    w = parseWordUncached(spec, isLast, single, where);
    wordCache.set(key, w);
  }
  return w;
}

function squeezedSet(forms: ReadonlySet<string>): ReadonlySet<string> {
  let s = squeezedCache.get(forms);
  if (!s) {
    s = new Set([...forms].map(squeeze));
    squeezedCache.set(forms, s);
  }
  return s;
}

function parseWordUncached(spec: string, isLast: boolean, single: boolean, where: string): ParsedWord {
  const [head, ...alts] = spec.split('|');
  const parse = (w: string) => /^([a-z0-9]+)(?:~([vnx]))?$/.exec(w);
  const m = parse(head);
  if (!m || alts.some((a) => !parse(a))) {
    throw new Error(`${where}: "${spec}" is not a lexicon word (lower-case a–z/0–9, optional ~v/~n/~x, |alternatives)`);
  }
  const base = m[1];
  const mark = m[2] ?? (isLast || single ? 'n' : 'x');
  const forms = new Set<string>();
  const expand = (w: string, mk: string) => {
    forms.add(w);
    if (mk === 'n') for (const f of plural(w)) forms.add(f);
    if (mk === 'v') for (const f of verbForms(w)) forms.add(f);
  };
  expand(base, mark);
  // An alternative takes its own mark, else plurals unless the head is exact ("fag~x|fags", "knife|knives").
  for (const a of alts) {
    const am = parse(a)!;
    expand(am[1], am[2] ?? (mark === 'x' ? 'x' : VOWEL.test(am[1]) ? 'n' : 'x'));
  }
  return { forms, base };
}

const unionCache = new Map<string, ReadonlySet<string>>();

/** The forms of one position: the union of its word specs' forms (cached: the same unions recur across terms). */
function positionForms(pos: Position, isLast: boolean, single: boolean, where: string): ReadonlySet<string> {
  if (pos.length === 1) return parseWord(pos[0], isLast, single, where).forms;
  const key = `${pos.join(',')}\u0000${isLast || single}`;
  let u = unionCache.get(key);
  if (!u) {
    const set = new Set<string>();
    for (const spec of pos) for (const f of parseWord(spec, isLast, single, where).forms) set.add(f);
    unionCache.set(key, (u = set));
  }
  return u;
}

function compileTerm(positions: Position[], category: string, exception: boolean, where: string, spec: string): CompiledTerm[] {
  const n = positions.length;
  const isAny = (p: Position) => p.length === 1 && p[0] === '*';
  if (isAny(positions[0]) || isAny(positions[n - 1])) throw new Error(`${where}: "${spec}" may not start or end with *`);
  if (positions.some((p) => p.length > 1 && p.includes('*'))) throw new Error(`${where}: "*" cannot be one of {alternatives} in "${spec}"`);
  const words = positions.map((p, k) => (isAny(p) ? null : positionForms(p, k === n - 1, n === 1, where)));
  // Shown to parents and in logs: the first alternative of each position, "/…" when there are more.
  const term = positions.map((p) => (isAny(p) ? '*' : p[0].split(/[|~]/)[0] + (p.length > 1 ? '/…' : ''))).join(' ');
  const make = (ws: (ReadonlySet<string> | null)[]): CompiledTerm => ({
    category,
    term,
    words: ws,
    squeezedWords: ws.map((s) => (s ? squeezedSet(s) : null)),
    exception,
  });
  const out = [make(words)];
  if (n >= 2 && n <= 3 && positions.every((p) => p.length === 1 && !isAny(p))) {
    // The phrase written as one word: earlier words as their base, the last word in any of its forms.
    const prefix = positions.slice(0, -1).map((p) => p[0].split(/[|~]/)[0]).join('');
    out.push(make([new Set([...words[n - 1]!].map((f) => prefix + f))]));
  }
  return out;
}

/** A compiled set of lexicons, indexed by the forms a term's first word can take. */
export class Lexicon {
  private readonly byFirst = new Map<string, CompiledTerm[]>();
  private readonly bySqueezedFirst = new Map<string, CompiledTerm[]>();
  readonly categories: string[] = [];
  /** Number of terms (not forms) per category, exceptions excluded. */
  readonly termCounts = new Map<string, number>();

  constructor(files: readonly LexiconFile[]) {
    for (const file of files) {
      const where = `lexicon ${file.category}`;
      if (!Array.isArray(file.terms)) throw new Error(`${where}: "terms" must be a list of strings`);
      this.categories.push(file.category);
      this.termCounts.set(file.category, file.terms.length);
      for (const [list, exception] of [[file.terms, false], [file.exceptions ?? [], true]] as const) {
        for (const t of list) {
          const variants = expandTerm(t, where);
          if (variants.length === 0) throw new Error(`${where}: empty term`);
          for (const v of variants) for (const c of compileTerm(v, file.category, exception, where, t)) this.add(c);
        }
      }
    }
  }

  private add(t: CompiledTerm) {
    for (const f of t.words[0]!) push(this.byFirst, f, t);
    for (const f of t.squeezedWords[0]!) push(this.bySqueezedFirst, f, t);
  }

  /** Every term and exception hit in a token stream (overlapping hits all reported). */
  hits(tokens: readonly Token[]): Hit[] {
    const out: Hit[] = [];
    for (let i = 0; i < tokens.length; i++) {
      const candidates = new Set<CompiledTerm>();
      for (const f of tokens[i].forms) for (const t of this.byFirst.get(f) ?? []) candidates.add(t);
      for (const f of tokens[i].squeezed) for (const t of this.bySqueezedFirst.get(f) ?? []) candidates.add(t);
      for (const t of candidates) {
        const n = t.words.length;
        if (i + n > tokens.length) continue;
        let ok = true;
        for (let k = 1; k < n && ok; k++) ok = tokenMatches(tokens[i + k], t.words[k], t.squeezedWords[k]);
        if (ok) out.push({ category: t.category, term: t.term, start: tokens[i].start, end: tokens[i + n - 1].end, exception: t.exception });
      }
    }
    return out;
  }
}

function tokenMatches(tok: Token, forms: ReadonlySet<string> | null, squeezed: ReadonlySet<string> | null): boolean {
  if (forms === null || squeezed === null) return true;
  for (const f of tok.forms) if (forms.has(f)) return true;
  for (const f of tok.squeezed) if (squeezed.has(f)) return true;
  return false;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V) {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

/**
 * Hits that count: term hits not covered by an exception of the same category ("killer whale" covers "killer"),
 * deduplicated by category, term and span.
 */
export function effectiveHits(hits: readonly Hit[]): Hit[] {
  const exceptions = hits.filter((h) => h.exception);
  const seen = new Set<string>();
  const out: Hit[] = [];
  for (const h of hits) {
    if (h.exception) continue;
    if (exceptions.some((e) => e.category === h.category && e.start <= h.start && h.end <= e.end)) continue;
    const key = `${h.category}\u0000${h.term}\u0000${h.start}\u0000${h.end}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(h);
  }
  return out.sort((a, b) => a.start - b.start || a.end - b.end);
}
