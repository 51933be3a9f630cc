// Probing a host for a file without downloading it (HEAD): whether an optional or standard-named file is there and
// how big it says it is. Planning uses it for Optimum exports and a format-1 manifest's tokenizer/scheduler extras.

import { bundleFileUrl } from '../../../shared/bundle';
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
