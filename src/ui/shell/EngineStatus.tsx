// The status line at the foot of every screen: the engine's state (engine.status), which backend runs the models
// (WebGPU adapter or WASM, and why when `auto` chose WASM although WebGPU works: engine.backend) and which bundle is
// active. Choosing the backend is in the settings screen (settings/BackendChoice.tsx).
import type { Capabilities } from '../../shared/types';
import type { BackendChoice } from '../../state/engine-slice';
import { useShallow } from 'zustand/react/shallow';
import { useApp } from '../../state/store';

/** The "Runs on" line: the backend in use, its device, and the reason for it when it is not the obvious one. */
function runsOn(caps: Capabilities, backend: string | undefined, choice: BackendChoice): string {
  if (backend === 'webgpu') {
    const a = caps.adapter;
    const soft = choice === 'webgpu' && caps.preferred === 'wasm' && caps.preferredReason ? ` — chosen by you; ${caps.preferredReason}` : '';
    return `WebGPU — ${a?.vendor || 'unknown vendor'} ${a?.architecture || ''}${a?.isFallbackAdapter ? ' (software adapter)' : ''}${caps.shaderF16 ? ', fp16' : ', fp32 only'}${soft}`;
  }
  const threads = `${caps.threads} thread${caps.threads === 1 ? '' : 's'}`;
  const why = choice === 'wasm' ? 'chosen by you' : (caps.webgpuReason ?? caps.preferredReason);
  return `WASM on the processor (${threads})${why ? ` — ${why}` : ''}`;
}

export function EngineStatus() {
  const { caps, bundle, status, loadProgress, backendChoice } = useApp(
    useShallow((s) => ({ caps: s.caps, bundle: s.bundle, status: s.status, loadProgress: s.loadProgress, backendChoice: s.backendChoice })),
  );
  const backend = bundle?.backend ?? (backendChoice === 'auto' ? caps?.preferred : backendChoice);
  return (
    <section className="engine-line" aria-label="Engine">
      <div data-testid="engine.status" data-status={status}>
        <strong>Engine:</strong> {status === 'starting' ? 'starting…' : status}
      </div>
      <div data-testid="engine.backend" data-backend={backend ?? ''} data-ort-build={bundle?.ortBuild ?? ''}>
        <strong>Runs on:</strong> {!caps ? 'detecting…' : runsOn(caps, backend, backendChoice)}
      </div>
      <div data-testid="bundle.name" data-bundle-id={bundle?.id ?? ''}>
        <strong>Model:</strong>{' '}
        {bundle
          ? `${bundle.name} v${bundle.version}${bundle.psa ? ' · personalized safety (PSA)' : ''} · U-Net ${bundle.variants.unet ?? '?'}`
          : loadProgress
            ? `loading ${loadProgress.file} (${Math.round((100 * loadProgress.loaded) / Math.max(1, loadProgress.total))}%)`
            : 'none yet'}
      </div>
    </section>
  );
}
