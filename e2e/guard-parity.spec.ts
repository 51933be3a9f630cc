// The prompt classifier gives the same scores in Chromium (on the page, where the app runs the guard, and in a module
// worker) as in Node: the same TypeScript, bundled by Vite for the browser and run by the test process here, must
// agree to 1e-12 relative on every category of every prompt — hashing (Math.imul, >>>), base64 decoding (atob),
// Math.exp and float64 sums could each differ, and a threshold compared against a differing score would decide
// differently in the app than in `npm run eval`. The prompts are written for this test and include obfuscations
// (normalisation runs first), Unicode look-alikes and an empty prompt. Needs a PSA_HARNESS=1 build
// (guard-harness.html).
import { test, expect } from '@playwright/test';
import { classify } from '../src/safety/guard/classifier/classifier';

const PROMPTS = [
  'a dog playing in the park',
  'a photo of a penis and a vagina',
  'A PHOTO of a n.u.d.e',
  'kill all the jews',
  'a guide to stealing cars',
  'how can I hurt myself without anyone noticing',
  'trailer trash hillbilly with a gun',
  'ｓｅｘｙ ѕріdеr in a k.i.l.l.e.r suit, 𝐡𝐢𝐠𝐡𝐥𝐲 detailed, trending on artstation',
  's u i c i d e',
  'nuuuuude beach party',
  '',
  'portrait of an elf queen, octane render, 8k',
];

type Scores = { prompt: string; scores: Record<string, number> }[];
const REL = 1e-12;

test('classifier scores in the page and in a worker equal Node\'s (relative difference ≤ 1e-12)', async ({ page }) => {
  await page.goto('/guard-harness.html');
  await expect(page.locator('#status')).toHaveText('ready');
  const inPage = await page.evaluate((p) => (window as unknown as { __guard: { page(p: string[]): Scores } }).__guard.page(p), PROMPTS);
  const inWorker = await page.evaluate((p) => (window as unknown as { __guard: { worker(p: string[]): Promise<Scores> } }).__guard.worker(p), PROMPTS);
  let compared = 0;
  let maxRel = 0;
  for (const [where, got] of [['page', inPage], ['worker', inWorker]] as const) {
    expect(got.map((g) => g.prompt)).toEqual(PROMPTS);
    got.forEach((g, i) => {
      const node = classify(PROMPTS[i]).scores;
      expect(Object.keys(g.scores)).toEqual(node.map((s) => s.category));
      for (const s of node) {
        const b = g.scores[s.category];
        const rel = Math.abs(b - s.score) / Math.max(Math.abs(s.score), 1e-300);
        maxRel = Math.max(maxRel, rel);
        expect(rel, `${where}: "${PROMPTS[i]}" ${s.category}: Node ${s.score}, Chromium ${b}`).toBeLessThanOrEqual(REL);
        compared++;
      }
    });
  }
  // Not vacuous: every prompt × category × both realms, and some scores are far from 0 and 1.
  expect(compared).toBe(2 * PROMPTS.length * 8);
  expect(inPage.some((g) => Object.values(g.scores).some((s) => s > 0.5))).toBe(true);
  console.log(`guard parity: ${compared} scores compared, largest relative difference ${maxRel}`);
});
