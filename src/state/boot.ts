// The app's one start-up, called once from main.tsx before the first render (not spread over component effects,
// which React's StrictMode runs twice): the stored profiles and lock, the engine on the remembered stored bundle
// (what makes an installed bundle work offline) or else the built-in demo, the list of stored bundles, and
// following the other tabs' profile and lock changes.
import { rememberedBundleUrl } from './bundles-slice';
import { useApp } from './store';

let booted = false;

export function boot(): void {
  if (booted) return;
  booted = true;
  const s = useApp.getState();
  void s.loadProfiles();
  void s.startEngine(rememberedBundleUrl());
  void s.refreshBundles();
  s.followOtherTabs();
}
