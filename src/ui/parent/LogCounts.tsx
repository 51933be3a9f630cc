// The parent log's summary above its entries: a note when the size cap has dropped old entries (how many), and a
// small table of lasting tallies per profile and category, one column per action. Both come from the log slice's
// last page load, so they are shown only behind the same PIN as the entries. Kept apart from ParentLog.tsx so that
// view's own behaviour (paging, clearing, closing) stays in one place.
import { LOG_ACTIONS, MAX_LOG_ENTRIES, type LogView } from '../../state/log-slice';
import { LOG_ACTION_TEXT } from '../lib/messages';

export function LogCounts({ log, names }: { log: Pick<LogView, 'counts' | 'dropped'>; names: Map<string, string> }) {
  const rows = log.counts.flatMap((p) => {
    const categories = [...new Set(p.rows.map((r) => r.category))].sort((a, b) => a.localeCompare(b));
    return categories.map((category) => ({
      key: `${p.profileId}\u0000${category}`,
      profile: names.get(p.profileId) ?? p.profileName,
      category,
      counts: LOG_ACTIONS.map((a) => p.rows.find((r) => r.category === category && r.action === a)?.count ?? 0),
    }));
  });
  return (
    <>
      {log.dropped > 0 && (
        <p className="note" data-testid="log.dropped" data-count={log.dropped}>
          {log.dropped.toLocaleString()} older {log.dropped === 1 ? 'entry was' : 'entries were'} removed to keep the log to its newest{' '}
          {MAX_LOG_ENTRIES.toLocaleString()}. The counts below still include them.
        </p>
      )}
      {rows.length > 0 && (
        <div className="table-scroll" role="region" aria-label="Counts per profile" tabIndex={0}>
          <table className="log-counts" data-testid="log.counts">
            <caption>How often each safety rule acted, per profile (since the log was last cleared)</caption>
            <thead>
              <tr>
                <th>Profile</th>
                <th>Category</th>
                {LOG_ACTIONS.map((a) => (
                  <th key={a}>{LOG_ACTION_TEXT[a]}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.key} data-testid="log.counts.row">
                  <td>{r.profile}</td>
                  <td>{r.category}</td>
                  {r.counts.map((n, i) => (
                    <td key={LOG_ACTIONS[i]} data-action={LOG_ACTIONS[i]}>
                      {n}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
