// Playwright config of the measurements (e2e/measure/: PSA's step cost, bundle download/load memory, the browser
// half of `npm run bench`): the test config's browser, server and limits, but only these specs, which the test config
// ignores. Run one: `PSA_HARNESS=1 npm run build && npx playwright test -c e2e/measure.config.ts e2e/measure/<spec>`.
// They assert only that the work ran (outputs finite, downloads complete), never a time; numbers go to the log and
// .tmp/measurements.json.
import { defineConfig } from '@playwright/test';
import tests from './playwright.config';

export default defineConfig({
  ...tests,
  testDir: './measure',
  testMatch: /.*\.spec\.ts$/,
  testIgnore: [],
});
