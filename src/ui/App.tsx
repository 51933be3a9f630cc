// The app shell, in the order a person uses it: the first-run question, home (who it is for, the prompt, Generate,
// the result), the gallery of kept pictures, then the parent area (profiles and the lock, models, the engine), and
// the one PIN dialog. Other tabs' profile and lock changes are followed.
import { EngineStatus } from './components/EngineStatus';
import { GenerateForm } from './components/GenerateForm';
import { ImageView } from './components/ImageView';
import { ModelsPanel } from './components/models/ModelsPanel';
import { ProfilesPanel } from './components/profiles/ProfilesPanel';
import { useActiveEmbedding } from './components/profiles/useActiveEmbedding';
import { FirstRun } from './components/lock/FirstRun';
import { Gallery } from './gallery/Gallery';
import { PinDialog } from './components/lock/PinDialog';
import { EraseDevice } from './components/parent/EraseDevice';
import './app.css';

export function App() {
  // Start-up (profiles, engine, stored bundles, other tabs) is state/boot.ts, called once from main.tsx.
  useActiveEmbedding();
  return (
    <main>
      <header>
        <h1>psa-web</h1>
        <p>Pictures made on this device. Nothing you type leaves it.</p>
      </header>
      <FirstRun />
      <GenerateForm />
      <ImageView />
      <Gallery />
      <section className="parent-area" aria-labelledby="parent-area-title">
        <h2 id="parent-area-title" className="area-title">For parents: profiles, lock, models and engine</h2>
        <ProfilesPanel />
        <ModelsPanel />
        <EngineStatus />
        <EraseDevice />
      </section>
      <PinDialog />
    </main>
  );
}
