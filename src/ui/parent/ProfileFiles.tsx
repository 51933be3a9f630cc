// Export the profiles to a file and import one. Export is encrypted with the file passphrase unless the parent
// ticks "Save without a passphrase", which first shows what a plain file exposes (a child's age, religion,
// health…). The chosen File goes to the slice as it is, so its size is checked before it is read. The file is made
// and read in the page; nothing is uploaded.
import { useState, type ChangeEvent } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useApp } from '../../state/store';
import { PLAIN_EXPORT_WARNING } from '../lib/messages';

function download(text: string, name: string) {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function ProfileFiles() {
  const { profiles, exportProfileFile, importProfileFile } = useApp(
    useShallow((s) => ({ profiles: s.profiles, exportProfileFile: s.exportProfileFile, importProfileFile: s.importProfileFile })),
  );
  const [passphrase, setPassphrase] = useState('');
  const [plain, setPlain] = useState(false);
  const [busy, setBusy] = useState(false);

  const exportAll = async () => {
    setBusy(true);
    try {
      const text = await exportProfileFile(
        profiles.map((p) => p.id),
        plain ? { plain: true } : { passphrase: passphrase || undefined },
      );
      if (text) download(text, `psa-profiles-${new Date().toISOString().slice(0, 10)}.json`);
    } finally {
      setBusy(false);
    }
  };
  const importFile = async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    e.target.value = '';
    if (!file) return;
    setBusy(true);
    try {
      await importProfileFile(file, { passphrase: passphrase || undefined });
    } finally {
      setBusy(false);
    }
  };

  return (
    <details className="files">
      <summary>Export or import profiles</summary>
      <label>
        File passphrase (at least 8 characters: it encrypts the export, and opens an encrypted file on import)
        <input data-testid="profile.file.passphrase" type="password" autoComplete="off" value={passphrase} onChange={(e) => setPassphrase(e.target.value)} />
      </label>
      <label>
        <input data-testid="profile.export.plain" type="checkbox" checked={plain} onChange={(e) => setPlain(e.target.checked)} /> Save without a passphrase
      </label>
      {plain && (
        <p className="warn" role="alert" data-testid="profile.export.plainWarning">
          {PLAIN_EXPORT_WARNING}
        </p>
      )}
      <div className="row">
        <button data-testid="profile.export" type="button" onClick={exportAll} disabled={busy || profiles.length === 0}>
          {plain ? 'Export all profiles, readable by anyone' : 'Export all profiles (encrypted)'}
        </button>
        <label className="file-button">
          Import a file…
          <input data-testid="profile.import" type="file" accept="application/json,.json" onChange={importFile} disabled={busy} />
        </label>
      </div>
    </details>
  );
}
