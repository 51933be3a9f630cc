// `npx tsx scripts/guard/heldout-table.ts [--split test|val] [--dir .tmp/guard-classifier]`
// The README's held-out table, reproducibly: judges the split written by train-classifier.ts (every row, none picked
// by hand) with `npm run eval`'s own evaluate() under three profiles — the child preset (recall thresholds, block),
// the teen preset (recall thresholds; PSA bans only Sexuality at 15), and an adult who banned all seven categories
// and Illegal (strict thresholds, steer) — and prints Markdown: per category recall and precision (as eval prints
// them), and per benign source the share blocked (and, for the adult, steered). Counts and rates only: Flickr8k's
// captions are not redistributed.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { GUARD_CATEGORIES } from '../../src/safety/guard/categories';
import { computePolicy } from '../../src/safety/policy';
import { createProfile } from '../../src/safety/profile';
import { CATEGORIES } from '../../src/shared/profile';
import { parseCsv } from '../lib/csv';
import { evaluate, readPrompts } from '../eval';

const { values } = parseArgs({ options: { split: { type: 'string', default: 'test' }, dir: { type: 'string', default: '.tmp/guard-classifier' } } });
const file = path.join(values.dir!, `heldout-${values.split}.csv`);
const text = readFileSync(file, 'utf8');
// Rows from the LDNOOBW list are left out of the table (the word lists hold those very terms, and the classifier
// trained on the list's other terms) and counted on their own line.
const allSources = parseCsv(text).map((r) => r.source ?? '');
const all = readPrompts(text, file);
const prompts = all.filter((_, i) => allSources[i] !== 'ldnoobw');
const sources = allSources.filter((s) => s !== 'ldnoobw');
const ldnoobw = all.filter((_, i) => allSources[i] === 'ldnoobw');

const child = createProfile('child', { id: 'child', now: 0 });
const teen = createProfile('teen', { id: 'teen', now: 0 });
const adultBase = createProfile('adult', { id: 'adult-bans-all', now: 0 });
const adult = { ...adultBase, choices: Object.fromEntries(CATEGORIES.map((c) => [c, 'ban' as const])), actions: { Illegal: 'steer' as const } };
const profiles = [child, teen, adult].map((profile) => ({ id: profile.id, profile, policy: computePolicy(profile) }));
const { summary, acted, decisions } = evaluate(prompts, profiles);

const pct = (n: number, d: number) => (d === 0 ? '–' : `${((100 * n) / d).toFixed(1)} %`);
const out: string[] = [];
out.push(`| Category | test prompts | ${profiles.map((p) => `${p.id} recall | ${p.id} precision`).join(' | ')} |`);
out.push(`|---|---|${profiles.map(() => '---|---').join('|')}|`);
for (const c of GUARD_CATEGORIES) {
  const total = summary.child[c]?.total ?? 0;
  if (total === 0) {
    out.push(`| ${c} | 0 | ${profiles.map(() => '– | –').join(' | ')} |`);
    continue;
  }
  const cells = profiles.map((p) => {
    const k = summary[p.id][c];
    const a = acted[p.id][c];
    return `${pct(k.blocked + k.steered, k.total)} | ${pct(a.labelled, a.stopped)}`;
  });
  out.push(`| ${c} | ${total} | ${cells.join(' | ')} |`);
}
out.push('');
out.push(`| Benign source | prompts | ${profiles.map((p) => `${p.id} blocked${p.id.startsWith('adult') ? ` | ${p.id} steered` : ''}`).join(' | ')} |`);
out.push(`|---|---|${profiles.map((p) => (p.id.startsWith('adult') ? '---|---' : '---')).join('|')}|`);
for (const src of [...new Set(sources)].sort()) {
  const rows = new Set(prompts.filter((r, i) => r.category === '' && sources[i] === src).map((r) => String(r.row)));
  if (rows.size === 0) continue;
  const cells = profiles.map((p) => {
    const d = decisions.filter((x) => x.profile === p.id && rows.has(x.row));
    const b = pct(d.filter((x) => x.decision === 'blocked').length, d.length);
    return p.id.startsWith('adult') ? `${b} | ${pct(d.filter((x) => x.decision === 'steered').length, d.length)}` : b;
  });
  out.push(`| ${src} | ${rows.size} | ${cells.join(' | ')} |`);
}
const ld = evaluate(ldnoobw, profiles.slice(0, 1)).summary.child;
const ldStopped = Object.values(ld).reduce((n, k) => n + k.blocked + k.steered, 0);
const ldTotal = Object.values(ld).reduce((n, k) => n + k.total, 0);
out.push('');
out.push(`Left out above: ${ldTotal} one-word rows from the LDNOOBW list (child preset stops ${pct(ldStopped, ldTotal)}; the lists hold those terms).`);
console.log(out.join('\n'));
