// Headless Chromium (Debian's package) driven by playwright-core: `npx playwright install` cannot
// download browsers here, so the system one is used (FIELD-NOTES.md).
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.ZLH_CHROMIUM ?? '/usr/bin/chromium';

export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
}

/** The console page's state and visible text. */
export async function consoleState(page) {
  return page.evaluate(() => ({
    state: document.getElementById('console-status').dataset.state,
    reason: document.getElementById('console-reason').textContent,
    button: document.getElementById('console-reconnect').hidden ? null : document.getElementById('console-reconnect').textContent,
  }));
}

/** Everything in the terminal's buffer (scrollback included), as text lines. */
export function terminalText(page) {
  return page.evaluate(() => {
    const b = window.zlhConsole.term.buffer.active;
    const lines = [];
    for (let i = 0; i < b.length; i++) lines.push(b.getLine(i)?.translateToString(true) ?? '');
    return lines.join('\n');
  });
}
