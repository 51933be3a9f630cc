// The parent log view, inside the parent area: it opens at once in the open parent session (the area's door took the
// PIN; storage is shown the session, not the PIN, and refuses once it ends), and asks for the PIN through the one
// dialog only when the session has closed meanwhile. Newest first with filters (profile, stage, action), pages, which
// check decided each prompt entry, a JSON export and a two-step clear that asks for the PIN again. Everything goes
// through the log slice; the slice closes the view when the parent's session ends. Hosted by the parent screen
// (parent/ParentScreen.tsx).
import { useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { LOG_ACTIONS, LOG_STAGES, type LogAction, type LogFilter, type LogStage } from '../../state/log-slice';
import { useApp } from '../../state/store';
import { describeLogError, logDecidedBy, LOG_ACTION_TEXT, LOG_STAGE_TEXT } from '../lib/messages';
import { LogCounts } from './LogCounts';

export function ParentLog() {
  const { log, profiles, openLog, setLogFilter, setLogPage, exportParentLog, clearParentLog, closeLog } = useApp(
    useShallow((s) => ({
      log: s.log,
      profiles: s.profiles,
      openLog: s.openLog,
      setLogFilter: s.setLogFilter,
      setLogPage: s.setLogPage,
      exportParentLog: s.exportParentLog,
      clearParentLog: s.clearParentLog,
      closeLog: s.closeLog,
    })),
  );
  const [confirmClear, setConfirmClear] = useState(false);

  if (log.status === 'closed') {
    return (
      <section className="parent-log" aria-label="Parent log">
        <button data-testid="log.open" type="button" onClick={() => void openLog()}>
          Open the parent log
        </button>
      </section>
    );
  }

  const setFilter = (patch: Partial<LogFilter>) => {
    const next = { ...log.filter, ...patch };
    for (const k of Object.keys(next) as (keyof LogFilter)[]) if (!next[k]) delete next[k];
    void setLogFilter(next);
  };
  const download = async () => {
    const text = await exportParentLog();
    if (text === undefined) return;
    const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `parent-log-${new Date().toISOString().slice(0, 10)}.json`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 0);
  };
  const names = new Map(profiles.map((p) => [p.id, p.name]));
  const page = Math.floor(log.offset / log.pageSize) + 1;
  const pages = Math.max(1, Math.ceil(log.total / log.pageSize));

  return (
    <section className="parent-log" aria-label="Parent log">
      <h3>
        Parent log{' '}
        <button type="button" onClick={closeLog} data-testid="log.close">
          Close
        </button>
      </h3>
      {log.error && (
        <p className="warn" role="alert" data-testid="log.error">
          {describeLogError(log.error)}
        </p>
      )}
      {log.writeError && (
        <p className="warn" role="alert">
          The last event could not be written to the log.
        </p>
      )}
      {log.status === 'locked' ? (
        <div className="row">
          <button data-testid="log.unlock" type="button" onClick={() => void openLog()}>
            Show the log…
          </button>
        </div>
      ) : (
        <div data-testid="log.view" data-status={log.status} data-total={log.total}>
          <LogCounts log={log} names={names} />
          <div className="row">
            <label>
              Profile
              <select data-testid="log.filter.profile" value={log.filter.profileId ?? ''} onChange={(e) => setFilter({ profileId: e.target.value || undefined })}>
                <option value="">all</option>
                {profiles.map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.name}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Stage
              <select data-testid="log.filter.stage" value={log.filter.stage ?? ''} onChange={(e) => setFilter({ stage: (e.target.value || undefined) as LogStage | undefined })}>
                <option value="">all</option>
                {LOG_STAGES.map((s) => (
                  <option key={s} value={s}>
                    {LOG_STAGE_TEXT[s]}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Action
              <select data-testid="log.filter.action" value={log.filter.action ?? ''} onChange={(e) => setFilter({ action: (e.target.value || undefined) as LogAction | undefined })}>
                <option value="">all</option>
                {LOG_ACTIONS.map((a) => (
                  <option key={a} value={a}>
                    {LOG_ACTION_TEXT[a]}
                  </option>
                ))}
              </select>
            </label>
          </div>
          {log.entries.length === 0 ? (
            <p data-testid="log.empty">{log.status === 'loading' ? 'Loading…' : 'Nothing logged.'}</p>
          ) : (
            <div className="table-scroll" role="region" aria-label="Log entries" tabIndex={0}>
              <table className="log-table">
                <thead>
                  <tr>
                    <th>When</th>
                    <th>Profile</th>
                    <th>Stage</th>
                    <th>Decided by</th>
                    <th>Category</th>
                    <th>Action</th>
                    <th>Prompt</th>
                  </tr>
                </thead>
                <tbody>
                  {log.entries.map((e) => (
                    <tr key={e.id} data-testid="log.entry">
                      <td>{new Date(e.time).toLocaleString()}</td>
                      <td>{names.get(e.profileId) ?? e.profileName}</td>
                      <td>{LOG_STAGE_TEXT[e.stage]}</td>
                      <td data-testid="log.entry.source" data-source={e.source ?? (e.stage === 'text' ? '' : e.stage)}>
                        {e.stage === 'text' && !e.source ? <span className="muted">{logDecidedBy(e)}</span> : logDecidedBy(e)}
                      </td>
                      <td>{e.category}</td>
                      <td>{LOG_ACTION_TEXT[e.action]}</td>
                      <td>{e.prompt ?? <span className="muted">not kept</span>}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <div className="row">
            <button type="button" data-testid="log.prev" disabled={log.offset === 0} onClick={() => void setLogPage(log.offset - log.pageSize)}>
              Newer
            </button>
            <span>
              page {page} of {pages} ({log.total} entries)
            </span>
            <button type="button" data-testid="log.next" disabled={log.offset + log.pageSize >= log.total} onClick={() => void setLogPage(log.offset + log.pageSize)}>
              Older
            </button>
          </div>
          <div className="row">
            <button type="button" data-testid="log.export" onClick={() => void download()}>
              Export (JSON)
            </button>
            {confirmClear ? (
              <>
                <button
                  type="button"
                  data-testid="log.clear.confirm"
                  onClick={() => {
                    setConfirmClear(false);
                    void clearParentLog();
                  }}
                >
                  Delete every entry…
                </button>
                <button type="button" onClick={() => setConfirmClear(false)}>
                  Keep
                </button>
              </>
            ) : (
              <button type="button" data-testid="log.clear" onClick={() => setConfirmClear(true)}>
                Clear the log
              </button>
            )}
          </div>
        </div>
      )}
    </section>
  );
}
