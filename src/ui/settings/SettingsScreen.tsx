// The settings screen (#settings, in the parent area, loaded on demand): the models and this device's storage for
// them, and the engine's backend. Behind the parent PIN when a lock is set (shell/ParentGate.tsx).
import { BackendChoice } from './BackendChoice';
import { ModelsPanel } from './ModelsPanel';

export default function SettingsScreen() {
  return (
    <>
      <h2 className="screen-title" id="screen-title" tabIndex={-1}>
        Models and engine
      </h2>
      <ModelsPanel />
      <BackendChoice />
    </>
  );
}
