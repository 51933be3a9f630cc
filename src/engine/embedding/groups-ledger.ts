// Test instrument for the layer-group encoder: a GPU-memory ledger. When the engine worker is started with a name
// containing "gpu-ledger" (the e2e suite does that by wrapping the page's Worker constructor; the app never does),
// every GPUDevice.createBuffer / GPUBuffer.destroy in the worker is counted, and at each group event (before the
// first group, after each group's session is created, after it is released) the live bytes are posted to the page
// as `{ type: 'gpu-ledger', id: '' … }` — an event the engine client ignores (no request has id ''). Buffers ORT
// never destroys stay live in the ledger, so "back to baseline" is measured, not assumed. GPUDevice.destroy() is
// counted too: by the WebGPU spec it frees every buffer made on that device (group-device.ts relies on it), and the
// bytes it freed — what ORT's own release had left live — are reported on the next event as `deviceFreedBytes`.
// groups.ts reports its events through `groupEvent`, which is a no-op unless the ledger is installed.

export type GroupEventKind = 'start' | 'created' | 'released';
export interface LedgerEntry {
  type: 'gpu-ledger';
  id: '';
  event: GroupEventKind;
  group: number;
  groups: number;
  liveBytes: number;
  liveBuffers: number;
  peakBytes: number;
  /** Bytes freed by GPUDevice.destroy() since the previous event (buffers the session release had left live). */
  deviceFreedBytes: number;
}

let observer: ((kind: GroupEventKind, group: number, groups: number) => void) | undefined;

/** Called by the group runner; does nothing unless a ledger is installed. */
export function groupEvent(kind: GroupEventKind, group: number, groups: number): void {
  observer?.(kind, group, groups);
}

/** Installs the ledger when the worker's name asks for it (test-only); returns whether it did. */
export function installGpuLedgerIfAsked(): boolean {
  const g = globalThis as unknown as { name?: string; GPUDevice?: { prototype: GPUDevice }; GPUBuffer?: { prototype: GPUBuffer }; postMessage?: (m: unknown) => void };
  if (!String(g.name ?? '').includes('gpu-ledger') || !g.GPUDevice || !g.GPUBuffer || observer) return false;
  const live = new Map<GPUBuffer, { size: number; device: GPUDevice }>();
  let liveBytes = 0;
  let peakBytes = 0;
  let deviceFreedBytes = 0;
  const forget = (b: GPUBuffer): number => {
    const e = live.get(b);
    if (!e) return 0;
    live.delete(b);
    liveBytes -= e.size;
    return e.size;
  };
  const dev = g.GPUDevice.prototype;
  const createBuffer = dev.createBuffer;
  dev.createBuffer = function (this: GPUDevice, desc: GPUBufferDescriptor) {
    const b = createBuffer.call(this, desc);
    live.set(b, { size: desc.size, device: this });
    liveBytes += desc.size;
    peakBytes = Math.max(peakBytes, liveBytes);
    return b;
  };
  const destroyDevice = dev.destroy;
  dev.destroy = function (this: GPUDevice) {
    for (const [b, e] of [...live]) if (e.device === this) deviceFreedBytes += forget(b);
    return destroyDevice.call(this);
  };
  const buf = g.GPUBuffer.prototype;
  const destroy = buf.destroy;
  buf.destroy = function (this: GPUBuffer) {
    forget(this);
    return destroy.call(this);
  };
  observer = (event, group, groups) => {
    const entry: LedgerEntry = { type: 'gpu-ledger', id: '', event, group, groups, liveBytes, liveBuffers: live.size, peakBytes, deviceFreedBytes };
    g.postMessage?.(entry);
    peakBytes = liveBytes; // peaks are per interval between events
    deviceFreedBytes = 0;
  };
  return true;
}
