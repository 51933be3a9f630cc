// Shared bits of the engine specs: pixel comparison, the harness page, and a place to record measured numbers.
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from '@playwright/test';

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
  await page.waitForFunction(() => !!(window as unknown as { __engine?: unknown }).__engine);
}

/** Appends measured numbers to .tmp/measurements.json (read for the closing notes; never asserted on). */
export function record(key: string, value: unknown): void {
  const f = path.join(ROOT, '.tmp', 'measurements.json');
  fs.mkdirSync(path.dirname(f), { recursive: true });
  const all = fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8')) : {};
  all[key] = value;
  fs.writeFileSync(f, JSON.stringify(all, null, 1));
}
