// Shared bits of the browser specs: timeouts for machine-dependent waits, console watching, pixel comparison, the
// engine harness page, and a place to record measured numbers.
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from '@playwright/test';

/**
 * Limit for one wait on work whose duration scales with the machine (session creation, a generation): generous,
 * since a busy 2-core machine running WebGPU on SwiftShader is many times slower than a developer's GPU.
 */
export const SLOW = 10 * 60_000;

/**
 * Starts collecting what a person would see as problems in the devtools console: console errors, uncaught page
 * errors, and any onnxruntime warning line (ORT prints those as errors or warnings, from the page or its worker).
 */
export function watchConsole(page: Page): { problems: string[] } {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || /\[[WE]:onnxruntime/.test(m.text())) problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return { problems };
}

export const ROOT = path.resolve(import.meta.dirname, '..');

export function pixelDiff(a: ArrayLike<number>, b: ArrayLike<number>): { max: number; mean: number } {
  let max = 0;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    if (i % 4 === 3) continue;
    const d = Math.abs(a[i] - b[i]);
    max = Math.max(max, d);
    sum += d;
    n++;
  }
  return { max, mean: sum / n };
}

export async function openEngine(page: Page): Promise<void> {
  await page.goto('/engine-harness.html');
  await page.waitForFunction(() => !!(window as unknown as { __engine?: unknown }).__engine, undefined, { timeout: SLOW });
}

/** Appends measured numbers to .tmp/measurements.json (read for the closing notes; never asserted on). */
export function record(key: string, value: unknown): void {
  const f = path.join(ROOT, '.tmp', 'measurements.json');
  fs.mkdirSync(path.dirname(f), { recursive: true });
  const all = fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8')) : {};
  all[key] = value;
  fs.writeFileSync(f, JSON.stringify(all, null, 1));
}
