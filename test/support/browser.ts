import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium package; scripts/testbed installs it. */
export const chromiumPath = process.env.RESTOREPROOF_CHROMIUM ?? '/usr/bin/chromium';

const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * Headless Chromium for page tests. Missing Chromium is a loud skip locally and a failure
 * under CI=true, as with the test bed's backends.
 */
export async function launchChromium(ctx: Mocha.Context): Promise<Browser> {
  if (!existsSync(chromiumPath)) {
    const reason = `Chromium not found at ${chromiumPath} (apt-get install -y chromium, or scripts/testbed up)`;
    if (process.env.CI === 'true') throw new Error(reason);
    console.warn(`\n  SKIPPED: ${reason}\n`);
    ctx.skip();
  }
  return chromium.launch({ executablePath: chromiumPath, args, headless: true });
}
