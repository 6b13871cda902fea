/**
 * Headless Chromium for the browser tests, from npm: @sparticuz/chromium
 * ships a Linux build inside its package, so `npm ci` is the whole set-up.
 * CHROMIUM_PATH points at a local Chrome or Chromium instead (another OS).
 * Where neither works the tests fail with this message; they never skip.
 */
import { existsSync } from 'node:fs';
import chromium from '@sparticuz/chromium';
import { chromium as playwright, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';

const NO_BROWSER =
  'No Chromium to run the browser tests: @sparticuz/chromium provides one on Linux x64/arm64; elsewhere set CHROMIUM_PATH to a local Chrome or Chromium.';

export async function launchChromium(): Promise<Browser> {
  const fromEnv = process.env.CHROMIUM_PATH;
  let executablePath: string;
  try {
    executablePath = fromEnv ?? (await chromium.executablePath());
  } catch (error) {
    throw new Error(`${NO_BROWSER} (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!existsSync(executablePath)) throw new Error(`${NO_BROWSER} (${executablePath} does not exist)`);
  try {
    // Its Lambda-oriented --single-process ends the whole browser when a context closes; tests use several.
    const args = fromEnv ? [] : chromium.args.filter((arg) => arg !== '--single-process');
    return await playwright.launch({ executablePath, args, headless: true, timeout: 15_000 });
  } catch (error) {
    throw new Error(`${NO_BROWSER} (${executablePath} did not start: ${error instanceof Error ? error.message.split('\n')[0] : String(error)})`);
  }
}

export interface BrowserWithAuthenticator {
  context: BrowserContext;
  page: Page;
  cdp: CDPSession;
  authenticatorId: string;
}

/**
 * A fresh browser profile with a CDP virtual authenticator: a platform
 * passkey provider (internal transport, resident keys) that verifies the user.
 */
export async function withVirtualAuthenticator(browser: Browser): Promise<BrowserWithAuthenticator> {
  const context = await browser.newContext();
  const page = await context.newPage();
  // Generous for a loaded machine; each step takes well under a second otherwise.
  page.setDefaultTimeout(15_000);
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  });
  return { context, page, cdp, authenticatorId };
}
