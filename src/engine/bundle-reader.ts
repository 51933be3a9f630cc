// Where bundle bytes come from. The engine reads a bundle only through `BundleReader`, so the same loading code
// serves the built-in demo (HTTP from the app's own origin), a user-chosen host, OPFS (model-bundles issue) and the
// Node CLI (files on disk, node-reader.ts). Missing files become MODEL_FILE_MISSING naming the file. Over HTTP a
// file's URL is made only by shared/bundle's bundleFileUrl, and an answer redirected out of the bundle's folder is
// refused (refuseRedirectAway), so neither a manifest nor a host can make the app load bytes from elsewhere.

import { bundleFileUrl, isWithinBundle } from '../shared/bundle';
import { AppError } from '../shared/errors';

export interface BundleReader {
  /** Human-readable location, used in messages ("http://…/demo/", "/path/to/bundle"). */
  readonly label: string;
  /** Bytes of a file (path relative to the bundle root); throws MODEL_FILE_MISSING when absent. */
  bytes(path: string, onProgress?: (loaded: number, total: number) => void): Promise<Uint8Array>;
  /** True when the file exists. */
  exists(path: string): Promise<boolean>;
  /**
   * Bytes of an external-data file for ORT's `externalData`, where the reader can hand them over without reading the
   * whole file into memory first (OPFS in a worker: bundles/ranged-bytes.ts). Absent → use `bytes`.
   */
  externalBytes?(path: string, onProgress?: (loaded: number, total: number) => void): Promise<Uint8Array>;
}

/** External data as the reader best hands it to ORT (read per initializer from OPFS; whole files elsewhere). */
export function externalBytes(reader: BundleReader, path: string, onProgress?: (loaded: number, total: number) => void): Promise<Uint8Array> {
  return reader.externalBytes ? reader.externalBytes(path, onProgress) : reader.bytes(path, onProgress);
}

export async function readText(r: BundleReader, path: string): Promise<string> {
  return new TextDecoder().decode(await r.bytes(path));
}

export async function readJson<T = unknown>(r: BundleReader, path: string): Promise<T> {
  const text = await readText(r, path);
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new AppError('BUNDLE_INVALID', `${path} in ${r.label} is not valid JSON (${(e as Error).message})`);
  }
}

/** Parsed JSON object of an optional config file; `{}` when the bundle does not have it. */
export async function readJsonIfPresent(r: BundleReader, path: string): Promise<Record<string, unknown>> {
  return (await r.exists(path)) ? readJson<Record<string, unknown>>(r, path) : {};
}

/**
 * Throws BUNDLE_REDIRECT_REFUSED when `res` was redirected out of the bundle folder `base` (another host, scheme,
 * port or folder), after dropping its body. Why the default `redirect: 'follow'` and this check rather than the
 * fetch options: `redirect: 'manual'` gives browsers an opaque answer (status 0, no Location) but Node the 3xx
 * itself, so the two would need different code; `redirect: 'error'` is a bare TypeError, indistinguishable from a
 * network failure (the installer would retry it as one and end with a vague "the connection kept failing"), and it
 * also refuses harmless redirects inside the folder. `Response.url` is the final URL after redirects in both (and
 * readable for CORS answers); it is '' only for a Response built by hand, which was never redirected.
 */
export function refuseRedirectAway(res: Response, base: string, path: string): void {
  if (!res.url || isWithinBundle(res.url, base)) return;
  void res.body?.cancel().catch(() => undefined);
  throw new AppError('BUNDLE_REDIRECT_REFUSED', `${path}: the host at ${base} redirected it to ${res.url}, outside the bundle's folder; nothing from there was used`);
}

/** Reads a bundle over HTTP(S) relative to `baseUrl` (a folder URL; a trailing slash is added). */
export function httpReader(baseUrl: string, fetchImpl: typeof fetch = fetch): BundleReader {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const url = (p: string) => bundleFileUrl(base, p);
  return {
    label: base,
    async exists(path) {
      const target = url(path);
      let res: Response;
      try {
        res = await fetchImpl(target, { method: 'HEAD' });
      } catch {
        return false;
      }
      refuseRedirectAway(res, base, path);
      // Vite's dev server answers unknown paths with index.html (200, text/html): not a bundle file.
      return res.ok && !(res.headers.get('content-type') ?? '').includes('text/html');
    },
    async bytes(path, onProgress) {
      const target = url(path);
      let res: Response;
      try {
        res = await fetchImpl(target);
      } catch (e) {
        throw new AppError('MODEL_FILE_MISSING', `could not fetch ${path} from ${base}: ${(e as Error).message}`);
      }
      refuseRedirectAway(res, base, path);
      if (!res.ok || (res.headers.get('content-type') ?? '').includes('text/html')) {
        throw new AppError('MODEL_FILE_MISSING', `${path} is missing from the bundle at ${base} (HTTP ${res.status})`);
      }
      const total = Number(res.headers.get('content-length') ?? 0);
      if (!res.body || !onProgress) return new Uint8Array(await res.arrayBuffer());
      const chunks: Uint8Array[] = [];
      let loaded = 0;
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        loaded += value.length;
        onProgress(loaded, total || loaded);
      }
      const out = new Uint8Array(loaded);
      let o = 0;
      for (const c of chunks) {
        out.set(c, o);
        o += c.length;
      }
      return out;
    },
  };
}
