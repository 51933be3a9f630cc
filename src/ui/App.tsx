// The app shell: engine status, the profiles panel, the generate form and the result. Later issues add the gallery
// and settings.
import { useEffect } from 'react';
import { useApp } from '../state/store';
import { EngineStatus } from './components/EngineStatus';
import { GenerateForm } from './components/GenerateForm';
import { ImageView } from './components/ImageView';
import { ModelsPanel } from './components/models/ModelsPanel';
import { ProfilesPanel } from './components/profiles/ProfilesPanel';
import { useActiveEmbedding } from './components/profiles/useActiveEmbedding';
import './app.css';

export function App() {
  const startEngine = useApp((s) => s.startEngine);
  const loadProfiles = useApp((s) => s.loadProfiles);
  useEffect(() => {
    void loadProfiles();
    void startEngine();
  }, [startEngine, loadProfiles]);
  useActiveEmbedding();
  return (
    <main>
      <header>
        <h1>psa-web</h1>
        <p>Pictures made on this device. Nothing you type leaves it.</p>
      </header>
      <EngineStatus />
      <ModelsPanel />
      <ProfilesPanel />
      <GenerateForm />
      <ImageView />
    </main>
  );
}
