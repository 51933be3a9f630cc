// Which backend runs the models: Auto (the engine's choice, said with its reason in the status line), WebGPU (the
// graphics card; offered only when the browser has it) or WASM (the processor). Changing it restarts the engine.
import { useShallow } from 'zustand/react/shallow';
import type { BackendChoice as Choice } from '../../state/engine-slice';
import { useApp } from '../../state/store';

const CHOICES: { value: Choice; label: string }[] = [
  { value: 'auto', label: 'Auto' },
  { value: 'webgpu', label: 'WebGPU (graphics card)' },
  { value: 'wasm', label: 'WASM (processor)' },
];

export function BackendChoice() {
  const { caps, status, backendChoice, startEngine } = useApp(
    useShallow((s) => ({ caps: s.caps, status: s.status, backendChoice: s.backendChoice, startEngine: s.startEngine })),
  );
  const busy = status === 'loading' || status === 'generating' || status === 'starting';
  return (
    <section className="panel" aria-labelledby="backend-title">
      <h2 id="backend-title">Engine</h2>
      <label>
        Run on{' '}
        <select data-testid="engine.backend-choice" value={backendChoice} disabled={busy} onChange={(e) => void startEngine(undefined, e.target.value as Choice)}>
          {CHOICES.map((c) => (
            <option key={c.value} value={c.value} disabled={c.value === 'webgpu' && caps !== undefined && !caps.webgpu}>
              {c.label}
            </option>
          ))}
        </select>
      </label>
      <p className="hint">What it runs on now, and why, is shown at the foot of every screen.</p>
    </section>
  );
}
