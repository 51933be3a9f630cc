// Prepares the active profile's embedding as soon as the engine is idle, so the first picture does not wait for
// it. Re-runs when the profile (its saved version), the active choice or the model changes; the slice decides from
// the rendered text whether anything must be recomputed (a cached embedding is reused).
import { useEffect } from 'react';
import { useApp } from '../../state/store';

export function useActiveEmbedding(): void {
  const ensure = useApp((s) => s.ensureEmbedding);
  const trigger = useApp((s) => {
    if (s.status !== 'ready' || !s.profilesLoaded) return '';
    const p = s.profiles.find((x) => x.id === s.activeProfileId);
    return `${s.bundle?.id ?? ''}|${p?.id ?? ''}|${p?.updatedAt ?? ''}`;
  });
  useEffect(() => {
    if (trigger) ensure().catch(() => undefined); // a failure is shown from the slice's embedding state
  }, [trigger, ensure]);
}
