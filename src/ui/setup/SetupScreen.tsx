// The first-run screen, shown instead of the others until someone is chosen (no nav yet): who uses this device
// (FirstRun), the model, and for a family the parent PIN and a first profile. Saving the first profile makes it the
// active one, which ends setup: Home follows, with the parent's session still open for more profiles.
import { ProfilesPanel } from '../parent/ProfilesPanel';
import { FirstRun } from './FirstRun';
import { ModelChoice } from './ModelChoice';

export function SetupScreen() {
  return (
    <>
      <FirstRun />
      <ModelChoice />
      <ProfilesPanel setup />
    </>
  );
}
