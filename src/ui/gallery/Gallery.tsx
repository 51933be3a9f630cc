// The gallery (`gallery`): the pictures kept on this device, a grid per profile — every profile's for the parent
// (no lock, or the lock open), only the active profile's otherwise (the slice decides and reads only those) — with
// the storage they use. An item (`gallery.item`) opens the picture large (GalleryDetail). The list is read again
// whenever who is looking changes (the active profile, the lock, the moment the parent's session runs out) and when
// another tab keeps or deletes a picture.
import { useEffect, useMemo, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { GalleryEntry } from '../../state/gallery-slice';
import { useApp } from '../../state/store';
import { fmtBytes } from '../lib/format';
import { useObjectUrl } from '../hooks/useObjectUrl';
import { describeGalleryError, GALLERY_TEXT } from '../lib/messages';
import { GalleryDetail } from './GalleryDetail';
import './gallery.css';

function GalleryItem({ entry, onOpen }: { entry: GalleryEntry; onOpen: () => void }) {
  const url = useObjectUrl(entry.png);
  return (
    <li>
      <button
        type="button"
        className="gallery-item"
        data-testid="gallery.item"
        data-entry-id={entry.id}
        data-profile-id={entry.profile.id ?? ''}
        data-seed={entry.settings.seed}
        onClick={onOpen}
        aria-label={`${GALLERY_TEXT.open}: ${entry.settings.prompt}`}
      >
        {url && <img src={url} alt="" width={entry.settings.width} height={entry.settings.height} />}
        <span className="caption">{entry.settings.prompt}</span>
      </button>
    </li>
  );
}

/** How many of the active profile's newest pictures Home shows (the Gallery screen shows them all). */
const RECENT = 6;

/**
 * The whole gallery (its screen), or with `recent` Home's strip: the active profile's newest few pictures, the same
 * items (they open the same way), without the storage line.
 */
export function Gallery({ recent = false }: { recent?: boolean }) {
  const { gallery, loadGallery, follow, profilesLoaded, activeProfileId, lockExists, unlockedUntil, profiles, unlock } = useApp(
    useShallow((s) => ({
      gallery: s.gallery,
      loadGallery: s.loadGallery,
      follow: s.followGalleryInOtherTabs,
      profilesLoaded: s.profilesLoaded,
      activeProfileId: s.activeProfileId,
      lockExists: s.lock.exists,
      unlockedUntil: s.lock.unlockedUntil,
      profiles: s.profiles,
      unlock: s.unlock,
    })),
  );
  const [openId, setOpenId] = useState<string>();
  useEffect(() => follow(), [follow]);
  useEffect(() => {
    if (profilesLoaded) void loadGallery();
    // `profiles` too: a deleted profile's pictures went with it (storage/profiles.ts deleteProfile).
  }, [profilesLoaded, activeProfileId, lockExists, unlockedUntil, profiles, loadGallery]);
  useEffect(() => {
    // The parent's session ends by time alone (no state change): read again then, so a child's screen narrows.
    const left = unlockedUntil - Date.now();
    if (!lockExists || left <= 0) return;
    const t = setTimeout(() => void loadGallery(), left + 50);
    return () => clearTimeout(t);
  }, [lockExists, unlockedUntil, loadGallery]);

  // One grid per profile, in the order of each profile's newest picture; a profile's current name when it still
  // exists (renamed since), the name it had otherwise.
  const groups = useMemo(() => {
    const byKey = new Map<string, GalleryEntry[]>();
    const shown = recent ? gallery.entries.filter((e) => e.profileKey === (activeProfileId ?? '')).slice(0, RECENT) : gallery.entries;
    for (const e of shown) byKey.set(e.profileKey, [...(byKey.get(e.profileKey) ?? []), e]);
    return [...byKey].map(([key, entries]) => ({
      key,
      name: key === '' ? GALLERY_TEXT.noProfile : (profiles.find((p) => p.id === key)?.name ?? entries[0].profile.name),
      entries,
    }));
  }, [gallery.entries, profiles, recent, activeProfileId]);
  const open = gallery.entries.find((e) => e.id === openId);

  if (recent && groups.length === 0) return null;
  return (
    <section
      className="panel gallery"
      aria-labelledby="gallery-title"
      data-testid={recent ? 'gallery.recent' : 'gallery'}
      data-sees-all={gallery.seesAll ? 'yes' : 'no'}
    >
      <h2 id="gallery-title">{recent ? GALLERY_TEXT.recent : GALLERY_TEXT.title}</h2>
      {!recent && (
        <>
          <p className="hint">{GALLERY_TEXT.intro}</p>
          {lockExists && <p className="hint">{gallery.seesAll ? GALLERY_TEXT.seesAll : GALLERY_TEXT.seesOwn}</p>}
          {lockExists && !gallery.seesAll && (
            <button type="button" data-testid="gallery.unlock" onClick={() => void unlock()}>
              {GALLERY_TEXT.unlock}
            </button>
          )}
          <p data-testid="gallery.storage" data-bytes={gallery.bytes} data-count={gallery.entries.length}>
            {GALLERY_TEXT.storage}: {fmtBytes(gallery.bytes)} ({gallery.entries.length} {gallery.entries.length === 1 ? 'picture' : 'pictures'})
          </p>
        </>
      )}
      {gallery.error && (
        <p role="alert" className="message error" data-testid="gallery.error" data-code={gallery.error.code}>
          {describeGalleryError(gallery.error)}
        </p>
      )}
      {!recent && gallery.status === 'ready' && gallery.entries.length === 0 && <p data-testid="gallery.empty">{GALLERY_TEXT.empty}</p>}
      {recent && (
        <p>
          <a href="#gallery" data-testid="gallery.all">
            {GALLERY_TEXT.seeAll}
          </a>
        </p>
      )}
      {groups.map((g) => (
        <section key={g.key} aria-label={g.name} data-testid="gallery.profile" data-profile-id={g.key}>
          {!recent && (gallery.seesAll || groups.length > 1) && <h3>{g.name}</h3>}
          <ul className="gallery-grid">
            {g.entries.map((e) => (
              <GalleryItem key={e.id} entry={e} onOpen={() => setOpenId(e.id)} />
            ))}
          </ul>
        </section>
      ))}
      {open && <GalleryDetail entry={open} detailed={gallery.seesAll} onClose={() => setOpenId(undefined)} />}
    </section>
  );
}
