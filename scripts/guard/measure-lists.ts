// `npx tsx scripts/guard/measure-lists.ts [--split val|test] [--dir .tmp/guard-classifier] [--obscenity DIR]`
// What each word list adds, on a split written by train-classifier.ts (heldout-<split>.csv: prompt,category,source):
// per variant — the hand-kept lists alone, with the vendored LDNOOBW terms, and (given --obscenity, the unpacked
// `obscenity` npm package, e.g. `npm pack obscenity@0.4.6 && tar xzf obscenity-0.4.6.tgz` in a scratch folder —
// measured only, not a dependency) with obscenity's English dataset as one more matcher in front of ours — the share of
// unsafe prompts in which the lists find ANY category (the child preset bans all: a find is a block), per category,
// and the share of benign prompts with a find, by source (Flickr8k captions are the false-block measure). Rows that
// came from the LDNOOBW list itself (source ldnoobw) are reported apart: a list trivially finds its own terms.
// With --terms: each vendored term that fires on a benign prompt of the split, with the count (for `dropped`).
// Prints only counts and rates (no prompt text: Flickr8k's captions are not redistributed).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { GUARD_CATEGORIES } from '../../src/safety/guard/categories';
import { findMatches } from '../../src/safety/guard/guard';
import { Lexicon } from '../../src/safety/guard/lexicon';
import { LDNOOBW, LEXICON_FILES, vendoredTerms, withVendored } from '../../src/safety/guard/lexicons';
import { tokenize } from '../../src/safety/guard/normalize';
import { parseCsv } from '../lib/csv';

const { values } = parseArgs({
  options: { split: { type: 'string', default: 'val' }, dir: { type: 'string', default: '.tmp/guard-classifier' }, obscenity: { type: 'string' }, terms: { type: 'boolean' } },
});
const rows = parseCsv(readFileSync(path.join(values.dir!, `heldout-${values.split}.csv`), 'utf8'));

type Finder = (prompt: string) => boolean;
const hand = new Lexicon(LEXICON_FILES);
const withLd = new Lexicon(withVendored(LEXICON_FILES, LDNOOBW));
const variants: [string, Finder][] = [
  ['hand-kept lists', (p) => findMatches(p, [], hand).length > 0],
  ['hand + LDNOOBW', (p) => findMatches(p, [], withLd).length > 0],
];
if (values.obscenity) {
  // obscenity's recommended English setup (its own normalisation: leet, confusables, repeated letters).
  const o = createRequire(import.meta.url)(path.resolve(values.obscenity, 'dist/index.js'));
  const matcher = new o.RegExpMatcher({ ...o.englishDataset.build(), ...o.englishRecommendedTransformers });
  variants.push(['hand + obscenity', (p) => findMatches(p, [], hand).length > 0 || matcher.hasMatch(p)]);
  variants.push(['hand + LDNOOBW + obscenity', (p) => findMatches(p, [], withLd).length > 0 || matcher.hasMatch(p)]);
}

const pct = (n: number, d: number) => (d === 0 ? '–' : `${((100 * n) / d).toFixed(1)}% (${n}/${d})`);
for (const [name, found] of variants) {
  const hits = rows.map((r) => found(r.prompt));
  const line: string[] = [];
  for (const c of GUARD_CATEGORIES) {
    const idx = rows.flatMap((r, i) => (r.category === c && r.source !== 'ldnoobw' ? [i] : []));
    if (idx.length) line.push(`${c} ${pct(idx.filter((i) => hits[i]).length, idx.length)}`);
  }
  const all = rows.flatMap((r, i) => (r.category !== '' && r.source !== 'ldnoobw' ? [i] : []));
  const ld = rows.flatMap((r, i) => (r.source === 'ldnoobw' ? [i] : []));
  const benign = (src: string) => rows.flatMap((r, i) => (r.category === '' && r.source === src ? [i] : []));
  console.log(`${name}:`);
  console.log(`  unsafe (not from LDNOOBW) found ${pct(all.filter((i) => hits[i]).length, all.length)}; ${line.join(', ')}`);
  console.log(`  LDNOOBW's own terms found ${pct(ld.filter((i) => hits[i]).length, ld.length)}`);
  // Every benign source the split holds, in order of first appearance (measure-only sources included).
  for (const src of [...new Set(rows.filter((r) => r.category === '').map((r) => r.source))]) {
    const b = benign(src);
    console.log(`  benign ${src.padEnd(10)} flagged ${pct(b.filter((i) => hits[i]).length, b.length)}`);
  }
}
if (values.terms) {
  const added = [...vendoredTerms(LDNOOBW, hand)].flatMap(([category, terms]) => terms.map((t) => new Lexicon([{ category, terms: [t] }])));
  const count = new Map<string, number>();
  for (const r of rows) {
    if (r.category !== '') continue;
    const s = tokenize(r.prompt);
    for (const lex of added) {
      const h = [s.words, ...s.joined].flatMap((t) => lex.hits(t));
      if (h.length) count.set(h[0].term + ' (' + r.source + ')', (count.get(h[0].term + ' (' + r.source + ')') ?? 0) + 1);
    }
  }
  console.log('vendored terms on benign prompts:', [...count].sort((a, b) => b[1] - a[1]).map(([t, n]) => `${t} ${n}`).join(', '));
}
