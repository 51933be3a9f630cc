// The shipped lexicons (lexicon/<category>.json, one per guard category), compiled once on first use.
// Data files, not code, so they can be reviewed and extended without touching the matcher.

import hate from './lexicon/hate.json';
import harassment from './lexicon/harassment.json';
import violence from './lexicon/violence.json';
import selfHarm from './lexicon/self-harm.json';
import sexuality from './lexicon/sexuality.json';
import shocking from './lexicon/shocking.json';
import propaganda from './lexicon/propaganda.json';
import illegal from './lexicon/illegal.json';
import { GUARD_CATEGORIES } from './categories';
import { Lexicon, type LexiconFile } from './lexicon';

export const LEXICON_FILES: readonly LexiconFile[] = [hate, harassment, violence, selfHarm, sexuality, shocking, propaganda, illegal];

let compiled: Lexicon | undefined;

/** The shipped lexicons, compiled (checked once: every guard category has exactly one file). */
export function builtinLexicon(): Lexicon {
  if (!compiled) {
    const names = LEXICON_FILES.map((f) => f.category).sort();
    const expected = [...GUARD_CATEGORIES].sort();
    if (names.join() !== expected.join()) throw new Error(`lexicon files cover ${names.join(', ')}; expected ${expected.join(', ')}`);
    compiled = new Lexicon(LEXICON_FILES);
  }
  return compiled;
}
