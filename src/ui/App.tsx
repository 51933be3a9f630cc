// The app shell: the first-run question, engine status, the profiles panel, the generate form and the result, the
// gallery of kept pictures, and the one PIN dialog. Later issues add settings. Other tabs' profile and lock changes are followed.
import { useEffect } from 'react';
import { useApp } from '../state/store';
import { EngineStatus } from './components/EngineStatus';
import { GenerateForm } from './components/GenerateForm';
import { ImageView } from './components/ImageView';
import { ModelsPanel } from './components/models/ModelsPanel';
import { ProfilesPanel } from './components/profiles/ProfilesPanel';
import { useActiveEmbedding } from './components/profiles/useActiveEmbedding';
import { FirstRun } from './components/lock/FirstRun';
import { Gallery } from './gallery/Gallery';
import { PinDialog } from './components/lock/PinDialog';
import './app.css';

export function App() {
  const startEngine = useApp((s) => s.startEngine);
  const loadProfiles = useApp((s) => s.loadProfiles);
  const followOtherTabs = useApp((s) => s.followOtherTabs);
  useEffect(() => {
    void loadProfiles();
    void startEngine();
  }, [startEngine, loadProfiles]);
  useEffect(() => followOtherTabs(), [followOtherTabs]);
  useActiveEmbedding();
  return (
    <main>
      <header>
        <h1>psa-web</h1>
        <p>Pictures made on this device. Nothing you type leaves it.</p>
      </header>
      <FirstRun />
      <EngineStatus />
      <ModelsPanel />
      <ProfilesPanel />
      <GenerateForm />
      <ImageView />
      <Gallery />
      <PinDialog />
    </main>
  );
}
