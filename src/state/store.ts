// The app's one zustand store, built from slices. Today: the engine slice (capabilities, the active bundle,
// generation progress and result). Later slices (profiles, gallery, settings) join here; persistence goes on the
// combined store only (zustand's slices pattern).
import { create } from 'zustand';
import { createEngineSlice, type EngineSlice } from './engine-slice';

export type AppState = EngineSlice;

export const useApp = create<AppState>()((...a) => ({
  ...createEngineSlice(...a),
}));
