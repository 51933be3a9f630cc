// The screens' nav: links (so they work by keyboard, open in a new tab, and keep the address), the current one marked
// aria-current="page". The parent area's screens carry the padlock while a lock is set.
import { useApp } from '../../state/store';
import { hashOf, SCREEN_LABELS, SCREENS, PARENT_SCREENS, type Screen } from '../lib/screens';
import { LockIcon } from './LockIcon';

export function Nav({ current }: { current: Screen }) {
  const locked = useApp((s) => s.lock.exists);
  return (
    <nav aria-label="Screens" className="screens-nav">
      <ul>
        {SCREENS.map((s) => (
          <li key={s}>
            <a href={hashOf(s)} data-testid={`nav.${s}`} aria-current={s === current ? 'page' : undefined}>
              {locked && PARENT_SCREENS.includes(s) && <LockIcon />}
              {SCREEN_LABELS[s]}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}
