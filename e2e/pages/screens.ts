// Moving between the app's screens as a person does: the nav's links (nav.home, nav.gallery, nav.parent,
// nav.settings), then waiting until that screen is the one shown (aria-current and main's data-screen).
import { expect, type Page } from '@playwright/test';

export type Screen = 'home' | 'gallery' | 'parent' | 'settings';

/** The screen shown now ('setup' on a first run, 'loading' before the profiles are read). */
export const shownScreen = (page: Page) => page.locator('main').getAttribute('data-screen');

/** Goes to `screen` through the nav (nothing to do when it is already shown). */
export async function goTo(page: Page, screen: Screen): Promise<void> {
  await expect(page.locator('main')).not.toHaveAttribute('data-screen', 'loading');
  if ((await shownScreen(page)) === screen) return;
  await page.getByTestId(`nav.${screen}`).click();
  await expect(page.getByTestId(`nav.${screen}`)).toHaveAttribute('aria-current', 'page');
  await expect(page.locator('main')).toHaveAttribute('data-screen', screen);
}

/**
 * Where the profile editor is: the first-run screen while nobody is chosen, else the parent screen (whose door must
 * be open: no lock, or the parent's session open). A closed door is a mistake in the spec, said so.
 */
export async function toProfiles(page: Page): Promise<void> {
  await expect(page.locator('main')).not.toHaveAttribute('data-screen', 'loading');
  if ((await shownScreen(page)) === 'setup') return;
  await goTo(page, 'parent');
  const area = page.getByTestId('parent.area');
  if ((await area.getAttribute('data-locked')) === 'yes') throw new Error('the parent area is locked: unlock it (app.parent.unlock(pin)) before editing profiles');
}

/** Home, where pictures are made (the first-run screen stays: Generate is refused there until someone is chosen). */
export async function toHome(page: Page): Promise<void> {
  await expect(page.locator('main')).not.toHaveAttribute('data-screen', 'loading');
  if ((await shownScreen(page)) === 'setup') throw new Error('still on the first-run screen: choose who uses the app first');
  await goTo(page, 'home');
}
