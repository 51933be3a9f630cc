// The shipped lexicons (lexicon/<category>.json, one per guard category, hand-kept) and the vendored LDNOOBW English
// list (lexicon/vendor/ldnoobw-en.json: the list verbatim, its source commit and license, and our mapping onto the
// guard's categories), compiled once on first use. Data files, not code, so they can be reviewed and extended
// without touching the matcher. The vendored terms join the category the mapping gives them, so that category's
// benign exceptions apply to them too; a vendored term the hand-kept lists already match is left out (it would
// only add a second, differently worded match).

import hate from './lexicon/hate.json';
import harassment from './lexicon/harassment.json';
import violence from './lexicon/violence.json';
import selfHarm from './lexicon/self-harm.json';
import sexuality from './lexicon/sexuality.json';
import shocking from './lexicon/shocking.json';
import propaganda from './lexicon/propaganda.json';
import illegal from './lexicon/illegal.json';
import ldnoobw from './lexicon/vendor/ldnoobw-en.json';
import { GUARD_CATEGORIES, isLexiconCategory, type LexiconCategory } from './categories';
import { Lexicon, effectiveHits, type LexiconFile } from './lexicon';
import { tokenize } from './normalize';

export const LEXICON_FILES: readonly LexiconFile[] = [hate, harassment, violence, selfHarm, sexuality, shocking, propaganda, illegal];

/** A vendored word list: the source's terms verbatim, with our mapping onto the guard's categories. */
export interface VendoredList {
  source: string;
  commit: string;
  license: string;
  /** Terms of a category other than `defaultCategory`. */
  categories: Partial<Record<string, string[]>>;
  /** Terms not used (benign senses common in prompts, names, outside the guard's categories). */
  dropped: string[];
  terms: string[];
}

export const LDNOOBW: VendoredList = ldnoobw;
const DEFAULT_CATEGORY: LexiconCategory = 'Sexuality';

/** A source term in the lexicon notation (lower case, words of a–z/0–9), or undefined when it has no such form. */
function asLexiconTerm(term: string): string | undefined {
  const t = term.toLowerCase().replace(/[-\s]+/g, ' ').trim();
  return /^[a-z0-9]+( [a-z0-9]+)*$/.test(t) ? t : undefined;
}

/**
 * The vendored terms to add, per category: mapped, not dropped, in the notation, and not already matched by the
 * hand-kept lists (`hand`).
 */
export function vendoredTerms(list: VendoredList, hand: Lexicon): Map<LexiconCategory, string[]> {
  const categoryOf = new Map<string, LexiconCategory>();
  for (const [c, terms] of Object.entries(list.categories)) {
    if (!isLexiconCategory(c)) throw new Error(`vendored list ${list.source}: unknown category ${c}`);
    for (const t of terms ?? []) categoryOf.set(t, c);
  }
  const dropped = new Set(list.dropped);
  const out = new Map<LexiconCategory, string[]>();
  for (const raw of list.terms) {
    if (dropped.has(raw)) continue;
    const term = asLexiconTerm(raw);
    if (!term) continue;
    const s = tokenize(term);
    if (effectiveHits([s.words, ...s.joined].flatMap((t) => hand.hits(t))).length > 0) continue;
    const c = categoryOf.get(raw) ?? DEFAULT_CATEGORY;
    const list = out.get(c) ?? [];
    if (!list.includes(term)) list.push(term);
    out.set(c, list);
  }
  return out;
}

/** The hand-kept files with the vendored terms added to their categories (exceptions unchanged). */
export function withVendored(files: readonly LexiconFile[], list: VendoredList): LexiconFile[] {
  const add = vendoredTerms(list, new Lexicon(files));
  return files.map((f) => {
    const more = add.get(f.category as LexiconCategory) ?? [];
    return more.length > 0 ? { ...f, terms: [...f.terms, ...more] } : f;
  });
}

let compiled: Lexicon | undefined;

/** The shipped lexicons with the vendored list, compiled (checked once: every guard category has exactly one file). */
export function builtinLexicon(): Lexicon {
  if (!compiled) {
    const names = LEXICON_FILES.map((f) => f.category).sort();
    const expected = [...GUARD_CATEGORIES].sort();
    if (names.join() !== expected.join()) throw new Error(`lexicon files cover ${names.join(', ')}; expected ${expected.join(', ')}`);
    compiled = new Lexicon(withVendored(LEXICON_FILES, LDNOOBW));
  }
  return compiled;
}
