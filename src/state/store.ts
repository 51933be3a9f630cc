// The app's one zustand store, built from slices: the engine (capabilities, the active bundle, generation progress
// and result), the profiles (family profiles, parent lock, the active profile's embedding), the parent log and the
// gallery (the pictures kept on the device). Persistence goes on the combined store only (zustand's slices pattern);
// profiles and pictures persist through src/storage, not zustand.
import { create } from 'zustand';
import { createBundlesSlice, removeStoredBundleFiles, type BundlesSlice } from './bundles-slice';
import { createDeviceSlice, realDeviceDeps, type DeviceSlice } from './device-slice';
import { embedThroughEngine } from './engine-embed';
import { createEngineSlice, type EngineSlice } from './engine-slice';
import { createGallerySlice, type GallerySlice } from './gallery-slice';
import { createLogSlice, type LogSlice } from './log-slice';
import { realProfileDeps } from './profile-deps';
import { createProfilesSlice, type ProfilesSlice } from './profiles-slice';

export type AppState = EngineSlice & ProfilesSlice & BundlesSlice;

export const useApp = create<AppState & LogSlice & GallerySlice & DeviceSlice>()((...a) => ({
  ...createEngineSlice(...a),
  ...createProfilesSlice(realProfileDeps, embedThroughEngine)(...a),
  ...createBundlesSlice(...a),
  ...createLogSlice()(...a),
  ...createGallerySlice()(...a),
  ...createDeviceSlice(realDeviceDeps(removeStoredBundleFiles))(...a),
}));
