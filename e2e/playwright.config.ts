// Playwright: Debian's Chromium (no browser download), headless WebGPU on SwiftShader, against `vite preview`
// of a fresh production build. One worker: ORT sessions must not overlap and the machine has 2 cores.
// Timeouts are sized for a slow, busy machine (SwiftShader runs WebGPU on the processor): a test may take 15 min,
// and each wait for machine-dependent work (session creation, generation) names its own limit (helpers.ts SLOW);
// the 30 s expect default is left for what does not scale with the machine (a click's effect on the page).
// Measurements (e2e/measure/: timings, memory) have their own config, e2e/measure.config.ts, so that `npm test`
// never runs them and their numbers never depend on which tests ran before.
import { defineConfig } from '@playwright/test';

const PORT = Number(process.env.E2E_PORT ?? 4181);

export default defineConfig({
  testDir: '.',
  testMatch: /.*\.spec\.ts$/,
  testIgnore: ['measure/**'],
  workers: 1,
  timeout: 15 * 60_000,
  expect: { timeout: 30_000 },
  reporter: process.env.PW_REPORTER ? [[process.env.PW_REPORTER]] : [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--enable-unsafe-webgpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
  },
  webServer: {
    command: `PSA_E2E_FIXTURES=1 node node_modules/vite/bin/vite.js preview --port ${PORT} --strictPort --host 127.0.0.1`,
    cwd: '..',
    url: `http://127.0.0.1:${PORT}`,
    reuseExistingServer: false,
    timeout: 180_000,
  },
});
