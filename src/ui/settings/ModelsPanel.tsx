// The Models panel: the three sources (built-in demo, a bundle URL, a folder from disk), the running download with
// per-file progress and Pause/Resume/Cancel, the installed bundles with sizes, source and Remove, and this site's
// storage use, free space and whether the browser keeps it under pressure (persistence). A partial bundle (paused,
// failed — e.g. storage ran out — or an import awaiting its check) is listed with its finished files, Resume (for a
// download) and Remove. A complete bundle with a profile encoder shows the encoder's size and "Remove profile
// encoder" (only those files; cached embeddings stay and still apply), then "Download encoder again" (URL sources).
// A URL whose files no SHA-256 pins is shown as "cannot be checked", with those files, before anything is
// downloaded; it downloads only on "Download anyway". A stored bundle that was never checked says so in the list.
import { useState } from 'react';
import { describeError, UNVERIFIED_BUNDLE_TEXT } from '../lib/messages';
import { useApp } from '../../state/store';
import type { BundlePlan, StoredBundle } from '../../engine/client';
import { DownloadProgress } from './DownloadProgress';
import { FolderImport } from './FolderImport';
import { fmtBytes } from '../lib/format';

function sourceText(b: StoredBundle): string {
  if (b.source.kind === 'import') return `folder ${b.source.folderName}`;
  return b.source.kind === 'demo' ? `the built-in demo (${b.source.url})` : b.source.url;
}

/** What a partial bundle keeps: its finished files (count and names) and the ones still to come. */
function PartialFiles({ b }: { b: StoredBundle }) {
  const done = b.files.filter((f) => f.done);
  return (
    <details data-testid="bundle.item-files" data-done={done.length} data-count={b.files.length}>
      <summary>{done.length} of {b.files.length} files finished and kept</summary>
      <ul>
        {b.files.map((f) => (
          <li key={f.path} data-testid="bundle.item-file" data-path={f.path} data-done={String(f.done)}>
            <code>{f.path}</code> {f.done ? `${fmtBytes(f.bytes)} ✓` : `${fmtBytes(f.stored)} of ${fmtBytes(f.bytes)}`}
          </li>
        ))}
      </ul>
    </details>
  );
}

/** The plan of a download whose files cannot all be checked, shown before it starts: the files, and a choice. */
function UnverifiedPlan({ plan, busy, onConfirm, onDismiss }: { plan: BundlePlan; busy: boolean; onConfirm(): void; onDismiss(): void }) {
  return (
    <div data-testid="bundle.unverified" role="alert" data-key={plan.key} data-files={plan.unverifiedFiles.length}>
      <strong>{plan.name}: {UNVERIFIED_BUNDLE_TEXT}</strong>
      <details>
        <summary>{plan.unverifiedFiles.length} file{plan.unverifiedFiles.length === 1 ? '' : 's'} without a SHA-256 to check {plan.unverifiedFiles.length === 1 ? 'it' : 'them'} · {fmtBytes(plan.totalBytes)} to download</summary>
        <ul>
          {plan.unverifiedFiles.map((f) => <li key={f}><code>{f}</code></li>)}
        </ul>
      </details>
      <button data-testid="bundle.unverified-confirm" type="button" disabled={busy} onClick={onConfirm}>Download anyway</button>{' '}
      <button data-testid="bundle.unverified-dismiss" type="button" disabled={busy} onClick={onDismiss}>Do not download</button>
    </div>
  );
}

export function ModelsPanel() {
  const s = useApp();
  const [url, setUrl] = useState('');
  const resumable = s.bundles.find((b) => b.source.kind !== 'import' && (b.status === 'paused' || b.status === 'error' || b.status === 'downloading'));
  const progress = s.install ?? (resumable && !s.installing ? {
    key: resumable.key, status: resumable.status, files: [], loaded: resumable.bytes, total: resumable.totalBytes, bytesPerSec: 0,
  } : undefined);
  const free = s.storage ? Math.max(0, s.storage.quota - s.storage.usage) : undefined;
  return (
    <section className="panel" aria-label="Models" data-testid="bundle.panel">
      <h2>Models</h2>
      <div>
        <button data-testid="bundle.demo" type="button" onClick={() => void s.useDemoBundle()} disabled={s.installing}>
          Use the built-in demo
        </button>{' '}
        {!s.activeBundleKey ? <em>(in use)</em> : null}
      </div>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (url.trim()) void s.installFromUrl(url.trim());
        }}
      >
        <label>
          Bundle URL{' '}
          <input data-testid="bundle.url" type="url" value={url} placeholder="https://…/my-bundle/" onChange={(e) => setUrl(e.target.value)} size={50} />
        </label>{' '}
        <button data-testid="bundle.download" type="submit" disabled={s.installing || !url.trim()}>Download</button>
      </form>
      {s.unverifiedPlan && (
        <UnverifiedPlan plan={s.unverifiedPlan} busy={s.installing} onConfirm={() => void s.confirmUnverified()} onDismiss={() => s.dismissUnverified()} />
      )}
      <FolderImport disabled={s.installing} onImport={(name, files) => void s.importFolder(name, files)} />
      {progress && (
        <DownloadProgress
          p={progress}
          running={s.installing}
          onPause={() => void s.pauseInstall()}
          onResume={() => resumable && void s.resumeBundle(resumable.key)}
          onCancel={() => void s.cancelInstall()}
        />
      )}
      {s.corruptFiles.length > 0 && (
        <ul data-testid="bundle.corrupt">
          {s.corruptFiles.map((f, i) => (
            <li key={i}>{f} failed its integrity check (SHA-256); it was deleted and downloaded again.</li>
          ))}
        </ul>
      )}
      {s.bundleNotice && <p data-testid="bundle.notice" role="status">{s.bundleNotice}</p>}
      {s.bundleError && (
        <div data-testid="bundle.error" role="alert" data-code={s.bundleError.code}>
          <strong>{describeError(s.bundleError).title}</strong>
          <div className="detail">{s.bundleError.message}</div>
        </div>
      )}
      <h3>On this device</h3>
      <ul data-testid="bundle.list">
        {s.bundles.map((b) => (
          <li key={b.key} data-testid="bundle.item" data-key={b.key} data-status={b.status} data-state={b.state} data-verified={String(b.verified)}>
            <strong>{b.name}</strong> v{b.version} — {fmtBytes(b.state === 'complete' && !b.encoder?.removed ? b.totalBytes : b.bytes)}
            {b.state === 'partial' ? ` of ${fmtBytes(b.totalBytes)} (partial: ${b.status})` : ''} · from {sourceText(b)}
            {b.licenseName ? ` · license ${b.licenseName}` : ''}
            {b.verified ? '' : ` · not checked (no SHA-256 for ${b.unverifiedFiles.length} file${b.unverifiedFiles.length === 1 ? '' : 's'})`}{' '}
            {b.state === 'complete' && (
              <button data-testid="bundle.use" type="button" disabled={s.installing || s.activeBundleKey === b.key} onClick={() => void s.useStoredBundle(b.key)}>
                {s.activeBundleKey === b.key ? 'In use' : 'Use'}
              </button>
            )}
            {b.state === 'partial' && b.source.kind !== 'import' && (
              <button data-testid="bundle.item-resume" type="button" disabled={s.installing} onClick={() => void s.resumeBundle(b.key)}>Resume</button>
            )}{' '}
            <button data-testid="bundle.remove" type="button" disabled={s.installing} onClick={() => void s.removeBundle(b.key)}>Remove</button>
            {b.state === 'complete' && b.encoder && (
              <div data-testid="bundle.encoder" data-removed={String(b.encoder.removed)} data-bytes={b.encoder.bytes}>
                Profile encoder: {fmtBytes(b.encoder.bytes)}{' '}
                {b.encoder.removed ? (
                  <>
                    <em>· profile encoder removed (saved profile embeddings still apply)</em>{' '}
                    {b.source.kind !== 'import' && (
                      <button data-testid="bundle.redownload-encoder" type="button" disabled={s.installing} onClick={() => void s.resumeBundle(b.key)}>
                        Download encoder again
                      </button>
                    )}
                  </>
                ) : (
                  <button data-testid="bundle.remove-encoder" type="button" disabled={s.installing || s.status === 'loading'} onClick={() => void s.removeEncoder(b.key)}>
                    Remove profile encoder
                  </button>
                )}
              </div>
            )}
            {b.state === 'partial' && <PartialFiles b={b} />}
          </li>
        ))}
        {!s.bundles.length && <li>None yet.</li>}
      </ul>
      <p data-testid="bundle.storage" data-usage={s.storage?.usage} data-quota={s.storage?.quota} data-persisted={String(!!s.storage?.persisted)}>
        Storage: {s.storage ? `${fmtBytes(s.storage.usage)} used, ${fmtBytes(free!)} free` : '…'} ·{' '}
        {s.storage?.persisted ? 'kept by the browser (persistent)' : 'may be cleared by the browser when the disk is full (not persistent)'}
      </p>
    </section>
  );
}
