// `npm run screenshots`: the README's tour, made from the real app so it never goes stale. Serves the production
// build (dist/) with `vite preview` on a free loopback port, drives it with Playwright's Chromium (Debian's, as the
// browser tests do) and writes one PNG per screen and width into docs/screens/: <screen>-desktop.png (1280×900) and
// <screen>-phone.png (390×844). Each screen starts in a fresh browser context (empty storage: a first visit) and is
// reached the way a person would, through the same test ids the e2e specs use.
//
// Needs a build: run `npm run build` first (when dist/ is missing this script builds it, and the demo model with
// `npm run models:demo` when public/models/demo is missing too). Generation on the tiny demo model takes seconds to
// minutes on a slow machine; waits are generous.
//
//   npm run screenshots [-- --only first-run,gallery] [--width desktop|phone]
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { chromium, type Browser, type Locator, type Page } from '@playwright/test';

const ROOT = path.resolve(import.meta.dirname, '..');
const OUT = path.join(ROOT, 'docs', 'screens');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Limit for waits on machine-dependent work (engine start, a generation): a busy 2-core machine is slow. */
const SLOW = 10 * 60_000;
const PIN = '739146';

const WIDTHS = {
  desktop: { viewport: { width: 1280, height: 900 }, isMobile: false, hasTouch: false },
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
} as const;
type Width = keyof typeof WIDTHS;

/** Writes one PNG: a list of elements (their union, as one picture) or the viewport. */
type Shoot = (name: string, what?: Locator | Locator[]) => Promise<void>;

const ready = (page: Page) => page.getByTestId('engine.status').and(page.locator('[data-status="ready"]')).waitFor({ timeout: SLOW });

async function newChildProfile(page: Page, save: boolean): Promise<void> {
  await page.getByTestId('profile.new').click();
  await page.getByTestId('profile.name').fill('Mia');
  await page.getByTestId('profile.age').fill('9');
  await page.getByTestId('profile.pin').fill(PIN); // the Child preset is protected and no PIN exists yet: asked here
  if (!save) return;
  await page.getByTestId('profile.save').click();
  await page.getByTestId('profile.message').and(page.locator('[data-code="SAVED"]')).waitFor();
  await page.getByTestId('setup').waitFor({ state: 'hidden' });
}

async function pictureForMia(page: Page): Promise<void> {
  await newChildProfile(page, true);
  await ready(page);
  await page.getByTestId('generate.prompt').fill('a red kite over a green hill');
  await page.getByTestId('generate.submit').click();
  await page.getByTestId('result.image').and(page.locator('[data-has-image="yes"]')).waitFor({ timeout: SLOW });
  await page.getByTestId('result.profile').waitFor();
}

/** Each screen: how to reach it from a first visit, and what to photograph. */
const SCREENS: Record<string, (page: Page, shoot: Shoot) => Promise<void>> = {
  'first-run': async (page, shoot) => {
    await page.getByTestId('setup').waitFor();
    await shoot('first-run'); // the top of the page, as a new user sees it
  },
  'family-setup': async (page, shoot) => {
    await page.getByTestId('setup').waitFor();
    await newChildProfile(page, false);
    // The Profiles panel holding the editor (the panel's frame and padding read better than the bare form).
    await shoot('family-setup', page.locator('.panel').filter({ has: page.getByTestId('profile.editor') }));
  },
  home: async (page, shoot) => {
    await pictureForMia(page);
    await page.getByTestId('profile.lock.now').click(); // handed over to Mia
    await shoot('home'); // the screen as she sees it: the nav, who it is for, the prompt, the picture
  },
  gallery: async (page, shoot) => {
    await pictureForMia(page);
    await page.getByTestId('nav.gallery').click();
    const item = page.getByTestId('gallery.item').first();
    await item.waitFor({ timeout: SLOW });
    await item.locator('img').first().evaluate((img: HTMLImageElement) => img.decode().catch(() => undefined));
    await shoot('gallery', page.getByTestId('gallery'));
  },
  'parent-pin': async (page, shoot) => {
    await page.getByTestId('setup').waitFor();
    await newChildProfile(page, true);
    await page.getByTestId('profile.lock.now').click();
    await page.getByTestId('profile.unlock').click();
    await page.getByTestId('lock.dialog').waitFor();
    await page.getByTestId('lock.pin').fill('1234');
    await page.getByTestId('lock.submit').click();
    await page.getByTestId('lock.error').waitFor();
    await shoot('parent-pin'); // the modal over the page
  },
  parent: async (page, shoot) => {
    await newChildProfile(page, true); // the parent's session is still open from setting the PIN
    await page.getByTestId('nav.parent').click();
    await page.getByTestId('parent.area').and(page.locator('[data-locked="no"]')).waitFor();
    await page.getByTestId('profile.list').waitFor();
    await shoot('parent');
  },
  'parent-log': async (page, shoot) => {
    await newChildProfile(page, true); // the parent's session is still open from setting the PIN
    await ready(page);
    // Two of Mia's prompts stopped: one by the word lists, one by the learned classifier ("hate" is no list word).
    for (const [prompt, category] of [['a bloody knife fight', 'Violence'], ['hate', 'Hate']]) {
      await page.getByTestId('generate.prompt').fill(prompt);
      await page.getByTestId('generate.submit').click();
      await page.getByTestId('result.blocked').locator(`[data-testid="result.explanation"][data-category="${category}"]`).first().waitFor({ timeout: SLOW });
    }
    await page.getByTestId('nav.parent').click();
    await page.getByTestId('parent.area').and(page.locator('[data-locked="no"]')).waitFor();
    await page.getByTestId('log.open').click(); // inside the open session: no PIN asked
    await page.getByTestId('log.view').and(page.locator('[data-status="ready"]')).waitFor();
    await page.getByTestId('log.entry').nth(1).waitFor();
    await shoot('parent-log', page.locator('section.parent-log'));
  },
  'size-options': async (page, shoot) => {
    await page.getByTestId('setup.none').click();
    await ready(page);
    const options = page.getByTestId('generate.options');
    await options.locator('summary').click();
    await page.getByTestId('generate.shape').selectOption('portrait');
    await shoot('size-options', options);
  },
  'parent-locked': async (page, shoot) => {
    await newChildProfile(page, true);
    await page.getByTestId('profile.lock.now').click();
    await page.getByTestId('nav.parent').click();
    await page.getByTestId('parent.area').and(page.locator('[data-locked="yes"]')).waitFor();
    await shoot('parent-locked');
  },
  models: async (page, shoot) => {
    await page.getByTestId('setup.none').click();
    await page.getByTestId('nav.settings').click();
    await ready(page);
    const panel = page.getByTestId('bundle.panel');
    await panel.scrollIntoViewIfNeeded();
    await shoot('models', panel);
  },
};

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Newest modification time under a folder (0 when it is missing). */
function newest(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  return Math.max(0, ...fs.readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => fs.statSync(path.join(e.parentPath, e.name)).mtimeMs));
}

function ensureBuild(): void {
  const built = path.join(ROOT, 'dist', 'index.html');
  if (fs.existsSync(built)) {
    if (newest(path.join(ROOT, 'src')) > fs.statSync(built).mtimeMs) console.warn('warning: src/ changed since dist/ was built: run `npm run build` first for current pictures');
    return;
  }
  console.log('dist/ is missing: building it (npm run build does the same after a type check)');
  const run = (args: string[]) => {
    const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`failed: node ${args.join(' ')}`);
  };
  if (!fs.existsSync(path.join(ROOT, 'public', 'models', 'demo'))) {
    run([path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'scripts/models/build.ts', '--demo-only']);
  }
  run(['node_modules/vite/bin/vite.js', 'build']);
}

async function startPreview(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['node_modules/vite/bin/vite.js', 'preview', '--port', String(port), '--strictPort', '--host', '127.0.0.1'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`vite preview exited (${child.exitCode})`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/`)).ok) return child;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error('vite preview did not answer within 60 s');
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function shootScreen(browser: Browser, base: string, screen: string, width: Width): Promise<void> {
  const context = await browser.newContext({ ...WIDTHS[width], deviceScaleFactor: 1, reducedMotion: 'reduce', colorScheme: 'light' });
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  try {
    await page.goto(base + '/');
    const shoot: Shoot = async (name, what) => {
      const file = path.join(OUT, `${name}-${width}.png`);
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur?.()); // no caret, no focus ring
      const parts = what === undefined ? [] : Array.isArray(what) ? what : [what];
      if (parts.length === 0) {
        await page.screenshot({ path: file, animations: 'disabled', caret: 'hide' });
      } else if (parts.length === 1) {
        await parts[0].scrollIntoViewIfNeeded();
        await parts[0].screenshot({ path: file, animations: 'disabled', caret: 'hide' });
      } else {
        // The union of several elements, in page coordinates (a full-page clip).
        const boxes = await Promise.all(
          parts.map((l) =>
            l.evaluate((el) => {
              const r = el.getBoundingClientRect();
              return { x: r.left + window.scrollX, y: r.top + window.scrollY, right: r.right + window.scrollX, bottom: r.bottom + window.scrollY };
            }),
          ),
        );
        const x = Math.max(0, Math.min(...boxes.map((b) => b.x)));
        const y = Math.max(0, Math.min(...boxes.map((b) => b.y)));
        const clip = { x, y, width: Math.max(...boxes.map((b) => b.right)) - x, height: Math.max(...boxes.map((b) => b.bottom)) - y };
        await page.screenshot({ path: file, clip, fullPage: true, animations: 'disabled', caret: 'hide' });
      }
      console.log(`  ${path.relative(ROOT, file)} (${Math.round(fs.statSync(file).size / 1024)} kB)`);
    };
    await SCREENS[screen](page, shoot);
  } finally {
    await context.close();
  }
}

function option(name: string): string[] | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : (process.argv[i + 1] ?? '').split(',').filter(Boolean);
}

async function main(): Promise<void> {
  const screens = option('only') ?? Object.keys(SCREENS);
  const widths = (option('width') ?? Object.keys(WIDTHS)) as Width[];
  for (const s of screens) if (!SCREENS[s]) throw new Error(`unknown screen "${s}" (known: ${Object.keys(SCREENS).join(', ')})`);
  for (const w of widths) if (!WIDTHS[w]) throw new Error(`unknown width "${w}" (known: ${Object.keys(WIDTHS).join(', ')})`);
  ensureBuild();
  fs.mkdirSync(OUT, { recursive: true });
  const port = await freePort();
  const server = await startPreview(port);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--no-first-run'] });
  try {
    for (const screen of screens) {
      for (const width of widths) {
        const t0 = Date.now();
        console.log(`${screen} at ${width} width`);
        await shootScreen(browser, `http://127.0.0.1:${port}`, screen, width);
        console.log(`  done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      }
    }
  } finally {
    await browser.close();
    server.kill();
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
