// The browser console end to end: headless Chromium (playwright-core) on the coordinator's
// console page, against a real coordinator, agent, shim and test game. The page must never hang:
// every fault ends in "Disconnected" with a reason and a Reconnect button that works once the
// fault is gone.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { consoleState, launchBrowser, terminalText } from '../lib/browser.mjs';
import { waitFor, withLogTails } from '../lib/harness.mjs';
import { startStack, waitNodeStatus } from '../lib/zlh.mjs';
import { createInstance, waitState } from '../lib/instances.mjs';

// Short timeouts for the test (the page's defaults: 10 s connect, 5 s ping / 15 s silence).
const PAGE_OPTS = '?connect_timeout_ms=3000&ping_ms=1000';
const TOKEN_RE = /zlh_[0-9A-Za-z]{43}/g;

describe('browser console page', () => {
  let coord, agent, node, browser, instance, userToken, otherInstance;

  const pageUrl = (id = instance.id, token = userToken) => `${coord.url}/console/${id}${PAGE_OPTS}#token=${token}`;
  // A timeout says where the page was: its state, reason and the terminal's last lines.
  const described = async (page, wait) => {
    try {
      return await wait;
    } catch (e) {
      const s = await consoleState(page).catch(() => ({}));
      const text = await terminalText(page).catch(() => '');
      e.message += `\npage: ${JSON.stringify(s)}\nterminal ends: ${JSON.stringify(text.trimEnd().slice(-600))}` +
        `\npage console: ${JSON.stringify((page.logs ?? []).slice(-10))}`;
      throw e;
    }
  };
  const waitPage = (page, state, timeoutMs = 8000) => described(page,
    waitFor(`page ${state}`, async () => ((await consoleState(page)).state === state ? consoleState(page) : undefined), { timeoutMs, intervalMs: 50 }));
  const waitText = (page, text, timeoutMs = 8000) => described(page,
    waitFor(`terminal shows ${text}`, async () => (await terminalText(page)).includes(text), { timeoutMs, intervalMs: 50 }));
  // Every test's failure carries the coordinator's and the agent's last log lines.
  const it = (name, fn) => test(name, () => withLogTails(() => [coord?.proc, agent?.proc], fn));

  /** Opens the page and records every byte it receives (HTTP bodies and WebSocket frames). */
  async function open(url = pageUrl()) {
    const page = await browser.newPage();
    page.received = [];
    page.logs = [];  // the page's console (the browser's own WebSocket errors among them)
    page.on('console', (m) => page.logs.push(`${m.type()}: ${m.text()}`));
    page.on('response', async (r) => { try { page.received.push(await r.text()); } catch { /* redirects, aborted */ } });
    page.on('websocket', (ws) => ws.on('framereceived', (f) => page.received.push(typeof f.payload === 'string' ? f.payload : Buffer.from(f.payload).toString('latin1'))));
    await page.goto(url);
    return page;
  }
  async function reconnect(page) {
    assert.equal((await consoleState(page)).button, 'Reconnect');
    await page.click('#console-reconnect');
    await waitPage(page, 'connected');
    await waitText(page, 'Done (');
  }

  before(async () => {
    ({ coord, node, agent } = await startStack({ coordToml: '[console]\nticket_ttl_s = 1\n', nodeName: 'page-node', agentOpts: { backoffMaxMs: 500 } }));
    const tokens = {};
    for (const name of ['alice', 'bob']) {
      const u = await coord.api('POST', '/api/v1/users', { body: { name, role: 'user' } });
      tokens[name] = (await coord.api('POST', `/api/v1/users/${u.body.user.id}/tokens`)).body.token;
    }
    userToken = tokens.alice;
    const r = await createInstance(coord, { name: 'page', template: 'mc-test' }, { token: userToken });
    instance = await waitState(coord, r.body.instance.id, 'ready', 60000);
    const o = await createInstance(coord, { name: 'bobs', template: 'mc-test', start: false }, { token: tokens.bob });
    otherInstance = o.body.instance.id;
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await agent?.kill();
    await agent?.killShims();
    await coord?.kill();
  });

  it('scrollback, a typed command and its answer; resize reaches the PTY; the token leaves the URL', async () => {
    const page = await open();
    await waitPage(page, 'connected');
    await waitText(page, 'Done (');
    assert.ok(!page.url().includes('token'), page.url());
    assert.equal(await page.evaluate(() => sessionStorage.getItem('zlh.token')), userToken);
    assert.equal(await page.evaluate(() => localStorage.length), 0);
    await page.keyboard.type('say hello-from-chromium');
    await page.keyboard.press('Enter');
    await waitText(page, '[Server] hello-from-chromium');

    await page.setViewportSize({ width: 700, height: 420 });
    const size = await waitFor('terminal refit', async () => {
      const s = await page.evaluate(() => ({ cols: window.zlhConsole.term.cols, rows: window.zlhConsole.term.rows }));
      return s.cols < 100 ? s : undefined;
    });
    await page.keyboard.type('size');
    await page.keyboard.press('Enter');
    await waitText(page, `Terminal size ${size.cols}x${size.rows}`);

    // Nothing the page received carries a token (not even its own: it is only ever sent).
    const leaked = page.received.flatMap((t) => t.match(TOKEN_RE) ?? []);
    assert.deepEqual(leaked, []);
    assert.ok(page.received.join('').includes('hello-from-chromium'), 'the scan saw the console traffic');
    await page.close();
  });

  it("another user's instance, and a bad token: refused in words, never stuck", async () => {
    const page = await open(pageUrl(otherInstance));
    const s = await waitPage(page, 'disconnected');
    assert.match(s.reason, /not found \(HTTP 404\)/);
    await page.close();
    const bad = await open(pageUrl(instance.id, 'zlh_' + 'A'.repeat(43)));
    assert.match((await waitPage(bad, 'disconnected')).reason, /HTTP 401/);
    assert.ok(await bad.isVisible('#console-login'), 'asks for a token again');
    await bad.close();
  });

  it('an expired ticket: Disconnected, then Reconnect works', async () => {
    const page = await browser.newPage();
    // Hold the ticket answer until the ticket (1 s here) has expired.
    await page.route('**/console/tickets', async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      await waitFor('ticket expiry', () => Date.now() > Date.parse(body.expires_at) + 100, { timeoutMs: 5000 });
      await route.fulfill({ response: res, json: body });
    });
    await page.goto(pageUrl());
    await waitPage(page, 'disconnected');
    await page.unroute('**/console/tickets');
    await page.click('#console-reconnect');
    await waitPage(page, 'connected');
    await page.close();
  });

  it('agent killed while open, and offline at connect time: Disconnected with the reason, then Reconnect works', async () => {
    const page = await open();
    await waitPage(page, 'connected');
    await agent.kill();
    let later;
    try {
      assert.match((await waitPage(page, 'disconnected', 5000)).reason, /^The server's node is offline\. \(the agent's link dropped\)$/, page.logs.join('\n'));
      await waitNodeStatus(coord, node.id, 'offline', 30000);
      later = await open();
      assert.match((await waitPage(later, 'disconnected', 5000)).reason, /^The server's node is offline\. \(its agent has no link/, later.logs.join('\n'));
    } finally {
      await agent.start();  // the later tests need it whatever happened here
    }
    await waitNodeStatus(coord, node.id, 'online');
    await reconnect(page);
    await reconnect(later);
    await page.close();
    await later.close();
  });

  it('coordinator killed while open: Disconnected, then Reconnect works after it returns', async () => {
    const page = await open();
    await waitPage(page, 'connected');
    await coord.kill();
    try {
      // No close frame (1006): the page tries once more at once, and says why that failed too.
      assert.match((await waitPage(page, 'disconnected', 5000)).reason, /^The connection was lost\. Cannot reach the coordinator\.$/, page.logs.join('\n'));
    } finally {
      await coord.start();
    }
    await waitNodeStatus(coord, node.id, 'online', 10000);
    await reconnect(page);
    await page.close();
  });

  it('network silently dropped (coordinator stopped, socket open): Disconnected within the timeout, then Reconnect works', async () => {
    const page = await open();
    await waitPage(page, 'connected');
    process.kill(coord.proc.pid, 'SIGSTOP');
    try {
      const t0 = Date.now();
      assert.match((await waitPage(page, 'disconnected', 8000)).reason, /silent/);
      assert.ok(Date.now() - t0 < 5000, 'within 3 pings');
      // Connecting while it is still silent: the connect deadline ends it.
      await page.click('#console-reconnect');
      assert.equal((await consoleState(page)).state, 'connecting');
      assert.match((await waitPage(page, 'disconnected', 8000)).reason, /No answer within 3 s/);
    } finally {
      process.kill(coord.proc.pid, 'SIGCONT');
    }
    await reconnect(page);
    await page.close();
  });

  it('two pages see the same output; the last output before the exit reaches the browser', async () => {
    const a = await open();
    const b = await open();
    await Promise.all([waitPage(a, 'connected'), waitPage(b, 'connected')]);
    await b.keyboard.type('say typed-in-b');
    await b.keyboard.press('Enter');
    await Promise.all([waitText(a, '[Server] typed-in-b'), waitText(b, '[Server] typed-in-b')]);
    await a.keyboard.type('stop');
    await a.keyboard.press('Enter');
    for (const p of [a, b]) {
      assert.match((await waitPage(p, 'disconnected')).reason, /exited/);
      const text = await terminalText(p);
      assert.ok(text.includes('Saving worlds') && text.includes('[zlh: the process exited]'), text.slice(-300));
    }
  });
});
