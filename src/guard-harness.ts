// Test-only page module (guard-harness.html, PSA_HARNESS=1 builds only): window.__guard scores prompts with the
// shipped classifier in this page (the app runs the guard on the main thread) and in a module worker, so a test can
// compare both with Node's scores for the same prompts. Scores are returned as full float64 numbers.
import { classify } from './safety/guard/classifier/classifier';

export type Scores = { prompt: string; scores: Record<string, number> }[];

function scoreAll(prompts: readonly string[]): Scores {
  return prompts.map((prompt) => ({ prompt, scores: Object.fromEntries(classify(prompt).scores.map((s) => [s.category, s.score])) }));
}

function inWorker(prompts: readonly string[]): Promise<Scores> {
  const worker = new Worker(new URL('./guard-harness-worker.ts', import.meta.url), { type: 'module' });
  return new Promise((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<Scores>) => {
      worker.terminate();
      resolve(e.data);
    };
    worker.onerror = (e) => {
      worker.terminate();
      reject(new Error(`guard harness worker: ${e.message}`));
    };
    worker.postMessage(prompts);
  });
}

(window as unknown as { __guard: unknown }).__guard = { page: scoreAll, worker: inWorker };
document.getElementById('status')!.textContent = 'ready';
