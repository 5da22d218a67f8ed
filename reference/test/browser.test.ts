// The portable core (wire, crypto, recovery, engine, and @qotp/spec under it) in a browser:
// bundled by esbuild for the browser platform, which fails on any Node built-in, and run in
// Debian's headless Chromium, where two engines do a 1-RTT and a 0-RTT echo in memory.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { expect, it } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';
const entry = fileURLToPath(new URL('./browser/echo-entry.ts', import.meta.url));

it('the engine bundles for the browser platform and echoes in headless Chromium, 1-RTT and 0-RTT', async () => {
  const bundle = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const code = bundle.outputFiles[0]?.text ?? '';
  expect(code).not.toMatch(/from\s*["']node:|require\(["']node:/);
  console.log(`browser: bundle of the engine ${(code.length / 1024).toFixed(0)} KiB`);

  expect(
    existsSync(CHROMIUM),
    `no ${CHROMIUM}: install Debian's chromium package (scripts/ensure-chromium.sh does)`,
  ).toBe(true);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
  });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.setContent('<!doctype html><title>qotp</title>');
    await page.addScriptTag({ content: code, type: 'module' });
    await page
      .waitForFunction(() => (globalThis as { qotpResult?: unknown }).qotpResult !== undefined, undefined, {
        timeout: 20_000,
      })
      .catch(() => undefined);
    expect(errors).toEqual([]);
    const result = (await page.evaluate(() => (globalThis as { qotpResult?: unknown }).qotpResult)) as {
      userAgent: string;
      oneRtt: { echoed: string; datagrams: number };
      zeroRtt: { echoed: string; datagrams: number };
    };
    console.log(
      `browser: ${result.userAgent}: 1-RTT echo in ${result.oneRtt.datagrams} datagrams, 0-RTT ` +
        `in ${result.zeroRtt.datagrams}`,
    );
    expect(result.userAgent).toMatch(/HeadlessChrome|Chrome/);
    expect(result.oneRtt.echoed).toBe('hello from a browser bundle');
    expect(result.zeroRtt.echoed).toBe('hello from a browser bundle');
  } finally {
    await browser.close();
  }
}, 60_000);
