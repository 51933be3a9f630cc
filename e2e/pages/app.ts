// Page objects for the app's screens (after tldraw's e2e fixtures): each names what a person does there, so a spec
// reads as their steps — `app.setup.useDemo()`, `app.profiles.create(…)`, `app.home.generate()`,
// `app.gallery.open(0)`, `app.pin.enter(PIN)`. They drive the app by its test ids only; assertions about outcomes
// stay in the specs. `test` gives each spec an `app` for its page.
import { test as base, expect, type Locator, type Page } from '@playwright/test';
import { createProfile, generateImage, moreOptions, SLOW, type ProfileFields } from '../helpers';
import { goTo, toHome, toProfiles, type Screen } from './screens';

/** The one PIN dialog (lock.dialog). */
export class PinDialog {
  constructor(private readonly page: Page) {}
  get dialog(): Locator {
    return this.page.getByTestId('lock.dialog');
  }
  /** Answers with `pin` and waits until the dialog closes (a right PIN). */
  async enter(pin: string): Promise<void> {
    await expect(this.dialog).toBeVisible();
    await this.page.getByTestId('lock.pin').fill(pin);
    await this.page.getByTestId('lock.submit').click();
    await expect(this.dialog).toBeHidden();
  }
  /** The dialog asked (for `what`); the person cancels it. */
  async refuse(what: string | RegExp): Promise<void> {
    await expect(this.dialog).toBeVisible();
    await expect(this.dialog).toContainText(what);
    await this.page.getByTestId('lock.cancel').click();
    await expect(this.dialog).toBeHidden();
  }
}

/** The first-run screen: who uses the device, the model. */
export class SetupScreen {
  constructor(private readonly page: Page) {}
  get screen(): Locator {
    return this.page.getByTestId('setup');
  }
  async useDemo(): Promise<void> {
    await this.page.getByTestId('bundle.demo').click();
  }
  async justMe(): Promise<void> {
    await this.page.getByTestId('setup.me').click();
    await expect(this.screen).toBeHidden();
  }
  async noProfile(): Promise<void> {
    await this.page.getByTestId('setup.none').click();
    await expect(this.screen).toBeHidden();
  }
}

/** The profiles and the lock's settings (first-run screen, else the parent screen). */
export class Profiles {
  constructor(private readonly page: Page) {}
  /** New profile from `preset`, saved; returns its id. */
  create(preset: string, f: ProfileFields): Promise<string> {
    return createProfile(this.page, preset, f);
  }
  /** Sets the first parent PIN (the session is then open). */
  async setPin(pin: string): Promise<void> {
    await toProfiles(this.page);
    await this.page.getByTestId('lock.new').fill(pin);
    await this.page.getByTestId('lock.new.set').click();
    await expect(this.page.getByTestId('profile.lock')).toHaveAttribute('data-state', 'unlocked');
  }
  /** Opens the editor of a saved profile. */
  async edit(id: string): Promise<void> {
    await toProfiles(this.page);
    await this.page.locator(`[data-testid="profile.item"][data-profile-id="${id}"]`).getByTestId('profile.edit').click();
  }
  /** Makes `id` the active profile from the parent's list ('' = no profile). */
  async select(id: string): Promise<void> {
    await this.page.getByTestId('profile.select').selectOption(id);
  }
}

/** Home: who it is for, the prompt, Generate, the result, recent pictures. */
export class HomeScreen {
  constructor(private readonly page: Page) {}
  async open(): Promise<void> {
    await toHome(this.page);
  }
  async describe(prompt: string): Promise<void> {
    await this.open();
    await this.page.getByTestId('generate.prompt').fill(prompt);
  }
  /** Makes a picture (seed and steps through "More options" when given) and waits for it. */
  generate(o: { seed?: number; steps?: number } = {}): Promise<void> {
    return generateImage(this.page, o);
  }
  /** Switches the active profile with the home switcher ('' = no profile). */
  async switchTo(id: string): Promise<void> {
    await this.open();
    await this.page.getByTestId('profile.select').selectOption(id);
  }
  moreOptions(): Promise<void> {
    return moreOptions(this.page);
  }
  get picture(): Locator {
    return this.page.getByTestId('result.image');
  }
  get madeFor(): Locator {
    return this.page.getByTestId('result.profile');
  }
  get who(): Locator {
    return this.page.getByTestId('generate.profile');
  }
}

/** The gallery screen (and Home's recent strip, which shows the same items). */
export class GalleryScreen {
  constructor(private readonly page: Page) {}
  async open(): Promise<void> {
    await goTo(this.page, 'gallery');
  }
  get items(): Locator {
    return this.page.getByTestId('gallery.item');
  }
  get dialog(): Locator {
    return this.page.getByTestId('gallery.dialog');
  }
  /** The opened picture's metadata field (prompt, seed, steps, size, model, …). */
  field(name: string): Locator {
    return this.dialog.locator(`dd[data-field="${name}"]`);
  }
  async openItem(n: number): Promise<void> {
    await this.items.nth(n).click();
    await expect(this.dialog).toBeVisible();
  }
  /** "Use these settings": the dialog closes and Home shows the filled form. */
  async reuse(): Promise<void> {
    await this.page.getByTestId('gallery.reuse').click();
    await expect(this.dialog).toBeHidden();
    await expect(this.page.locator('main')).toHaveAttribute('data-screen', 'home');
  }
}

/** The parent area's door and its two screens. */
export class ParentArea {
  constructor(private readonly page: Page, private readonly pin: PinDialog) {}
  get door(): Locator {
    return this.page.getByTestId('parent.area');
  }
  async open(screen: Extract<Screen, 'parent' | 'settings'> = 'parent'): Promise<void> {
    await goTo(this.page, screen);
  }
  /** Opens the parent area with `pin` when its door is closed. */
  async unlock(pin: string, screen: Extract<Screen, 'parent' | 'settings'> = 'parent'): Promise<void> {
    await this.open(screen);
    if ((await this.door.getAttribute('data-locked')) === 'yes') {
      await this.page.getByTestId('parent.unlock').click();
      await this.pin.enter(pin);
    }
    await expect(this.door).toHaveAttribute('data-locked', 'no');
  }
  /** "Lock now" in the header. */
  async lockNow(): Promise<void> {
    await this.page.getByTestId('profile.lock.now').click();
    await expect(this.lockState).toHaveAttribute('data-state', 'locked');
  }
  get lockState(): Locator {
    return this.page.getByTestId('profile.lock');
  }
}

export class App {
  readonly pin: PinDialog;
  readonly setup: SetupScreen;
  readonly profiles: Profiles;
  readonly home: HomeScreen;
  readonly gallery: GalleryScreen;
  readonly parent: ParentArea;
  constructor(readonly page: Page) {
    this.pin = new PinDialog(page);
    this.setup = new SetupScreen(page);
    this.profiles = new Profiles(page);
    this.home = new HomeScreen(page);
    this.gallery = new GalleryScreen(page);
    this.parent = new ParentArea(page, this.pin);
  }
  /** Opens the app (at `hash`, e.g. '#gallery') and waits until it has read its profiles. */
  async open(hash = ''): Promise<void> {
    await this.page.goto(`/${hash}`);
    await expect(this.page.locator('main')).not.toHaveAttribute('data-screen', 'loading');
  }
  async reload(): Promise<void> {
    await this.page.reload();
    await expect(this.page.locator('main')).not.toHaveAttribute('data-screen', 'loading');
  }
  goTo(screen: Screen): Promise<void> {
    return goTo(this.page, screen);
  }
  /** Waits (machine-dependent: generous) until the engine has its model ready. */
  async engineReady(): Promise<void> {
    await expect(this.page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
  }
}

export const test = base.extend<{ app: App }>({
  app: async ({ page }, use) => {
    await use(new App(page));
  },
});
export { expect };
