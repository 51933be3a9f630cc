// Test-only worker of guard-harness.html: scores the prompts it is sent with the shipped classifier and posts back
// { prompt, scores } per prompt (the same module the app bundles, loaded in a worker's realm).
import { classify } from './safety/guard/classifier/classifier';

self.onmessage = (e: MessageEvent<string[]>) => {
  self.postMessage(e.data.map((prompt) => ({ prompt, scores: Object.fromEntries(classify(prompt).scores.map((s) => [s.category, s.score])) })));
};
