// The one line of feedback of profile and lock actions (on home, in setup and on the parent screen): an error in
// plain words (with the wait after a wrong PIN, counting down) or a short confirmation.
import { useShallow } from 'zustand/react/shallow';
import { useApp } from '../../state/store';
import { describeProfileError, describeProfileNotice } from '../lib/messages';
import { useNow } from '../hooks/useNow';

export function ProfileMessages() {
  const { error, notice } = useApp(useShallow((s) => ({ error: s.profileError, notice: s.profileNotice })));
  const now = useNow(!!error?.retryAt);
  if (error)
    return (
      <div role="alert" className="message error" data-testid="profile.message" data-code={error.code}>
        {describeProfileError(error, now)}
        {error.detail && <pre className="detail">{error.detail}</pre>}
      </div>
    );
  if (notice)
    return (
      <div role="status" className="message ok" data-testid="profile.message" data-code={notice.code}>
        {describeProfileNotice(notice)}
      </div>
    );
  return null;
}
