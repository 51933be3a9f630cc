// Form fields that outlive their screen: Home's prompt and options stay as typed while the person looks at the
// gallery or the parent area and comes back (the screens unmount). Memory only: a reload starts afresh, as before.
import { create } from 'zustand';

const useDrafts = create<Record<string, unknown>>(() => ({}));

/** Like useState, kept under `key` across unmounts. */
export function useDraft<T>(key: string, initial: T): [T, (value: T) => void] {
  const value = useDrafts((s) => (key in s ? (s[key] as T) : initial));
  return [value, (next: T) => useDrafts.setState({ [key]: next })];
}
