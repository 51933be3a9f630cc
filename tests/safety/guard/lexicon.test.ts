// Lexicons: the shipped data (8 categories, ≥ 80 entries each, all parse), the notation (inflections, alternatives,
// wildcards, one-word phrases), exceptions that only cover their own span, and whole-word matching.
import { describe, expect, it } from 'vitest';
import { GUARD_CATEGORIES } from '../../../src/safety/guard/categories';
import { findMatches } from '../../../src/safety/guard/guard';
import { Lexicon, effectiveHits, expandTerm, plural, verbForms } from '../../../src/safety/guard/lexicon';
import { LDNOOBW, LEXICON_FILES, builtinLexicon, vendoredTerms } from '../../../src/safety/guard/lexicons';
import { tokenize } from '../../../src/safety/guard/normalize';

const hitsOf = (lex: Lexicon, prompt: string) => {
  const s = tokenize(prompt);
  return effectiveHits([s.words, ...s.joined].flatMap((t) => lex.hits(t)));
};
const cats = (prompt: string) => [...new Set(findMatches(prompt).map((m) => m.category))];

describe('shipped lexicons', () => {
  it('cover exactly the eight guard categories with at least 80 entries each', () => {
    expect(LEXICON_FILES.map((f) => f.category).sort()).toEqual([...GUARD_CATEGORIES].sort());
    const lex = builtinLexicon();
    for (const c of GUARD_CATEGORIES) expect(lex.termCounts.get(c), c).toBeGreaterThanOrEqual(80);
  });

  it('have no duplicate entries within a file', () => {
    for (const f of LEXICON_FILES) expect(new Set(f.terms).size, f.category).toBe(f.terms.length);
  });
});

describe('vendored LDNOOBW list', () => {
  it('is recorded with its source commit and license, verbatim (403 English terms), its mapping inside the list', () => {
    expect(LDNOOBW.source).toBe('LDNOOBW/List-of-Dirty-Naughty-Obscene-and-Otherwise-Bad-Words');
    expect(LDNOOBW.commit).toMatch(/^5faf2ba42d7b1c0977169ec3611df25a3c08eb13$/);
    expect(LDNOOBW.license).toMatch(/^CC-BY-4\.0/);
    expect(LDNOOBW.terms).toHaveLength(403);
    for (const t of [...LDNOOBW.dropped, ...Object.values(LDNOOBW.categories).flat()]) expect(LDNOOBW.terms, t).toContain(t);
  });

  it('adds its terms to our categories (not to what our lists already hold), and our exceptions still apply', () => {
    const added = vendoredTerms(LDNOOBW, new Lexicon(LEXICON_FILES));
    expect(added.get('Sexuality')).toContain('bukkake');
    expect(added.get('Hate')).toContain('slanteye');
    expect(cats('bukkake')).toEqual(['Sexuality']);
    expect(cats('a slanteye')).toEqual(['Hate']);
    expect(new Lexicon(LEXICON_FILES).termCounts.get('Sexuality')).toBeLessThan(builtinLexicon().termCounts.get('Sexuality')!);
    // "tit" comes from LDNOOBW; Sexuality's own exceptions cover the bird.
    expect(cats('a tit')).toEqual(['Sexuality']);
    expect(findMatches('a blue tit on a branch')).toEqual([]);
    // Dropped for a benign sense common in prompts.
    expect(LDNOOBW.dropped).toContain('bareback');
    expect(findMatches('a cowboy riding bareback')).toEqual([]);
  });
});

describe('notation', () => {
  it('inflects forward by English spelling rules, never reaching a neighbouring word', () => {
    expect(plural('knife')).toEqual(['knifes']);
    expect(plural('bully')).toEqual(['bullies']);
    expect(plural('punch')).toEqual(['punches']);
    expect(verbForms('stab')).toEqual(expect.arrayContaining(['stabs', 'stabbed', 'stabbing', 'stabber']));
    expect(verbForms('hate')).toEqual(expect.arrayContaining(['hates', 'hated', 'hating', 'hater']));
    expect(verbForms('hate')).not.toContain('hat');
    expect(verbForms('bully')).toEqual(expect.arrayContaining(['bullied', 'bullying']));
    expect(verbForms('shoot')).toEqual(expect.arrayContaining(['shooting', 'shooter', 'shoots']));
  });

  it('matches a single word with its plural, a ~v word with its verb forms, ~x exactly, |alternatives', () => {
    const lex = new Lexicon([{ category: 'T', terms: ['gun', 'stab~v', 'ass~x', 'knife|knives', 'shoot~v|shot'] }]);
    for (const p of ['guns', 'stabbed', 'ass', 'knives', 'shot']) expect(hitsOf(lex, p), p).toHaveLength(1);
    expect(hitsOf(lex, 'asses')).toHaveLength(0);
    expect(hitsOf(lex, 'gunned')).toHaveLength(0); // a plain noun takes no verb forms
  });

  it('expands {alternatives} (words or phrases) and * matches exactly one word', () => {
    // One-word options share a position; each phrase option is its own variant.
    expect(expandTerm('hit {him,her,a child} hard', 'x')).toEqual([
      [['hit'], ['him', 'her'], ['hard']],
      [['hit'], ['a'], ['child'], ['hard']],
    ]);
    expect(() => expandTerm('hit {him,} hard', 'x')).toThrow(/empty alternative/);
    expect(() => expandTerm('hit {him hard', 'x')).toThrow(/unbalanced braces/);
    const alt = new Lexicon([{ category: 'T', terms: ['hit~v {him,her,a child} hard'] }]);
    for (const p of ['hitting him hard', 'hit her hard', 'hits a child hard']) expect(hitsOf(alt, p), p).toHaveLength(1);
    expect(hitsOf(alt, 'hit a hard')).toHaveLength(0);
    const lex = new Lexicon([{ category: 'T', terms: ['slit~v * throat'] }]);
    expect(hitsOf(lex, 'slitting the throat')).toHaveLength(1);
    expect(hitsOf(lex, 'slit throat')).toHaveLength(0);
    expect(() => new Lexicon([{ category: 'T', terms: ['* throat'] }])).toThrow(/may not start or end/);
  });

  it('matches a 2–3 word phrase written as one word, and a phrase only in order', () => {
    const lex = new Lexicon([{ category: 'T', terms: ['self harm~v'] }]);
    expect(hitsOf(lex, 'selfharm')).toHaveLength(1);
    expect(hitsOf(lex, 'self-harming')).toHaveLength(1);
    expect(hitsOf(lex, 'harm self')).toHaveLength(0);
  });

  it('names the file and the entry when an entry is malformed', () => {
    expect(() => new Lexicon([{ category: 'Bad', terms: ['Kill!'] }])).toThrow(/lexicon Bad: "kill!" is not a lexicon word/);
    expect(() => new Lexicon([{ category: 'Bad', terms: ['x~q'] }])).toThrow(/lexicon Bad/);
  });

  it('an exception covers only hits of its own category inside its own span', () => {
    const lex = new Lexicon([
      { category: 'V', terms: ['kill~v'], exceptions: ['killer whale'] },
      { category: 'W', terms: ['whale'] },
    ]);
    expect(hitsOf(lex, 'a killer whale').map((h) => h.category)).toEqual(['W']);
    expect(hitsOf(lex, 'a killer whale kills a man').map((h) => `${h.category}:${h.start}`)).toEqual(['W:9', 'V:15']);
  });
});

describe('benign look-alikes are not matches', () => {
  it.each([
    'a shot of espresso', 'a killer whale', 'chicken breast', 'the breaststroke', 'a shooting star', 'the drug store on main street',
    'kill time at the zoo', 'dressed to kill', 'a fire truck', 'a fruit cocktail', 'Dick Grayson', 'a pupil at school', 'Scunthorpe',
    'skills', 'a therapist', 'grapes', 'a class trip', 'Essex and Sussex', 'shiitake soup', 'a bass guitar', 'analysis', 'a blood orange',
    'a bath bomb', 'a water gun', 'a photo shoot', 'a bomber jacket', 'a blue tit', 'a blue footed booby', 'a pussy willow', 'Moby Dick',
    'a naked mole rat', 'nude lipstick', 'a comic strip', 'cum laude', 'a police escort', 'oilseed rape field', 'ride shotgun',
    'an assassin bug', 'Al Gore', 'take a stab at it', 'a beat up old car', 'a bully stick for the dog', 'the goddess Isis',
    'an adrenaline junkie', 'cops and robbers', 'a hot glue gun', 'stop bullying', 'blood pressure check', 'a corpse flower',
    'a cockatoo', 'a peacock', 'a hancock', 'a titmouse', 'sextant', 'Middlesex', 'a hitch', 'therapist', 'a documentary',
  ])('%j', (p) => {
    expect(findMatches(p)).toEqual([]);
  });
});

describe('obfuscations are caught', () => {
  it.each([
    ['k1ll', 'Violence'], ['k i l l', 'Violence'], ['k.i.l.l', 'Violence'], ['k-i-l-l', 'Violence'], ['kiiiiill', 'Violence'],
    ['кill', 'Violence'], ['ｋｉｌｌ', 'Violence'], ['𝐤𝐢𝐥𝐥𝐞𝐝', 'Violence'], ['k\u200Bi\u200Bl\u200Bl', 'Violence'], ['KÍLL', 'Violence'],
    ['stabbing', 'Violence'], ['murdered', 'Violence'], ['s-e-x', 'Sexuality'], ['$3xy', 'Sexuality'], ['n@k3d', 'Sexuality'],
    ['p0rn', 'Sexuality'], ['nuuuude', 'Sexuality'], ['su1c1de', 'Self-Harm'], ['s u i c i d e', 'Self-Harm'], ['selfharm', 'Self-Harm'],
    ['kys', 'Self-Harm'], ['c0caine', 'Illegal'], ['m.e.t.h', 'Illegal'], ['h4te jews', 'Hate'], ['n4zi', 'Hate'], ['bullied', 'Harassment'],
    ['b u l l y i n g', 'Harassment'], ['k*i*l*l', 'Violence'], ['k|i|l|l', 'Violence'], ['🇰🇮🇱🇱', 'Violence'], ['ⓚⓘⓛⓛ', 'Violence'],
    ['k̷i̷l̷l̷', 'Violence'], ['g0ry', 'Shocking'], ['c0rpses', 'Shocking'], ['1s1s', 'Propaganda'], ['j1had', 'Propaganda'],
  ])('%j → %s', (p, c) => {
    expect(cats(p)).toContain(c);
  });

  it('reports the original span of an obfuscated match', () => {
    const p = 'a k.i.l.l-er robot';
    const [m] = findMatches(p);
    expect(m.text).toBe(p.slice(m.span[0], m.span[1]));
    expect(m.text.startsWith('k.i.l.l')).toBe(true);
  });
});
