// The download manager's door: one Installer ties the install jobs (install/) to one store and fetch, independent of
// the worker and of OPFS (a BundleStore and a fetch are injected, so the Node tests drive it against
// scripts/serve-bundle.ts with an in-memory store). The jobs, one module each:
// - install/plan.ts      a bundle URL (manifest.json or an Optimum export's model_index.json) → the files this
//                        device needs, with sizes and hashes (install/probe.ts asks the host with HEAD);
// - install/download.ts  free-space check, every file in turn (install/fetch-file.ts: ranged, resumable, hashed
//                        while streaming, retried, refetched when corrupt), the manifest written last;
// - install/describe.ts  progress, the stored bundle's summary, and which files no SHA-256 pins (planSummary: Optimum
//                        exports, format-1 extras; the worker downloads those only when the person agreed).

import type { Variant } from '../../shared/bundle';
import { installContext, type DeviceChoice, type InstallContext, type InstallerEvent, type InstallerOptions } from './install/context';
import { describeBundle, needsConsent, planSummary, progressOf, remainingBytes } from './install/describe';
import { runInstall } from './install/download';
import { planInstall } from './install/plan';
import type { BundlePlan, InstallProgress, StoredBundle } from './protocol';
import type { InstallState } from './store';

export { fmtMB, type DeviceChoice, type InstallerEvent, type InstallerOptions } from './install/context';

export class Installer {
  private cx: InstallContext;

  constructor(o: InstallerOptions) {
    this.cx = installContext(o);
  }

  /** Reads the source and returns a fresh install record (or the stored one when that version is already known). */
  plan(url: string, device: DeviceChoice, wish?: Variant, kind: 'url' | 'demo' = 'url'): Promise<InstallState> {
    return planInstall(this.cx, url, device, wish, kind);
  }

  /**
   * Downloads every unfinished file of `state` (saved in the store as it goes) and finishes the bundle.
   * Aborting `signal` pauses (state saved, partial files kept); errors leave `status: 'error'` with the reason.
   */
  run(state: InstallState, emit: (e: InstallerEvent) => void, signal: AbortSignal, seen?: { usage: number; quota: number }): Promise<StoredBundle> {
    return runInstall(this.cx, state, emit, signal, seen);
  }

  describe(state: InstallState): StoredBundle {
    return describeBundle(state);
  }

  /** Bytes still to fetch (known sizes only). */
  static remaining(s: InstallState): number {
    return remainingBytes(s);
  }

  static progressOf(s: InstallState, live?: { path: string; loaded: number }, bytesPerSec = 0): InstallProgress {
    return progressOf(s, live, bytesPerSec);
  }

  /** What a fresh plan will fetch and which of it nothing can check (shown before the first byte is downloaded). */
  static summary(state: InstallState): BundlePlan {
    return planSummary(state);
  }

  /** The plan to show before downloading when it has files no hash pins and the person has not agreed yet. */
  static needsConsent(state: InstallState, allowUnverified = false): BundlePlan | undefined {
    return needsConsent(state, allowUnverified);
  }
}
