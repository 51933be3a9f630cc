// Importing a model folder from disk: the directory picker where the browser has it, <input webkitdirectory>
// otherwise (and for tests: Playwright's setInputFiles), and drag and drop of a folder onto the drop zone.
import { useState, type DragEvent } from 'react';

type Picked = { path: string; file: File };

/** Walks a dropped or picked directory handle into (relative path, File) pairs. */
async function walkHandle(dir: FileSystemDirectoryHandle, prefix = ''): Promise<Picked[]> {
  const out: Picked[] = [];
  for await (const [name, h] of dir as unknown as AsyncIterable<[string, FileSystemHandle]>) {
    if (h.kind === 'file') out.push({ path: `${prefix}${name}`, file: await (h as FileSystemFileHandle).getFile() });
    else out.push(...(await walkHandle(h as FileSystemDirectoryHandle, `${prefix}${name}/`)));
  }
  return out;
}

/** Walks a dropped entry (webkitGetAsEntry) into (relative path, File) pairs. */
async function walkEntry(entry: FileSystemEntry, prefix = ''): Promise<Picked[]> {
  if (entry.isFile) {
    const file = await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej));
    return [{ path: `${prefix}${entry.name}`, file }];
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  const out: Picked[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
    if (!batch.length) break;
    for (const e of batch) out.push(...(await walkEntry(e, `${prefix}${entry.name}/`)));
  }
  return out;
}

export function FolderImport(props: { disabled: boolean; onImport(name: string, files: Picked[]): void }) {
  const [over, setOver] = useState(false);
  const picker = (globalThis as { showDirectoryPicker?: () => Promise<FileSystemDirectoryHandle> }).showDirectoryPicker;
  const onDrop = async (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    const entry = e.dataTransfer.items[0]?.webkitGetAsEntry();
    if (entry?.isDirectory) {
      const files = await walkEntry(entry);
      props.onImport(entry.name, files.map((f) => ({ ...f, path: f.path.slice(entry.name.length + 1) })));
    }
  };
  return (
    <div
      className={`bundle-drop${over ? ' over' : ''}`}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => void onDrop(e)}
    >
      <label>
        Import a model folder from this computer{' '}
        <input
          data-testid="bundle.import"
          type="file"
          disabled={props.disabled}
          // webkitdirectory is not in React's attribute types; it is what makes this a folder picker.
          {...({ webkitdirectory: '', directory: '' } as Record<string, string>)}
          onChange={(e) => {
            const list = [...(e.target.files ?? [])];
            if (!list.length) return;
            const name = (list[0].webkitRelativePath || list[0].name).split('/')[0];
            props.onImport(name, list.map((file) => ({ path: file.webkitRelativePath || file.name, file })));
            e.target.value = '';
          }}
        />
      </label>
      {picker && (
        <button
          type="button"
          disabled={props.disabled}
          onClick={async () => {
            try {
              const dir = await picker();
              props.onImport(dir.name, await walkHandle(dir));
            } catch {
              /* the person closed the picker */
            }
          }}
        >
          Choose folder…
        </button>
      )}
      <span className="hint"> or drop a folder here</span>
    </div>
  );
}
