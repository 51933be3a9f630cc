// The app shell: engine status, a minimal generate form and the result. Later issues add profiles, gallery, settings.
import { useEffect } from 'react';
import { useApp } from '../state/store';
import { EngineStatus } from './components/EngineStatus';
import { GenerateForm } from './components/GenerateForm';
import { ImageView } from './components/ImageView';
import './app.css';

export function App() {
  const startEngine = useApp((s) => s.startEngine);
  useEffect(() => {
    void startEngine();
  }, [startEngine]);
  return (
    <main>
      <header>
        <h1>psa-web</h1>
        <p>Pictures made on this device. Nothing you type leaves it.</p>
      </header>
      <EngineStatus />
      <GenerateForm />
      <ImageView />
    </main>
  );
}
