// One-time import of bundle records from the old layout into the IndexedDB index (schema v4). Before v4 each
// bundle's record lived in OPFS next to its files, as two alternating slots `bundle-state/<key>.0.json` /
// `<key>.1.json` holding `{ seq, state }` (the newest slot that parses was the record). The v4 migration only creates
// the index store (an IndexedDB upgrade cannot wait on OPFS), so the bundle worker runs this on its first start:
// for every key, the newest readable slot becomes an index record (unless the index already has that key: the index
// wins), then that key's slot files are deleted; the folder goes when empty. Running it again finds nothing, so it
// is safe after a crash half-way. A key whose slots are all unreadable, or whose record is refused, keeps its files
// (and is reported), never half-imported.

import { AppError } from '../../shared/errors';
import type { BundleSourceRecord } from '../../storage/bundles';
import type { BundleStore, InstallState } from './store';

/** The old records' folder, as far as the import needs it (OPFS in the worker, a map in the tests). */
export interface LegacyStateDir {
  names(): Promise<string[]>;
  read(name: string): Promise<string>;
  remove(name: string): Promise<void>;
  removeSelfIfEmpty(): Promise<void>;
}

/** The old source shape: kind psa | optimum (a URL) or folder (the folder's name in `url`). */
interface LegacySource {
  kind: string;
  url: string;
}

export interface LegacyImport {
  /** Keys now in the index from the old layout. */
  imported: string[];
  /** Keys the index already had (their old slots deleted). */
  alreadyIndexed: string[];
  /** Keys left as they were, with the reason. */
  skipped: { key: string; reason: string }[];
}

const SLOT = /^(.+)\.([01])\.json$/;

function sourceOf(s: LegacySource): BundleSourceRecord {
  if (s?.kind === 'folder') return { kind: 'import', folderName: String(s.url) };
  if (s?.kind === 'psa' || s?.kind === 'optimum') return { kind: 'url', url: String(s.url) };
  throw new AppError('BUNDLE_INVALID', `unknown source kind ${JSON.stringify(s?.kind)}`);
}

/** The newest slot of `key` that parses and names that key, converted to today's InstallState; undefined if none. */
export function newestLegacyState(key: string, texts: (string | undefined)[]): InstallState | undefined {
  let best: { seq: number; state: InstallState & { source: unknown } } | undefined;
  for (const t of texts) {
    if (t === undefined) continue;
    let rec: { seq?: unknown; state?: { key?: unknown } } | undefined;
    try {
      rec = JSON.parse(t) as typeof rec;
    } catch {
      continue; // a slot cut short by a failed write: the other one holds the last good checkpoint
    }
    if (typeof rec?.seq !== 'number' || rec.state?.key !== key) continue;
    if (!best || rec.seq > best.seq) best = rec as typeof best;
  }
  if (!best) return undefined;
  return { ...best.state, source: sourceOf(best.state.source as LegacySource) };
}

export async function importLegacyRecords(dir: LegacyStateDir | undefined, store: Pick<BundleStore, 'readState' | 'writeState'>): Promise<LegacyImport> {
  const out: LegacyImport = { imported: [], alreadyIndexed: [], skipped: [] };
  if (!dir) return out;
  const slots = new Map<string, string[]>();
  for (const name of await dir.names()) {
    const m = SLOT.exec(name);
    if (m) slots.set(m[1], [...(slots.get(m[1]) ?? []), name]);
  }
  for (const [key, names] of slots) {
    try {
      if (await store.readState(key)) out.alreadyIndexed.push(key);
      else {
        const texts = await Promise.all(names.map((n) => dir.read(n).catch(() => undefined)));
        const state = newestLegacyState(key, texts);
        if (!state) {
          out.skipped.push({ key, reason: 'no slot of its old record could be read' });
          continue;
        }
        await store.writeState(state);
        out.imported.push(key);
      }
      for (const n of names) await dir.remove(n);
    } catch (e) {
      out.skipped.push({ key, reason: (e as Error).message });
    }
  }
  await dir.removeSelfIfEmpty();
  return out;
}
