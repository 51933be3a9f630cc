// The screens' addresses (src/ui/lib/screens.ts): each screen's hash names it back, and anything else is Home, so a
// stale or mistyped address never shows a blank page.
import { describe, expect, it } from 'vitest';
import { hashOf, PARENT_SCREENS, screenOf, SCREENS } from '../../src/ui/lib/screens';

describe('screen addresses', () => {
  it('each screen round-trips through its hash', () => {
    for (const s of SCREENS) expect(screenOf(hashOf(s))).toBe(s);
    expect(screenOf('#/gallery')).toBe('gallery');
  });
  it('an empty, unknown or partial hash is Home', () => {
    for (const h of ['', '#', '#nope', '#parents', '#Gallery', 'gallery-x']) expect(screenOf(h)).toBe('home');
  });
  it('the parent area is the parent and settings screens only', () => {
    expect([...PARENT_SCREENS].sort()).toEqual(['parent', 'settings']);
  });
});
