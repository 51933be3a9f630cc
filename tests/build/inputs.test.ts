// A production build holds only the app page; the engine harness (no guard, no profile) only in test builds.
import { describe, expect, it } from 'vitest';
import { buildInputs } from '../../scripts/build/inputs';

describe('build inputs', () => {
  it('production: the app page only', () => {
    expect(buildInputs({})).toEqual({ main: 'index.html' });
    expect(buildInputs({ PSA_HARNESS: '0' })).toEqual({ main: 'index.html' });
  });
  it('test builds (PSA_HARNESS=1): the harness pages too', () => {
    expect(buildInputs({ PSA_HARNESS: '1' })).toEqual({ main: 'index.html', harness: 'harness.html', engine: 'engine-harness.html', guard: 'guard-harness.html' });
  });
});
