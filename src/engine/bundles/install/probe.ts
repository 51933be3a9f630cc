// Probing a host for a file without downloading it (HEAD): whether an optional or standard-named file is there and
// how big it says it is. Planning uses it for Optimum exports and a format-1 manifest's tokenizer/scheduler extras.

import { bundleFileUrl } from '../../../shared/bundle';
import { AppError } from '../../../shared/errors';
import { refuseRedirectAway } from '../../bundle-reader';

/**
 * Content-Length of a file on the host (0 when not said), or undefined when it is not there. A redirect out of the
 * bundle's folder is an error, not "not there": an optional file would otherwise be skipped without a word.
 */
export async function headSize(fetchFn: typeof fetch, base: string, path: string): Promise<number | undefined> {
  let r: Response;
  try {
    r = await fetchFn(bundleFileUrl(base, path), { method: 'HEAD', cache: 'no-store' });
  } catch {
    return undefined;
  }
  refuseRedirectAway(r, base, path);
  if (!r.ok || (r.headers.get('content-type') ?? '').includes('text/html')) return undefined;
  return Number(r.headers.get('content-length') ?? 0);
}

/**
 * Ranged reads of a file on the host (`Range: bytes=a-b`), for scanning a .onnx's header fields without
 * downloading its weights (onnx-scan.ts). A host that ignores Range answers 200 with the whole file: that body is
 * kept and later reads are served from it, so the file is fetched at most once either way.
 */
export function httpRangeRead(fetchFn: typeof fetch, base: string, path: string): (start: number, end: number) => Promise<Uint8Array> {
  let whole: Uint8Array | undefined;
  return async (start, end) => {
    if (whole) return whole.subarray(start, end);
    let r: Response;
    try {
      r = await fetchFn(bundleFileUrl(base, path), { headers: { Range: `bytes=${start}-${end - 1}` }, cache: 'no-store' });
    } catch (e) {
      if (e instanceof AppError) throw e;
      throw new AppError('DOWNLOAD_FAILED', `could not read ${path}'s header from ${base}: ${(e as Error).message}`);
    }
    refuseRedirectAway(r, base, path);
    if (r.status === 206) return new Uint8Array(await r.arrayBuffer());
    if (r.status === 200) {
      whole = new Uint8Array(await r.arrayBuffer());
      return whole.subarray(start, end);
    }
    throw new AppError('DOWNLOAD_FAILED', `${path} at ${base}: HTTP ${r.status} for its bytes ${start}–${end - 1}`);
  };
}
