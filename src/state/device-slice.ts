// "Erase everything on this device": an action that spans the slices (zustand's slices pattern gives such an
// action its own slice). The parent's, with the PIN asked again even in an open session (destructive); it removes
// every stored model through the engine's door, then the whole database and the app's local keys
// (storage/erase.ts), tells the other tabs, and leaves the reload to the UI. The result is a first visit.
import type { StateCreator } from 'zustand';
import { toErrorInfo, type ErrorInfo } from '../shared/errors';
import { eraseAppData } from '../storage/erase';
import type { BundlesSlice } from './bundles-slice';
import type { ProfilesSlice } from './profiles-slice';
import { announce } from './tab-sync';

export interface DeviceSlice {
  /** Why the last erase did not finish (the PIN refused is not an error: nothing happens). */
  eraseError?: ErrorInfo;
  /** True when everything was erased (the page should reload); false when refused or failed. */
  eraseEverything(pin?: string): Promise<boolean>;
}

type All = DeviceSlice & Pick<ProfilesSlice, 'authorize'> & Pick<BundlesSlice, 'bundles' | 'refreshBundles'>;

export interface DeviceDeps {
  eraseAppData(): Promise<void>;
  /** Removes one stored bundle's files (OPFS) through the engine's door. */
  removeBundleFiles(key: string): Promise<void>;
}

export const createDeviceSlice =
  (deps: DeviceDeps): StateCreator<All, [], [], DeviceSlice> =>
  (set, get) => ({
    async eraseEverything(pin) {
      set({ eraseError: undefined });
      if (!(await get().authorize(true, 'erase', { pin, fresh: true }))) return false;
      try {
        await get().refreshBundles();
        for (const b of get().bundles) await deps.removeBundleFiles(b.key);
        await deps.eraseAppData();
      } catch (e) {
        set({ eraseError: toErrorInfo(e) });
        return false;
      }
      announce('profiles');
      announce('lock');
      return true;
    },
  });

/** The real rooms: the database and local keys (src/storage), model files through the engine's door. */
export const realDeviceDeps = (removeBundleFiles: (key: string) => Promise<void>): DeviceDeps => ({ eraseAppData, removeBundleFiles });
