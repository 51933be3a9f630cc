// Prompt normalisation for the lexical guard: turns a prompt into token streams whose tokens carry every plausible
// reading of an obfuscated word (leetspeak, look-alike letters, stretched letters) and the span of the original text
// they came from. It never rewrites the prompt into one "cleaned" string: decoding leetspeak or joining split letters
// can invent words ("1st" → "ist"), so each reading is only a candidate and a match must hit a whole lexicon word.
//
// Pipeline per code point: drop invisible characters → NFKC (fullwidth, math alphanumerics, ligatures) → strip
// diacritics → lower case (+ the few case folds toLowerCase misses) → Cyrillic/Greek/other homoglyphs → Latin.
// Then tokens are runs of letters, digits and leet symbols; single characters separated by one repeated separator
// ("k i l l", "k.i.l.l", "s-e-x") are also joined into one token in a second stream.

/** Invisible or formatting characters that only serve to break words apart (zero-width, joiners, bidi, tags…). */
const INVISIBLE =
  /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0]|[\u{E0000}-\u{E0FFF}]/u;

/** Letters toLowerCase/NFD leave alone but people read as Latin letters. */
const FOLD: Record<string, string> = {
  ß: 'ss', ẞ: 'ss', ı: 'i', ł: 'l', ø: 'o', đ: 'd', ð: 'd', ħ: 'h', æ: 'ae', œ: 'oe', þ: 'th', ŋ: 'n', ɫ: 'l',
};

/**
 * Look-alikes (after lower-casing) → the Latin letter they imitate. Cyrillic and Greek homoglyphs, IPA/Latin
 * extensions and a few symbols; fullwidth and mathematical alphanumerics are already folded by NFKC.
 */
const CONFUSABLE: Record<string, string> = {
  // Cyrillic (only letters that pass for Latin ones at a glance)
  а: 'a', в: 'b', г: 'r', е: 'e', ё: 'e', к: 'k', м: 'm', н: 'h', о: 'o', п: 'n', р: 'p', с: 'c', т: 't', у: 'y',
  х: 'x', ь: 'b', є: 'e', ѕ: 's', і: 'i', ї: 'i', ј: 'j', ԁ: 'd', ԛ: 'q', ԝ: 'w', ѡ: 'w', ү: 'y', ҳ: 'x', һ: 'h',
  ӏ: 'l', ɡ: 'g', ѵ: 'v', ҫ: 'c', ӧ: 'o', ӓ: 'a', ӕ: 'ae',
  // Greek
  α: 'a', β: 'b', γ: 'y', δ: 'd', ε: 'e', ζ: 'z', η: 'n', θ: 'o', ι: 'i', κ: 'k', λ: 'l', μ: 'u', ν: 'v', ξ: 'e', ο: 'o',
  π: 'n', ρ: 'p', σ: 'o', ς: 's', τ: 't', υ: 'u', φ: 'f', χ: 'x', ψ: 'w', ω: 'w', ϲ: 'c', ϳ: 'j', ϱ: 'p', ϵ: 'e',
  // Latin extensions, IPA, small capitals, symbols
  ɑ: 'a', ɐ: 'a', ʙ: 'b', ɕ: 'c', ɗ: 'd', ɛ: 'e', ɘ: 'e', ə: 'e', ɢ: 'g', ʜ: 'h', ɦ: 'h', ɪ: 'i', ɩ: 'i', ʝ: 'j', ʟ: 'l',
  ɱ: 'm', ɴ: 'n', ɲ: 'n', ɔ: 'o', ɵ: 'o', ʀ: 'r', ɾ: 'r', ʂ: 's', ʃ: 's', ʈ: 't', ʊ: 'u', ʋ: 'v', ʌ: 'v', ʍ: 'w',
  ʏ: 'y', ʐ: 'z', ʑ: 'z', ᴀ: 'a', ᴄ: 'c', ᴅ: 'd', ᴇ: 'e', ᴊ: 'j', ᴋ: 'k', ᴍ: 'm', ᴏ: 'o', ᴘ: 'p', ᴛ: 't', ᴜ: 'u',
  ᴠ: 'v', ᴡ: 'w', ᴢ: 'z', 'ℓ': 'l', '∂': 'd', '×': 'x', 'ⅰ': 'i',
};

/** Leetspeak: symbol or digit → the letters it may stand for (several when ambiguous). */
export const LEET: Record<string, readonly string[]> = {
  '0': ['o'], '1': ['i', 'l'], '2': ['z'], '3': ['e'], '4': ['a'], '5': ['s'], '6': ['g', 'b'], '7': ['t'], '8': ['b'],
  '9': ['g'], '@': ['a'], $: ['s'], '!': ['i'], '|': ['l', 'i'], '+': ['t'], '€': ['e'], '£': ['l'], '¡': ['i'],
  '*': ['a', 'e', 'i', 'o', 'u'],
};

/** One normalised character (string: NFKC may expand one code point to several) and its span in the original. */
export interface NormChar {
  ch: string;
  start: number;
  end: number;
}

/** A word of a token stream: what it may read as, and where it came from. */
export interface Token {
  /** The normalised surface text (letters, digits, leet symbols). */
  text: string;
  /** Every candidate reading: the surface text and its leetspeak decodings. */
  forms: ReadonlySet<string>;
  /** When the word has a letter repeated 3+ times ("kiiiill"): each form with every repeat run squeezed to one. */
  squeezed: ReadonlySet<string>;
  /** Span in the original prompt (UTF-16 offsets, end exclusive). */
  start: number;
  end: number;
  /** True when this token was joined from single letters ("k i l l"). */
  joined: boolean;
}

/** Normalise one code point: invisible → '', then NFKC, no diacritics, lower case, folds, homoglyphs. */
const charCache = new Map<string, string>();

export function normalizeChar(cp: string): string {
  let n = charCache.get(cp);
  if (n === undefined) {
    n = normalizeCharUncached(cp);
    if (charCache.size < 65536) charCache.set(cp, n);
  }
  return n;
}

function normalizeCharUncached(cp: string): string {
  if (INVISIBLE.test(cp)) return '';
  // Regional indicator symbols (🇰🇮🇱🇱) read as capital letters when they do not pair into a flag.
  const code = cp.codePointAt(0)!;
  if (code >= 0x1f1e6 && code <= 0x1f1ff) return String.fromCharCode(97 + code - 0x1f1e6);
  let s = cp.normalize('NFKC').normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
  let out = '';
  for (const c of s) out += FOLD[c] ?? CONFUSABLE[c] ?? c;
  s = out;
  return /\s/.test(s) ? ' ' : s;
}

/** The prompt as normalised characters, each remembering its original span. */
export function normalizeChars(prompt: string): NormChar[] {
  const out: NormChar[] = [];
  let i = 0;
  for (const cp of prompt) {
    const n = normalizeChar(cp);
    for (const ch of n) out.push({ ch, start: i, end: i + cp.length });
    i += cp.length;
  }
  return out;
}

/** The whole prompt normalised to one string (for display, tests and explanations; matching uses tokens). */
export function normalizeText(prompt: string): string {
  return normalizeChars(prompt).map((c) => c.ch).join('').replace(/ +/g, ' ').trim();
}

const isLetter = (c: string) => c >= 'a' && c <= 'z';
const isDigit = (c: string) => c >= '0' && c <= '9';
const isWordChar = (c: string) => isLetter(c) || isDigit(c) || c in LEET;

/** Squeeze every run of a repeated character to one ("kiiill" → "kil"); used on both sides of a comparison. */
export function squeeze(s: string): string {
  return s.replace(/(.)\1+/g, '$1');
}

const MAX_FORMS = 16;

/**
 * Readings of a word: itself, plus, when it mixes letters with leet symbols or digits, each decoding
 * (ambiguous symbols branch; capped so a long string of symbols cannot explode). Pure-digit words ("1984") and
 * pure-symbol words are not decoded.
 */
export function wordForms(word: string): string[] {
  const forms = new Set<string>([word]);
  const hasLetter = [...word].some(isLetter);
  const hasLeet = [...word].some((c) => !isLetter(c));
  if (hasLetter && hasLeet) {
    let partial = [''];
    for (const c of word) {
      const options = isLetter(c) ? [c] : (LEET[c] ?? [c]);
      const next: string[] = [];
      for (const p of partial) for (const o of options) if (next.length < MAX_FORMS) next.push(p + o);
      partial = next;
    }
    for (const p of partial) forms.add(p);
    // Symbols used as separators inside a word ("k*i*l*l", "k|i|l|l"): the letters alone are a reading too.
    const letters = [...word].filter((c) => isLetter(c) || isDigit(c)).join('');
    if (letters !== word && /[a-z]/.test(letters)) for (const f of wordForms(letters)) if (forms.size < MAX_FORMS * 2) forms.add(f);
  }
  return [...forms];
}

function makeToken(text: string, start: number, end: number, joined: boolean): Token {
  const forms = wordForms(text);
  // Only a run of 3+ identical letters is evidence of stretching; "good" or "kill" must not squeeze to "god"/"kil".
  const stretched = forms.some((f) => /([a-z])\1\1/.test(f));
  return {
    text,
    forms: new Set(forms),
    squeezed: new Set(stretched ? forms.map(squeeze) : []),
    start,
    end,
    joined,
  };
}

interface RawWord {
  text: string;
  start: number;
  end: number;
  /** Normalised separator text before this word ('' at the start). */
  gapBefore: string;
}

/** Split normalised characters into words; '!' and '*' at a word's end are punctuation, not leetspeak. */
function rawWords(chars: NormChar[]): RawWord[] {
  const words: RawWord[] = [];
  let gap = '';
  let k = 0;
  while (k < chars.length) {
    if (!isWordChar(chars[k].ch)) {
      gap += chars[k].ch;
      k++;
      continue;
    }
    let j = k;
    while (j < chars.length && isWordChar(chars[j].ch)) j++;
    // Trailing "!!!", "?" style symbols belong to the sentence.
    let e = j;
    while (e > k + 1 && (chars[e - 1].ch === '!' || chars[e - 1].ch === '*' || chars[e - 1].ch === '|')) e--;
    const text = chars.slice(k, e).map((c) => c.ch).join('');
    // A possessive or contracted "'s" is not a word of its own ("the guard's throat" reads as "the guard throat").
    if (text === 's' && /^['\u2019]$/.test(gap) && words.length > 0) {
      gap = chars.slice(e, j).map((c) => c.ch).join('');
      k = j;
      continue;
    }
    words.push({ text, start: chars[k].start, end: chars[e - 1].end, gapBefore: gap });
    gap = chars.slice(e, j).map((c) => c.ch).join('');
    k = j;
  }
  return words;
}

export interface TokenStreams {
  /** Words as written. */
  words: Token[];
  /**
   * The same words with runs of spaced-out single letters joined; empty when there are none. A run may start or
   * end with the one-letter words "a" or "i" ("a n a k e d", "b u l l y i n g a boy"), so up to four joinings are
   * kept: greedy, and without a leading and/or trailing one-letter word.
   */
  joined: Token[][];
}

const ONE_LETTER_WORDS = new Set(['a', 'i']);

/**
 * Tokenise a prompt. A run of ≥ 3 single-character words separated each time by the same one-character separator
 * ("k i l l", "k.i.l.l", "s-e-x") becomes one word in the `joined` streams; a different or longer gap ends the run,
 * so "k i l l  h i m" stays two words.
 */
export function tokenize(prompt: string): TokenStreams {
  const raw = rawWords(normalizeChars(prompt));
  const words = raw.map((w) => makeToken(w.text, w.start, w.end, false));
  // Runs of single-character words: [start, end) indices into raw.
  const runs: [number, number][] = [];
  for (let i = 0; i < raw.length; ) {
    let j = i + 1;
    if (raw[i].text.length === 1) {
      const sep = j < raw.length ? raw[j].gapBefore : '';
      if (sep.length === 1) while (j < raw.length && raw[j].text.length === 1 && raw[j].gapBefore === sep) j++;
      if (j - i >= 3) {
        runs.push([i, j]);
        i = j;
        continue;
      }
    }
    i++;
  }
  if (runs.length === 0) return { words, joined: [] };
  const hasLead = runs.some(([a, b]) => ONE_LETTER_WORDS.has(raw[a].text) && b - a > 3);
  const hasTrail = runs.some(([a, b]) => ONE_LETTER_WORDS.has(raw[b - 1].text) && b - a > 3);
  const joined: Token[][] = [];
  for (const trimLead of hasLead ? [false, true] : [false]) {
    for (const trimTrail of hasTrail ? [false, true] : [false]) {
      const stream: Token[] = [];
      let i = 0;
      for (const [a0, b0] of runs) {
        let a = a0;
        let b = b0;
        if (trimLead && ONE_LETTER_WORDS.has(raw[a].text) && b - a > 3) a++;
        if (trimTrail && ONE_LETTER_WORDS.has(raw[b - 1].text) && b - a > 3) b--;
        while (i < a) stream.push(words[i++]);
        stream.push(makeToken(raw.slice(a, b).map((w) => w.text).join(''), raw[a].start, raw[b - 1].end, true));
        i = b;
      }
      while (i < words.length) stream.push(words[i++]);
      joined.push(stream);
    }
  }
  return { words, joined };
}
