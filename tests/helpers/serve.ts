// Test helper: a scripts/serve-bundle.ts server for the length of one callback, closed however the callback ends.
import { serveBundle, type RunningServer, type ServeOptions } from '../../scripts/serve-bundle';

export async function withServer<T>(o: ServeOptions, fn: (s: RunningServer) => Promise<T>): Promise<T> {
  const s = await serveBundle(o);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}
