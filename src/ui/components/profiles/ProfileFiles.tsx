// Export the profiles to a file (optionally encrypted with a passphrase) and import one. The file is made and
// read in the page; nothing is uploaded.
import { useState, type ChangeEvent } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useApp } from '../../../state/store';

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
  const [busy, setBusy] = useState(false);

  const exportAll = async () => {
    setBusy(true);
    try {
      const text = await exportProfileFile(
        profiles.map((p) => p.id),
        { passphrase: passphrase || undefined },
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
      await importProfileFile(await file.text(), { passphrase: passphrase || undefined });
    } finally {
      setBusy(false);
    }
  };

  return (
    <details className="files">
      <summary>Export or import profiles</summary>
      <label>
        File passphrase (optional; encrypts the export, needed to import an encrypted file)
        <input data-testid="profile.file.passphrase" type="password" autoComplete="off" value={passphrase} onChange={(e) => setPassphrase(e.target.value)} />
      </label>
      <div className="row">
        <button data-testid="profile.export" type="button" onClick={exportAll} disabled={busy || profiles.length === 0}>
          Export all profiles
        </button>
        <label className="file-button">
          Import a file…
          <input data-testid="profile.import" type="file" accept="application/json,.json" onChange={importFile} disabled={busy} />
        </label>
      </div>
    </details>
  );
}
