// A profile's avatar: its first letter on its colour (profile.colour), the same on home, in the switcher's row and
// in the parent's profile list. Decorative next to the name, so hidden from screen readers.
import type { Profile, ProfileColour } from '../../shared/profile';

/** Each colour's fill; all dark enough for white text (contrast ≥ 4.5:1). */
export const COLOUR_FILL: Record<ProfileColour, string> = {
  blue: '#2f55c4',
  green: '#1d6b35',
  orange: '#9a4600',
  purple: '#6b3fa0',
  red: '#a61e1e',
  teal: '#0b6868',
};

export const COLOUR_WORDS: Record<ProfileColour, string> = { blue: 'Blue', green: 'Green', orange: 'Orange', purple: 'Purple', red: 'Red', teal: 'Teal' };

export function Avatar({ profile, size = 40 }: { profile?: Pick<Profile, 'name' | 'colour'>; size?: number }) {
  const colour = profile?.colour ?? 'blue';
  return (
    <span
      className="avatar"
      aria-hidden="true"
      data-colour={profile ? colour : 'none'}
      style={{ width: size, height: size, fontSize: size * 0.45, background: profile ? COLOUR_FILL[colour] : '#6b7385' }}
    >
      {profile ? (profile.name.trim()[0] ?? '?').toUpperCase() : '–'}
    </span>
  );
}
