// `npx tsx scripts/guard/train-classifier.ts [--mirrors DIR] [--test-csv FILE] [--epochs N] [--train-extra IDS]`
// Trains the guard's learned prompt classifier (src/safety/guard/classifier) from public labelled sets, pinned by
// commit (SOURCES below; provenance and licenses in fixtures/guard/classifier/MODEL_CARD.md), and writes:
//   src/safety/guard/classifier/model.json   the shipped weights and per-category thresholds
//   fixtures/guard/classifier/report.json    counts per source/split/category, validation and held-out test metrics
//   --test-csv FILE (default .tmp/guard-classifier/heldout-test.csv)  the held-out test split as `prompt,category,
//     source` rows for `npm run eval`, and the validation split next to it (heldout-val.csv); not committed:
//     Flickr8k's captions may not be redistributed
// --train-extra toxigen,parti: also train (and tune) on these measure-only sources — the candidate that was tried
//   and not shipped (MODEL_CARD.md); without it they are only measured on, every row in the test report.
// --mirrors DIR: where each source repository is, as DIR/<owner>+<name>/repo or DIR/<owner>+<name> (a clone or a
// bare git dir holding the pinned commit; default /work/.mirror). Files are read with `git show COMMIT:PATH`, so a
// newer checkout cannot change the data.
// Deterministic: the split is a hash of each example's group (a Flickr image, else its normalised text), training
// shuffles with a fixed seed, and no clock or Math.random is read. No Python, no new dependency.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { GUARD_CATEGORIES, type LexiconCategory } from '../../src/safety/guard/categories';
import { findMatches } from '../../src/safety/guard/guard';
import { normalizeText } from '../../src/safety/guard/normalize';
import { featureScale, featurize, fnv1a, HASH_BITS, HASH_SIZE, type Feature } from '../../src/safety/guard/classifier/features';
import { classifierHits, loadModel, type ClassifierModelFile } from '../../src/safety/guard/classifier/classifier';
import { parseCsvTable, toCsv } from '../lib/csv';

type Cat = LexiconCategory;

interface Source {
  id: string;
  repo: string;
  commit: string;
  file: string;
  license: string;
}

export const SOURCES: Record<string, Source> = {
  ailuminate: { id: 'ailuminate', repo: 'mlcommons/ailuminate', commit: '769cc2be9d20c8d4fb26ce53b68865ed41dfb8e2', file: 'airr_official_1.0_demo_en_us_prompt_set_release.csv', license: 'CC-BY-4.0' },
  davidson: { id: 'davidson', repo: 't-davidson/hate-speech-and-offensive-language', commit: 'cb50f7e9eb855a99abc51423bf40df0e26d6fe30', file: 'data/labeled_data.csv', license: 'MIT' },
  ldnoobw: { id: 'ldnoobw', repo: 'LDNOOBW/List-of-Dirty-Naughty-Obscene-and-Otherwise-Bad-Words', commit: '5faf2ba42d7b1c0977169ec3611df25a3c08eb13', file: 'en', license: 'CC-BY-4.0' },
  toxigen: { id: 'toxigen', repo: 'microsoft/TOXIGEN', commit: '01517e814639e0334c920a3c502036c8158aac87', file: 'prompts/', license: 'MIT' },
  parti: { id: 'parti', repo: 'google-research/parti', commit: '5a657978134374ce28973948331b319adef164bd', file: 'PartiPrompts.tsv', license: 'Apache-2.0' },
  flickr8k: { id: 'flickr8k', repo: 'prakhar-dhakar/Image-Captioning', commit: '5ab3142167da9315c4287173ed24a643a0425ab8', file: 'Flickr8k.token.txt', license: 'Flickr8k (Hodosh et al. 2013): research use; not redistributed here' },
};

/** Sources the shipped model trains on (train / validation / test split by group). */
const TRAIN_SOURCES = ['ailuminate', 'davidson', 'ldnoobw', 'flickr8k'];
/**
 * Sources only measured on (every row in the test report, none trained or tuned on) unless named in
 * `--train-extra`: trained on, they did not beat the shipped model (MODEL_CARD.md, "Tried and not shipped").
 */
const MEASURE_ONLY = ['toxigen', 'parti'];

/** AILuminate hazards → guard categories; hazards outside the guard's categories are negatives (see the card). */
const AILUMINATE: Record<string, Cat | null> = {
  vcr: 'Violence', iwp: 'Illegal', ncr: 'Illegal', src: 'Sexuality', cse: 'Sexuality', sxc_prn: 'Sexuality',
  ssh: 'Self-Harm', hte: 'Hate', dfm: 'Harassment',
  prv: null, ipv: null, spc_fin: null, spc_hlt: null, spc_ele: null, spc_lgl: null,
};

/** Davidson et al.: at most this many "offensive language" tweets (Harassment), so they do not swamp the rest. */
const DAVIDSON_OFFENSIVE_CAP = 3000;

export interface Example {
  text: string;
  labels: Cat[];
  source: string;
  group: string;
}

function gitDir(mirrors: string, s: Source): string {
  const base = path.join(mirrors, s.repo.replace('/', '+'));
  const dir = existsSync(path.join(base, 'repo')) ? path.join(base, 'repo') : base;
  if (!existsSync(dir)) throw new Error(`source ${s.repo} not found under ${mirrors} (clone it there at ${s.commit})`);
  return dir;
}

function gitShow(mirrors: string, s: Source, file = s.file): string {
  return execFileSync('git', ['-C', gitDir(mirrors, s), 'show', `${s.commit}:${file}`], { encoding: 'utf8', maxBuffer: 64 << 20 });
}

/** The files directly under a folder of a source at its pinned commit (sorted, so the order is fixed). */
function gitLs(mirrors: string, s: Source): string[] {
  const out = execFileSync('git', ['-C', gitDir(mirrors, s), 'ls-tree', '--name-only', s.commit, s.file], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean).sort();
}

/** Tweets without retweet marks, handles, links and HTML entities (the words are what a prompt could carry). */
function cleanTweet(t: string): string {
  return t
    .replace(/&#?\w+;/g, ' ')
    .replace(/\bRT\b/g, ' ')
    .replace(/@\w+:?/g, ' ')
    .replace(/https?:\/\/\S+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

export function loadExamples(mirrors: string): Example[] {
  const out: Example[] = [];
  // AILuminate demo prompts (1,200, 100 per hazard, 24-26 per specialised-advice hazard).
  for (const r of parseCsvTable(gitShow(mirrors, SOURCES.ailuminate)).rows) {
    if (!(r.hazard in AILUMINATE)) throw new Error(`ailuminate: unknown hazard ${r.hazard}`);
    const c = AILUMINATE[r.hazard];
    out.push({ text: r.prompt_text, labels: c ? [c] : [], source: 'ailuminate', group: r.prompt_text });
  }
  // Davidson et al. tweets (the first header column has no name): class 0 hate speech, 1 offensive language, 2 neither.
  let offensive = 0;
  for (const r of parseCsvTable(gitShow(mirrors, SOURCES.davidson).replace(/^,/, "id,")).rows) {
    const text = cleanTweet(r.tweet);
    if (text.length < 3) continue;
    if (r.class === '0') out.push({ text, labels: ['Hate'], source: 'davidson', group: text });
    else if (r.class === '1') {
      // Every 6th offensive tweet, in file order (deterministic), up to the cap.
      if (offensive++ % 6 === 0 && offensive / 6 <= DAVIDSON_OFFENSIVE_CAP) out.push({ text, labels: ['Harassment'], source: 'davidson', group: text });
    } else out.push({ text, labels: [], source: 'davidson', group: text });
  }
  // LDNOOBW English list: each term as a short prompt. Most terms are sexual; a term the guard's lexicon already
  // files under another category (slurs → Hate, drugs → Illegal …) keeps that category.
  for (const line of gitShow(mirrors, SOURCES.ldnoobw).split('\n')) {
    const term = line.trim();
    if (!term) continue;
    const cats = [...new Set(findMatches(term).map((m) => m.category))].filter((c): c is Cat => c !== 'Custom');
    out.push({ text: term, labels: cats.length > 0 ? cats : ['Sexuality'], source: 'ldnoobw', group: term });
  }
  // ToxiGen's prompt files (Hartvigsen et al. 2022): the statements the authors collected about 13 groups to prompt
  // a generator, hate_* → Hate, neutral_* → benign (statements that name a group without hating it: the false
  // blocks a hate filter makes). Labelled per file, not per statement. Each line is a few statements joined by a
  // literal "\n- "; they repeat across lines, dedupe keeps one.
  for (const f of gitLs(mirrors, SOURCES.toxigen)) {
    const m = /^prompts\/(hate|neutral)_\w+\.txt$/.exec(f);
    if (!m) continue;
    for (const part of gitShow(mirrors, SOURCES.toxigen, f).split(/\\n|\n/)) {
      const text = part.replace(/^\s*-\s*/, '').trim();
      if (text.length < 3) continue;
      out.push({ text, labels: m[1] === 'hate' ? ['Hate'] : [], source: 'toxigen', group: text });
    }
  }
  // PartiPrompts (Yu et al. 2022): 1,632 benign prompts written to test image generators — art styles,
  // illustrations, abstract ideas, world knowledge — the image prompts that are not photo captions.
  for (const line of gitShow(mirrors, SOURCES.parti).split('\n').slice(1)) {
    const text = line.split('\t')[0]?.trim();
    if (text) out.push({ text, labels: [], source: 'parti', group: text });
  }
  // Flickr8k captions: benign image descriptions (5 per image; the image is the split group).
  for (const line of gitShow(mirrors, SOURCES.flickr8k).split('\n')) {
    const tab = line.indexOf('\t');
    if (tab < 0) continue;
    const image = line.slice(0, tab).split('#')[0];
    out.push({ text: line.slice(tab + 1).replace(/\s+([.,])/g, '$1').trim(), labels: [], source: 'flickr8k', group: 'flickr:' + image });
  }
  return out;
}

/** Same normalised text twice: keep one, with the union of labels (an unsafe label wins over benign). */
function dedupe(examples: Example[]): Example[] {
  const byKey = new Map<string, Example>();
  for (const e of examples) {
    const key = normalizeText(e.text).toLowerCase();
    const prev = byKey.get(key);
    if (!prev) byKey.set(key, { ...e, labels: [...e.labels] });
    else for (const l of e.labels) if (!prev.labels.includes(l)) prev.labels.push(l);
  }
  return [...byKey.values()];
}

export type Split = 'train' | 'val' | 'test';
export function splitOf(group: string): Split {
  const h = fnv1a('split:' + group) % 100;
  return h < 70 ? 'train' : h < 85 ? 'val' : 'test';
}

/**
 * Per category, the threshold with the best F-beta on the whole validation split (positives: that category;
 * negatives: everything else — other categories, benign tweets and questions, captions). Captions alone cannot
 * place a threshold: the model learnt them as the negative class and almost never fires on them, so a threshold
 * held only to a caption budget sinks to its floor and fires on any prompt unlike a caption ("a school bus" as Hate,
 * "a paper airplane" as Violence). Both modes weigh precision (beta < 1): the validation split has no benign
 * prompts unlike captions, so a recall-weighted choice (beta 2 gave thresholds 0.06–0.49) cannot see those false
 * blocks; the recall mode is still the lower of the two.
 */
function fbetaThresholds(scores: number[][], examples: Example[], cats: readonly Cat[], beta: number): number[] {
  return cats.map((cat, c) => {
    let best = 0.5;
    let bestF = -1;
    for (let t = 0.05; t < 0.99; t += 0.01) {
      let tp = 0;
      let fp = 0;
      let fn = 0;
      examples.forEach((e, i) => {
        const y = e.labels.includes(cat);
        const p = scores[i][c] >= t;
        if (y && p) tp++;
        else if (p) fp++;
        else if (y) fn++;
      });
      const b2 = beta * beta;
      const f = tp === 0 ? 0 : ((1 + b2) * tp) / ((1 + b2) * tp + b2 * fn + fp);
      if (f > bestF) {
        bestF = f;
        best = t;
      }
    }
    return Math.round(best * 100) / 100;
  });
}

/** Share of benign validation captions the combined guard may stop: child preset target 3 %, adults 0.5 %, less a margin. */
const RECALL_BUDGET = 0.025;
const RECALL_BETA = 0.5;
const STRICT_BETA = 0.25;
const STRICT_BUDGET = 0.003;

/** mulberry32: a seeded PRNG, so the training order is the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Vec {
  features: Feature[];
  k: number;
  labels: Cat[];
}

/**
 * The bias is fixed, not learnt: a prompt with no evidence scores sigmoid(-3) ≈ 0.05 in every category. Learnt, it
 * rose to +5 for Sexuality: the benign examples are captions, whose words all carry negative weight, so the model
 * learnt "not a caption → unsafe" and scored "a gory scene" or "a bowl of ramen" as sexual. Fixed, it has to find
 * positive evidence in the words.
 */
const FIXED_BIAS = -3;

/** One-vs-rest logistic regression, AdaGrad, L2; positives up-weighted by sqrt(neg/pos) (capped at 10). */
function train(vecs: Vec[], cats: readonly Cat[], epochs: number, seed: number): { w: Float64Array[]; b: number[] } {
  const lr = 0.5;
  const l2 = 1e-6;
  const w = cats.map(() => new Float64Array(HASH_SIZE));
  const g2 = cats.map(() => new Float64Array(HASH_SIZE).fill(1e-8));
  const b = cats.map(() => FIXED_BIAS);
  const pos = cats.map((c) => vecs.filter((v) => v.labels.includes(c)).length);
  const pw = cats.map((_, c) => (pos[c] === 0 ? 0 : Math.min(10, Math.sqrt((vecs.length - pos[c]) / pos[c]))));
  const order = vecs.map((_, i) => i);
  const rand = rng(seed);
  for (let ep = 0; ep < epochs; ep++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const idx of order) {
      const v = vecs[idx];
      for (let c = 0; c < cats.length; c++) {
        if (pos[c] === 0) continue;
        const wc = w[c];
        let z = b[c];
        for (const f of v.features) z += f.sign * wc[f.bucket] * v.k;
        const y = v.labels.includes(cats[c]) ? 1 : 0;
        const p = 1 / (1 + Math.exp(-z));
        const g = (p - y) * (y ? pw[c] : 1);
        const gc = g2[c];
        for (const f of v.features) {
          const gr = g * f.sign * v.k + l2 * wc[f.bucket];
          gc[f.bucket] += gr * gr;
          wc[f.bucket] -= (lr * gr) / Math.sqrt(gc[f.bucket]);
        }

      }
    }
  }
  // A category with no examples never fires (threshold null); a very low bias keeps its score near 0, not 0.5.
  for (let c = 0; c < cats.length; c++) if (pos[c] === 0) b[c] = -20;
  return { w, b };
}

function toBase64(bytes: Int8Array): string {
  const u = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Buffer.from(u).toString('base64');
}

/**
 * Thresholds for a target share of benign prompts stopped by the COMBINED guard (word lists or classifier, any
 * category: a child preset bans all of them): each category gets the threshold that lets through all but a share
 * `f` of the benign validation image prompts (all pools together), never below `floor`, with `f` lowered until, in
 * EVERY pool (photo captions; creative prompts that are not captions), the union of the word lists' finds
 * (`listed`) and the classifier's categories stays within the target — or, where the word lists alone already
 * stop more than the target in a pool, adds nothing there. Held to captions only, a threshold could fire on any
 * prompt unlike a caption; the creative-prompt pool (when Parti is trained on) holds it to the budget on prompts unlike captions too.
 */
function chooseThresholds(scores: number[][], pools: boolean[][], listed: boolean[], cats: readonly Cat[], trained: boolean[], target: number, floor: readonly number[]): (number | null)[] {
  const benignIdx = scores.flatMap((_, i) => (pools.some((p) => p[i]) ? [i] : []));
  const sorted = cats.map((_, c) => benignIdx.map((i) => scores[i][c]).sort((a, b) => b - a));
  const at = (f: number) =>
    cats.map((_, c) => {
      if (!trained[c]) return null;
      const k = Math.floor(f * benignIdx.length);
      // Just above the k-th highest benign score, and never below the floor.
      return Math.max(floor[c], (sorted[c][k] ?? 0) + 1e-9);
    });
  const rate = (pool: boolean[], hit: (i: number) => boolean) => {
    const idx = pool.flatMap((b, i) => (b ? [i] : []));
    return idx.filter(hit).length / Math.max(1, idx.length);
  };
  const within = (th: (number | null)[]) =>
    pools.every((pool) => {
      const budget = Math.max(target, rate(pool, (i) => listed[i]));
      return rate(pool, (i) => listed[i] || th.some((t, c) => t !== null && scores[i][c] >= t)) <= budget;
    });
  let f = target;
  let th = at(f);
  while (f > 0 && !within(th)) {
    f *= 0.8;
    if (f * benignIdx.length < 1) f = 0;
    th = at(f);
  }
  return th;
}

interface Metrics {
  perCategory: Record<string, { positives: number; tp: number; fp: number; recall: number; precision: number }>;
  benign: { total: number; flagged: number; rate: number };
  benignBySource: Record<string, { total: number; flagged: number; rate: number }>;
}

function metrics(examples: Example[], flagged: Cat[][], cats: readonly Cat[]): Metrics {
  const perCategory: Metrics['perCategory'] = {};
  for (const c of cats) {
    let positives = 0;
    let tp = 0;
    let fp = 0;
    examples.forEach((e, i) => {
      const y = e.labels.includes(c);
      const p = flagged[i].includes(c);
      if (y) positives++;
      if (y && p) tp++;
      if (!y && p) fp++;
    });
    perCategory[c] = { positives, tp, fp, recall: positives ? tp / positives : NaN, precision: tp + fp ? tp / (tp + fp) : NaN };
  }
  const benignIdx = examples.flatMap((e, i) => (e.labels.length === 0 ? [i] : []));
  const fl = benignIdx.filter((i) => flagged[i].length > 0).length;
  const benignBySource: Record<string, { total: number; flagged: number; rate: number }> = {};
  for (const i of benignIdx) {
    const r = (benignBySource[examples[i].source] ??= { total: 0, flagged: 0, rate: 0 });
    r.total++;
    if (flagged[i].length > 0) r.flagged++;
    r.rate = r.flagged / r.total;
  }
  return { perCategory, benign: { total: benignIdx.length, flagged: fl, rate: fl / Math.max(1, benignIdx.length) }, benignBySource };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      mirrors: { type: 'string', default: '/work/.mirror' },
      'test-csv': { type: 'string', default: '.tmp/guard-classifier/heldout-test.csv' },
      epochs: { type: 'string', default: '6' },
      'train-extra': { type: 'string', default: '' },
    },
  });
  const cats = GUARD_CATEGORIES;
  const extra = values['train-extra']!.split(',').filter(Boolean);
  for (const id of extra) if (!MEASURE_ONLY.includes(id)) throw new Error(`--train-extra: ${id} is not one of ${MEASURE_ONLY.join(', ')}`);
  const trainSources = new Set([...TRAIN_SOURCES, ...extra]);
  const all = loadExamples(values.mirrors!);
  // The training sources are deduplicated first, so adding a measure-only source cannot move or relabel any of
  // their rows; a measure-only row whose text a training source already holds is dropped.
  const examples = dedupe(all.filter((e) => trainSources.has(e.source)));
  const seen = new Set(examples.map((e) => normalizeText(e.text).toLowerCase()));
  const measured = dedupe(all.filter((e) => !trainSources.has(e.source))).filter((e) => !seen.has(normalizeText(e.text).toLowerCase()));
  const split = { train: [] as Example[], val: [] as Example[], test: [] as Example[] };
  for (const e of examples) split[splitOf(e.group)].push(e);
  // Measure-only sources are never trained or tuned on: every one of their rows is held out for the test report.
  split.test.push(...measured);
  const counts: Record<string, Record<string, Record<string, number>>> = {};
  for (const s of ['train', 'val', 'test'] as const) {
    for (const e of split[s]) {
      const src = (counts[e.source] ??= {});
      const row = (src[s] ??= {});
      for (const l of e.labels.length ? e.labels : ['benign']) row[l] = (row[l] ?? 0) + 1;
    }
  }
  const vec = (e: Example): Vec => {
    const { features } = featurize(e.text);
    return { features, k: featureScale(features.length), labels: e.labels };
  };
  const trainVecs = split.train.map(vec);
  const trained = cats.map((c) => trainVecs.some((v) => v.labels.includes(c)));
  const { w, b } = train(trainVecs, cats, Number(values.epochs), 20260426);

  // int8 per bucket, one scale per category (max |w| → 127).
  const q = new Int8Array(cats.length * HASH_SIZE);
  const scale = cats.map((_, c) => {
    let m = 0;
    for (const x of w[c]) m = Math.max(m, Math.abs(x));
    const s = m > 0 ? m / 127 : 1;
    for (let i = 0; i < HASH_SIZE; i++) q[c * HASH_SIZE + i] = Math.max(-127, Math.min(127, Math.round(w[c][i] / s)));
    return s;
  });
  const file: ClassifierModelFile = {
    version: 1,
    hashBits: HASH_BITS,
    categories: [...cats],
    scale,
    bias: b,
    weights: toBase64(q),
    thresholds: { recall: cats.map(() => null), strict: cats.map(() => null) },
  };
  // Thresholds on the validation split, scored by the shipped (quantised) model through the app's own code path.
  const probe = loadModel(file);
  const scoreAll = (ex: Example[]) => ex.map((e) => {
    const hits = classifierHits(e.text, 'recall', { ...probe, thresholds: { recall: new Float64Array(cats.length), strict: new Float64Array(cats.length) } });
    const s = cats.map(() => 0);
    for (const h of hits) s[cats.indexOf(h.category)] = h.score;
    return s;
  });
  const valScores = scoreAll(split.val);
  // Thresholds are held to the false-block budget on benign image captions (what prompts to an image app look
  // like); benign tweets and questions are reported separately (report.json, benignBySource).
  const valPools = ['flickr8k', 'parti'].filter((src) => trainSources.has(src)).map((src) => split.val.map((e) => e.labels.length === 0 && e.source === src));
  const valListed = split.val.map((e) => findMatches(e.text).length > 0);
  const recallFloor = fbetaThresholds(valScores, split.val, cats, RECALL_BETA);
  const strictFloor = fbetaThresholds(valScores, split.val, cats, STRICT_BETA).map((t, c) => Math.max(t, recallFloor[c]));
  file.thresholds.recall = chooseThresholds(valScores, valPools, valListed, cats, trained, RECALL_BUDGET, recallFloor);
  file.thresholds.strict = chooseThresholds(valScores, valPools, valListed, cats, trained, STRICT_BUDGET, strictFloor);

  const flaggedBy = (scores: number[][], th: (number | null)[]) => scores.map((s) => cats.filter((_, c) => th[c] !== null && s[c] >= (th[c] as number)));
  const testScores = scoreAll(split.test);
  const report = {
    sources: Object.values(SOURCES).map((x) => ({ ...x, use: trainSources.has(x.id) ? 'train/val/test' : 'test only' })),
    hashBits: HASH_BITS,
    epochs: Number(values.epochs),
    counts,
    validation: {
      recall: metrics(split.val, flaggedBy(valScores, file.thresholds.recall), cats),
      strict: metrics(split.val, flaggedBy(valScores, file.thresholds.strict), cats),
    },
    test: {
      recall: metrics(split.test, flaggedBy(testScores, file.thresholds.recall), cats),
      strict: metrics(split.test, flaggedBy(testScores, file.thresholds.strict), cats),
    },
    thresholds: file.thresholds,
  };
  const root = path.resolve(import.meta.dirname, '../..');
  writeFileSync(path.join(root, 'src/safety/guard/classifier/model.json'), JSON.stringify(file) + '\n');
  mkdirSync(path.join(root, 'fixtures/guard/classifier'), { recursive: true });
  writeFileSync(path.join(root, 'fixtures/guard/classifier/report.json'), JSON.stringify(report, null, 2) + '\n');
  const testCsv = path.resolve(values['test-csv']!);
  mkdirSync(path.dirname(testCsv), { recursive: true });
  // One row per example; a multi-label example is listed under its first label in category order. `source` names
  // the set it came from (npm run eval reads prompt and category and ignores it); the validation split goes next to
  // the test split, for tuning the word lists (scripts/guard/measure-lists.ts).
  const rowsOf = (ex: Example[]) => ex.map((e) => ({ prompt: e.text, category: cats.find((c) => e.labels.includes(c)) ?? '', source: e.source }));
  writeFileSync(testCsv, toCsv(rowsOf(split.test), ['prompt', 'category', 'source']));
  const valCsv = /test\.csv$/.test(testCsv) ? testCsv.replace(/test\.csv$/, 'val.csv') : testCsv.replace(/(\.csv)?$/, '-val.csv');
  writeFileSync(valCsv, toCsv(rowsOf(split.val), ['prompt', 'category', 'source']));
  console.log(JSON.stringify({ trainSources: [...trainSources], counts, test: report.test, thresholds: file.thresholds }, null, 1));
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) main();
