// Memory probes of the measurement specs (bundles.spec.ts, full-size.spec.ts): each JS context's V8 heap over CDP
// (the page and its workers: the download worker `psa-bundles`, the engine worker `psa-engine`), and the resident set
// of this test's Chromium renderer and GPU processes from /proc; helpers that keep per-phase peaks of both.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { CDPSession, Page } from '@playwright/test';

const MB = 1e6;

export interface Heap { used: number; backing: number }
type Rpc = { id?: number; result?: { usedSize: number; backingStorageSize: number } };
/**
 * JS heaps over CDP Runtime.getHeapUsage (used heap, and ArrayBuffer backing stores apart: bytes read into an
 * ArrayBuffer are not "JS heap" to V8, but they are memory — in the engine worker this includes ORT's wasm memory):
 * the page's, and each worker's (the download worker `psa-bundles`, the engine worker `psa-engine`, ORT's own).
 * Workers are reached from a browser-level CDP session with non-flattened Target.attachToTarget, one target at a
 * time, re-listed every sample so a worker started by the Download click is picked up. (Attaching to workers with
 * Target.setAutoAttach next to Playwright's own session made the page stop answering Playwright; this does not.)
 */
export async function heapProbe(page: Page, session?: () => Promise<CDPSession>) {
  // A persistent context has no Browser object: the caller passes a session (the page's) whose Target domain is used.
  const browser = page.context().browser();
  if (!browser && !session) return { profile: async () => undefined, sample: async () => ({}) as Record<string, Heap>, send: async <T>(..._: unknown[]): Promise<T | undefined> => undefined };
  const cdp: CDPSession = session ? await session() : await browser!.newBrowserCDPSession();
  const sessions = new Map<string, { sessionId: string; name: string }>();
  const pending = new Map<number, (m: Rpc) => void>();
  let nextId = 0;
  cdp.on('Target.receivedMessageFromTarget', (e: { message: string }) => {
    const m = JSON.parse(e.message) as Rpc;
    if (m.id !== undefined) pending.get(m.id)?.(m);
  });
  const heapOf = (sessionId: string) => new Promise<Heap | undefined>((done) => {
    const id = ++nextId;
    const timer = setTimeout(() => { pending.delete(id); done(undefined); }, 5_000); // a busy worker: skip this sample
    pending.set(id, (m) => {
      clearTimeout(timer);
      pending.delete(id);
      done(m.result ? { used: m.result.usedSize, backing: m.result.backingStorageSize } : undefined);
    });
    cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method: 'Runtime.getHeapUsage' }) }).catch(() => done(undefined));
  });
  const call = <T>(sessionId: string, method: string, params: object = {}, ms = 30_000) => new Promise<T | undefined>((done) => {
    const id = ++nextId;
    const timer = setTimeout(() => { pending.delete(id); done(undefined); }, ms);
    pending.set(id, (m) => {
      clearTimeout(timer);
      pending.delete(id);
      done(m.result as T | undefined);
    });
    cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) }).catch(() => done(undefined));
  });
  const sessionOf = (name: string) => [...sessions.values()].find((s) => s.name === name)?.sessionId;
  return {
    /** One CDP command to a context already seen by sample() (e.g. 'psa-engine'); undefined if absent or no answer. */
    send: <T>(name: string, method: string, params: object = {}) => {
      const sid = sessionOf(name);
      return sid ? call<T>(sid, method, params, 120_000) : Promise.resolve(undefined);
    },
    /** CPU profile of one worker (PSA_MEASURE_PROFILE=1): start now, stop() gives the top self-time functions. */
    async profile(name: string) {
      const sid = sessionOf(name);
      if (!sid) return undefined;
      await call(sid, 'Profiler.enable');
      await call(sid, 'Profiler.setSamplingInterval', { interval: 500 });
      await call(sid, 'Profiler.start');
      return async () => {
        type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number };
        const r = await call<{ profile: { nodes: Node[]; samples: number[]; timeDeltas: number[] } }>(sid, 'Profiler.stop');
        if (!r) return [];
        const self = new Map<string, number>();
        const byId = new Map(r.profile.nodes.map((n) => [n.id, n]));
        r.profile.samples.forEach((id, i) => {
          const f = byId.get(id)!.callFrame;
          const k = `${f.functionName || '(anonymous)'} ${path.basename(f.url)}:${f.lineNumber}`;
          self.set(k, (self.get(k) ?? 0) + (r.profile.timeDeltas[i] ?? 0));
        });
        const total = [...self.values()].reduce((a, v) => a + v, 0);
        return [...self].sort((x, y) => y[1] - x[1]).slice(0, 15).map(([k, us]) => `${((100 * us) / total).toFixed(1)}% ${(us / 1000).toFixed(0)} ms ${k}`);
      };
    },
    async sample(): Promise<Record<string, Heap>> {
      const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: { targetId: string; type: string; title: string; url: string }[] };
      const out: Record<string, Heap> = {};
      for (const t of targetInfos) {
        const isPage = t.type === 'page' && t.url.startsWith(page.url().slice(0, 20));
        if (t.type !== 'worker' && !isPage) continue;
        if (!sessions.has(t.targetId)) {
          const r = (await cdp.send('Target.attachToTarget', { targetId: t.targetId, flatten: false }).catch(() => undefined)) as { sessionId: string } | undefined;
          if (!r) continue;
          sessions.set(t.targetId, { sessionId: r.sessionId, name: isPage ? 'page' : t.title || path.basename(t.url) });
        }
        const s = sessions.get(t.targetId)!;
        const h = await heapOf(s.sessionId);
        if (h) out[s.name] = h;
      }
      return out;
    },
  };
}

/** Resident set (bytes) of this test's Chromium renderer and GPU processes (descendants of this process). */
export function chromiumRss(): { renderer: number; gpu: number } {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch { /* gone */ }
  }
  const mine = (pid: number) => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === process.pid) return true;
    return false;
  };
  const out = { renderer: 0, gpu: 0 };
  for (const pid of parent.keys()) {
    if (!mine(pid)) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const kind = cmd.includes('--type=renderer') ? 'renderer' : cmd.includes('--type=gpu-process') ? 'gpu' : undefined;
      if (!kind) continue;
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (rss) out[kind] += Number(rss[1]) * 1024;
    } catch { /* gone */ }
  }
  return out;
}

/** Bytes per measure: `<context>.used` / `<context>.backing` for the page and each worker, `renderer` and `gpu` RSS. */
export type Peak = Record<string, number>;
export const flat = (heaps: Record<string, Heap>, rss: { renderer: number; gpu: number }): Peak => ({
  ...Object.fromEntries(Object.entries(heaps).flatMap(([k, h]) => [[`${k}.used`, h.used], [`${k}.backing`, h.backing]])),
  ...(process.env.PSA_MEASURE_NO_RSS ? {} : rss),
});
export const raise = (peak: Peak, now: Peak) => { for (const [k, v] of Object.entries(now)) peak[k] = Math.max(peak[k] ?? 0, v); };
export const mbOf = (p: Peak) => Object.fromEntries(Object.entries(p).sort().map(([k, v]) => [k, Math.round((v / MB) * 10) / 10]));

