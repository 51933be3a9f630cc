// One picture opened large (`gallery.dialog`): a native modal <dialog> (focus moves in, Escape closes, focus goes
// back to the grid item that opened it) with the picture, what made it and what the safety layers did, and its
// actions: download the PNG (the stored file, `parameters` text included), use these settings (fills the generate
// form on Home, size included, and goes there), delete (a protected profile's picture asks for the parent PIN in the app's one PIN dialog, above this one).
import { useEffect, useRef } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { A1111_SAMPLER, type GalleryEntry } from '../../state/gallery-slice';
import { useApp } from '../../state/store';
import { useObjectUrl } from '../hooks/useObjectUrl';
import { goTo } from '../hooks/useScreen';
import { GALLERY_TEXT, LOG_ACTION_TEXT, LOG_STAGE_TEXT } from '../lib/messages';

const fileName = (e: GalleryEntry) => `psa-${new Date(e.createdAt).toISOString().slice(0, 19).replace(/[:T]/g, '-')}-seed${e.settings.seed}.png`;

/** What the safety layers did, in words. Categories are named to the parent only (`detailed`), as in the log. */
function safetyWords(e: GalleryEntry, detailed: boolean): string {
  const parts: string[] = [GALLERY_TEXT.safety[e.safety.decision]];
  if (detailed) for (const i of e.safety.interventions) parts.push(`${LOG_STAGE_TEXT[i.stage]}: ${i.category} — ${LOG_ACTION_TEXT[i.action as keyof typeof LOG_ACTION_TEXT] ?? i.action}`);
  if (e.safety.imageCheck?.blurred) parts.push(GALLERY_TEXT.blurred);
  else if (e.safety.imageCheck?.flagged) parts.push(GALLERY_TEXT.flagged);
  return parts.join('. ');
}

export function GalleryDetail({ entry, detailed, onClose }: { entry: GalleryEntry; detailed: boolean; onClose: () => void }) {
  const { reuseSettings, deleteFromGallery, busy } = useApp(
    useShallow((s) => ({ reuseSettings: s.reuseSettings, deleteFromGallery: s.deleteFromGallery, busy: !!s.pinPrompt })),
  );
  const ref = useRef<HTMLDialogElement>(null);
  const url = useObjectUrl(entry.png);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  const s = entry.settings;
  const m = entry.model;
  const rows: [string, string, string][] = [
    ['prompt', 'Prompt', s.prompt],
    ['negative', 'Leave out', s.negativePrompt || '—'],
    ['seed', 'Seed', String(s.seed)],
    ['steps', 'Steps', String(s.steps)],
    ['sampler', 'Sampler', `${s.scheduler} (${A1111_SAMPLER[s.scheduler]})`],
    ['guidance', 'Guidance', String(s.guidance)],
    ['size', 'Size', `${s.width}×${s.height}`],
    ['model', 'Model', `${m.name} (${m.id}@${m.version}${m.variant ? `, ${m.variant}` : ''})`],
    ['backend', 'Backend', m.backend],
    ['profile', 'Profile', entry.profile.id ? entry.profile.name : GALLERY_TEXT.noProfile],
    ['time', 'Made', new Date(entry.createdAt).toLocaleString()],
    ['safety', 'Safety', safetyWords(entry, detailed)],
  ];
  return (
    <dialog
      ref={ref}
      className="gallery-dialog"
      data-testid="gallery.dialog"
      data-entry-id={entry.id}
      aria-labelledby="gallery-dialog-title"
      onCancel={(e) => {
        e.preventDefault();
        if (!busy) onClose(); // Escape while the PIN dialog is open belongs to that dialog
      }}
    >
      <h2 id="gallery-dialog-title">{s.prompt}</h2>
      {url && <img src={url} alt={s.prompt} width={s.width} height={s.height} data-testid="gallery.image" />}
      <dl data-testid="gallery.meta">
        {rows.map(([key, label, value]) => (
          <div key={key} style={{ display: 'contents' }}>
            <dt>{label}</dt>
            <dd data-field={key}>{value}</dd>
          </div>
        ))}
      </dl>
      <div className="row">
        {url && (
          <a className="button" data-testid="gallery.download" href={url} download={fileName(entry)}>
            {GALLERY_TEXT.download}
          </a>
        )}
        <button
          type="button"
          data-testid="gallery.reuse"
          onClick={() => {
            reuseSettings(entry.id);
            onClose();
            goTo('home');
          }}
        >
          {GALLERY_TEXT.reuse}
        </button>
        <button
          type="button"
          className="danger"
          data-testid="gallery.delete"
          disabled={busy}
          onClick={() => void deleteFromGallery(entry.id).then((done) => done && onClose())}
        >
          {GALLERY_TEXT.delete}
        </button>
        <button type="button" data-testid="gallery.close" onClick={onClose} autoFocus>
          {GALLERY_TEXT.close}
        </button>
      </div>
    </dialog>
  );
}
