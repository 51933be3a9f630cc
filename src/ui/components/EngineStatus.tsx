// Shows which backend runs the models (WebGPU adapter or WASM) and which bundle is active.
import { useApp } from '../../state/store';

export function EngineStatus() {
  const { caps, bundle, status, loadProgress } = useApp();
  const backend = bundle?.backend ?? caps?.preferred;
  return (
    <section className="panel" aria-label="Engine">
      <div data-testid="engine.status" data-status={status}>
        <strong>Engine:</strong> {status === 'starting' ? 'starting…' : status}
      </div>
      <div data-testid="engine.backend" data-backend={backend ?? ''}>
        <strong>Runs on:</strong>{' '}
        {!caps
          ? 'detecting…'
          : backend === 'webgpu'
            ? `WebGPU — ${caps.adapter?.vendor || 'unknown vendor'} ${caps.adapter?.architecture || ''}${caps.adapter?.isFallbackAdapter ? ' (software adapter)' : ''}${caps.shaderF16 ? ', fp16' : ', fp32 only'}`
            : `WASM on the processor (${caps.threads} thread${caps.threads === 1 ? '' : 's'})${caps.webgpuReason ? ` — ${caps.webgpuReason}` : ''}`}
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
