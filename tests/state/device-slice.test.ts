// "Erase everything": nothing is touched unless the PIN is given again (even in an open session); then every stored
// bundle's files go before the database, and a failure is reported, not swallowed.
import { describe, expect, it } from 'vitest';
import { create } from 'zustand';
import { createDeviceSlice, type DeviceDeps, type DeviceSlice } from '../../src/state/device-slice';

function makeStore(allow: (opts: { fresh?: boolean; pin?: string }) => boolean, fail?: Error) {
  const calls: string[] = [];
  const deps: DeviceDeps = {
    eraseAppData: async () => {
      calls.push('database');
      if (fail) throw fail;
    },
    removeBundleFiles: async (key) => void calls.push(`bundle ${key}`),
  };
  const s = create<DeviceSlice & Record<string, unknown>>()((set, get, api) => ({
    bundles: [{ key: 'a@1' }, { key: 'b@2' }],
    refreshBundles: async () => undefined,
    authorize: async (_need: boolean, purpose: string, opts: { fresh?: boolean; pin?: string } = {}) => {
      calls.push(`authorize ${purpose} fresh=${!!opts.fresh}`);
      return allow(opts);
    },
    ...createDeviceSlice(deps)(set as never, get as never, api as never),
  }));
  return { s, calls };
}

describe('eraseEverything', () => {
  it('asks for the PIN afresh and touches nothing when it is refused', async () => {
    const { s, calls } = makeStore(() => false);
    expect(await s.getState().eraseEverything()).toBe(false);
    expect(calls).toEqual(['authorize erase fresh=true']);
  });
  it('removes every stored bundle, then the database', async () => {
    const { s, calls } = makeStore((o) => o.pin === '4821');
    expect(await s.getState().eraseEverything('4821')).toBe(true);
    expect(calls).toEqual(['authorize erase fresh=true', 'bundle a@1', 'bundle b@2', 'database']);
  });
  it('reports a failure (another tab holding the database) instead of claiming success', async () => {
    const { s } = makeStore(() => true, new Error('another tab keeps it open'));
    expect(await s.getState().eraseEverything()).toBe(false);
    expect(s.getState().eraseError?.message).toContain('another tab');
  });
});
