// First run's model step: the built-in demo (bundle.demo) in one press, with what it is; other models (a bundle URL,
// a folder) are in "Models and engine", linked from here.
import { useShallow } from 'zustand/react/shallow';
import { useApp } from '../../state/store';

export function ModelChoice() {
  const { useDemoBundle, installing, inUse, status } = useApp(
    useShallow((s) => ({ useDemoBundle: s.useDemoBundle, installing: s.installing, inUse: !s.activeBundleKey, status: s.status })),
  );
  return (
    <section className="panel" aria-labelledby="model-title" data-testid="setup.model">
      <h2 id="model-title">The picture model</h2>
      <p className="hint">
        The built-in demo is small and already on this device: it makes rough pictures, quickly. Real models (a bundle URL
        or a folder, with their size and the storage they need) are added under <a href="#settings">Models and engine</a>.
      </p>
      <div className="row">
        <button data-testid="bundle.demo" type="button" onClick={() => void useDemoBundle()} disabled={installing}>
          Use the built-in demo
        </button>
        {inUse && <em>{status === 'ready' ? '(in use, ready)' : '(in use)'}</em>}
      </div>
    </section>
  );
}
