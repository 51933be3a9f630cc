// The parent screen (#parent, loaded on demand): the family's profiles and the lock, the parent log, profile files
// (export and import) and erasing the device. Behind the parent PIN when a lock is set (shell/ParentGate.tsx); every
// action here still goes through the slices, which check the lock again.
import { EraseDevice } from './EraseDevice';
import { ParentLog } from './ParentLog';
import { ProfileFiles } from './ProfileFiles';
import { ProfilesPanel } from './ProfilesPanel';

export default function ParentScreen() {
  return (
    <>
      <h2 className="screen-title" id="screen-title" tabIndex={-1}>
        For parents
      </h2>
      <ProfilesPanel />
      <section className="panel" aria-label="Parent log and profile files">
        <ParentLog />
        <ProfileFiles />
      </section>
      <EraseDevice />
    </>
  );
}
