// The app shell: the header with the screens' nav, one screen at a time (lib/screens.ts: the URL hash says which),
// the engine's status line at the foot, and the one PIN dialog. Until someone is chosen the first-run screen stands
// in for all of them. The parent area (parent, settings) is behind ParentGate and its code is loaded on demand, so
// the first screen carries only what a child's home needs.
import { lazy, Suspense, useEffect, useRef } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useApp } from '../state/store';
import { Gallery } from './gallery/Gallery';
import { HomeScreen } from './home/HomeScreen';
import { useActiveEmbedding } from './hooks/useActiveEmbedding';
import { useParentSession } from './hooks/useParentSession';
import { useScreen } from './hooks/useScreen';
import { SetupScreen } from './setup/SetupScreen';
import { EngineStatus } from './shell/EngineStatus';
import { LockStatus } from './shell/LockStatus';
import { Nav } from './shell/Nav';
import { ParentGate } from './shell/ParentGate';
import { PinDialog } from './shell/PinDialog';
import './app.css';

const ParentScreen = lazy(() => import('./parent/ParentScreen'));
const SettingsScreen = lazy(() => import('./settings/SettingsScreen'));

export function App() {
  // Start-up (profiles, engine, stored bundles, other tabs) is state/boot.ts, called once from main.tsx.
  useActiveEmbedding();
  const { loaded, firstRun } = useApp(useShallow((s) => ({ loaded: s.profilesLoaded, firstRun: s.profilesLoaded && !s.activeProfileId && !s.noProfileChosen })));
  const hashScreen = useScreen();
  // Until someone is chosen, Home and the gallery are the first-run screen; the parent area can still be opened by
  // its address (no lock exists yet), e.g. to add a model first.
  const screen = firstRun && (hashScreen === 'home' || hashScreen === 'gallery') ? 'setup' : hashScreen;
  useParentSession(screen);

  // A new screen moves focus to its heading (a screen reader announces it; Tab goes on from there). Not on the
  // first render: the page has just loaded and focus belongs at its start.
  const mainRef = useRef<HTMLElement>(null);
  const shown = useRef(screen);
  useEffect(() => {
    if (shown.current === screen) return;
    shown.current = screen;
    const heading = mainRef.current?.querySelector<HTMLElement>('h2');
    if (!heading) return;
    if (!heading.hasAttribute('tabindex')) heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
    window.scrollTo(0, 0); // a new screen starts at its top, header and nav included
  }, [screen]);

  return (
    <>
      <header className="app-header">
        <h1>psa-web</h1>
        <p>Pictures made on this device. Nothing you type leaves it.</p>
        {loaded && <LockStatus />}
        {screen !== 'setup' && loaded && <Nav current={hashScreen} />}
      </header>
      <main ref={mainRef} data-screen={loaded ? screen : 'loading'}>
        {!loaded ? (
          <p role="status">Opening…</p>
        ) : screen === 'setup' ? (
          <SetupScreen />
        ) : screen === 'home' ? (
          <HomeScreen />
        ) : screen === 'gallery' ? (
          <Gallery />
        ) : (
          <ParentGate>
            <Suspense fallback={<p role="status">Loading…</p>}>{screen === 'parent' ? <ParentScreen /> : <SettingsScreen />}</Suspense>
          </ParentGate>
        )}
      </main>
      <footer>
        <EngineStatus />
      </footer>
      <PinDialog />
    </>
  );
}
