// The app's screens and their addresses: each screen has a URL hash (#home, #gallery, #parent, #settings) so a
// reload, the back button and a bookmark keep it. Parent and settings are the parent area (behind the PIN when a
// lock is set). An unknown or empty hash is Home.

export const SCREENS = ['home', 'gallery', 'parent', 'settings'] as const;
export type Screen = (typeof SCREENS)[number];

/** The nav's words for each screen (the parent area's two screens are marked as such in the nav itself). */
export const SCREEN_LABELS: Record<Screen, string> = {
  home: 'Home',
  gallery: 'Gallery',
  parent: 'For parents',
  settings: 'Models and engine',
};

/** Screens behind the parent PIN (when a lock is set). */
export const PARENT_SCREENS: readonly Screen[] = ['parent', 'settings'];

/** The screen a location hash names ("#gallery" → gallery); anything else is home. */
export function screenOf(hash: string): Screen {
  const name = hash.replace(/^#\/?/, '');
  return (SCREENS as readonly string[]).includes(name) ? (name as Screen) : 'home';
}

export const hashOf = (s: Screen): string => `#${s}`;
