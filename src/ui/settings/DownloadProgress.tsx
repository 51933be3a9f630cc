// The running (or paused / failed) download: total and per-file progress bars, speed, time left, and
// Pause / Resume / Cancel.
import type { InstallProgress } from '../../engine/client';
import { fmtBytes, fmtEta } from '../lib/format';

export function DownloadProgress(props: { p: InstallProgress; running: boolean; onPause(): void; onResume(): void; onCancel(): void }) {
  const { p, running } = props;
  return (
    <div data-testid="bundle.progress" data-status={p.status} data-loaded={p.loaded} data-total={p.total}>
      <div>
        <strong>{p.key}</strong> — {p.status}: {fmtBytes(p.loaded)} of {fmtBytes(p.total)}
        {running && p.bytesPerSec > 0 ? ` · ${fmtBytes(p.bytesPerSec)}/s · ${fmtEta(p.etaSec)} left` : ''}
      </div>
      <progress max={p.total || 1} value={p.loaded} aria-label="total" />
      <ul className="bundle-files">
        {p.files.map((f) => (
          <li key={f.path} data-testid="bundle.file" data-path={f.path} data-status={f.status}>
            <progress max={f.total || 1} value={f.loaded} aria-label={f.path} /> <code>{f.path}</code> {fmtBytes(f.loaded)} / {fmtBytes(f.total)} {f.status !== 'waiting' ? f.status : ''}
          </li>
        ))}
      </ul>
      {running ? (
        <button data-testid="bundle.pause" type="button" onClick={props.onPause}>Pause</button>
      ) : p.status !== 'complete' ? (
        <button data-testid="bundle.resume" type="button" onClick={props.onResume}>Resume</button>
      ) : null}{' '}
      {p.status !== 'complete' && <button data-testid="bundle.cancel" type="button" onClick={props.onCancel}>Cancel</button>}
    </div>
  );
}
