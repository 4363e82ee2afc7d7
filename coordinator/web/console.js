// The browser console (docs/api.md, "Console"): one xterm.js terminal over the zlh.console.v1
// WebSocket. It never hangs at "Connecting...": every connect has a deadline, a silent connection
// is dropped, and every failure ends in "Disconnected" with the reason in words and a button.
// The API token comes from the URL fragment (#token=..., never sent to the server in a URL) or a
// prompt, and is kept in sessionStorage only; each (re)connect fetches a fresh single-use ticket.
(() => {
  'use strict';
  const OP_INPUT = 0, OP_RESIZE = 1, OP_PING = 2;
  const params = new URLSearchParams(location.search);
  const CONNECT_TIMEOUT_MS = Number(params.get('connect_timeout_ms')) || 10000;
  const PING_EVERY_MS = Number(params.get('ping_ms')) || 5000;
  const SILENCE_MS = 3 * PING_EVERY_MS;  // nothing at all from the server this long: dropped
  const instanceId = decodeURIComponent(location.pathname.split('/').filter(Boolean)[1] || '');
  // ?shell=1: a plain shell in the instance's directory (templates that offer one, e.g. an IDE).
  const SHELL = params.get('shell') === '1';

  const $ = (id) => document.getElementById(id);
  const status = $('console-status'), reasonEl = $('console-reason'), button = $('console-reconnect');
  const login = $('console-login'), tokenInput = $('console-token');
  $('console-title').textContent = `${SHELL ? 'Shell' : 'Console'} · ${instanceId}`;

  // --- token: fragment -> sessionStorage, then removed from the address bar ---
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get('token')) {
    sessionStorage.setItem('zlh.token', fragment.get('token'));
    history.replaceState(null, '', location.pathname + location.search);
  }
  const token = () => sessionStorage.getItem('zlh.token');

  const term = new Terminal({ convertEol: false, scrollback: 5000, cursorBlink: true,
    fontFamily: 'ui-monospace, Menlo, Consolas, monospace', fontSize: 14 });
  const fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open($('terminal'));
  fit.fit();

  const LOSS_RETRY_EVERY_MS = 10000;  // at most one automatic reconnect this often
  let ws = null, timers = [], lastHeard = 0, attempt = 0, everConnected = false, lastLossRetry = 0;
  const encoder = new TextEncoder();

  function setState(state, text, reason) {
    status.dataset.state = state;
    status.textContent = text;
    reasonEl.textContent = reason || '';
    const idle = state === 'disconnected';
    button.hidden = !idle || !token();
    button.textContent = everConnected ? 'Reconnect' : 'Open console';
    login.hidden = !!token() || !idle;
  }

  function send(op, bytes) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const msg = new Uint8Array(1 + bytes.length);
    msg[0] = op;
    msg.set(bytes, 1);
    ws.send(msg);
  }
  function sendResize() {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint16(0, term.cols);
    new DataView(b.buffer).setUint16(2, term.rows);
    send(OP_RESIZE, b);
  }

  // Drops the socket and every timer; late events of the old attempt are ignored.
  function teardown() {
    attempt++;
    for (const t of timers) clearTimeout(t), clearInterval(t);
    timers = [];
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try { ws.close(); } catch (_) { /* already closed */ }
      ws = null;
    }
  }
  // Ends the attempt and shows why.
  function disconnect(reason) {
    teardown();
    setState('disconnected', 'Disconnected', reason);
  }

  const CLOSE_WORDS = {
    1000: 'The server process exited.',
    1001: 'The coordinator is shutting down.',
    1006: 'The connection was lost.',
    1011: 'Internal error on the coordinator.',
    4003: 'This console is not yours.',
    4004: 'The instance no longer exists.',
    4009: 'The server is not running.',
    4010: 'The server\'s node is offline.',
    4011: 'Closed after a long time without input.',
    4400: 'Protocol error.',
  };

  // afterLoss: an open console's connection dropped without a close code (1006: the network, a
  // proxy, a close frame that never arrived). One new attempt follows at once, so a transient drop
  // heals by itself and a lasting one is explained by the coordinator's refusal (node offline,
  // server stopped) rather than by "lost"; a second drop without a code is shown as it is.
  async function connect(afterLoss = false) {
    if (!token()) return setState('disconnected', 'Disconnected', 'Enter an API token to open the console.');
    teardown();
    const mine = attempt;
    const lost = afterLoss ? `${CLOSE_WORDS[1006]} ` : '';
    setState('connecting', afterLoss ? 'Reconnecting...' : 'Connecting...', '');
    const abort = new AbortController();
    timers.push(setTimeout(() => {
      abort.abort();
      if (mine === attempt) disconnect(`${lost}No answer within ${CONNECT_TIMEOUT_MS / 1000} s.`);
    }, CONNECT_TIMEOUT_MS));
    let ticket;
    try {
      const r = await fetch(`/api/v1/instances/${encodeURIComponent(instanceId)}/console/tickets`, {
        method: 'POST', signal: abort.signal,
        headers: { authorization: `Bearer ${token()}`, 'content-type': 'application/json' },
        body: JSON.stringify(SHELL ? { shell: true } : {}),
        cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' });
      const body = await r.json().catch(() => ({}));
      if (mine !== attempt) return;
      if (!r.ok) {
        if (r.status === 401) sessionStorage.removeItem('zlh.token');
        return disconnect(lost + (body.error?.message ? `${body.error.message} (HTTP ${r.status})` : `HTTP ${r.status}`));
      }
      ticket = body.ticket;
    } catch (e) {
      if (mine === attempt) disconnect(`${lost}Cannot reach the coordinator.`);
      return;
    }
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    ws = new WebSocket(`${scheme}://${location.host}/api/v1/console?ticket=${encodeURIComponent(ticket)}`, 'zlh.console.v1');
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => {
      if (mine !== attempt) return;
      for (const t of timers) clearTimeout(t);
      timers = [];
      everConnected = true;
      lastHeard = Date.now();
      term.reset();  // the scrollback replay redraws everything: nothing visible is lost
      setState('connected', 'Connected', '');
      sendResize();
      term.focus();
      timers.push(setInterval(() => {
        if (Date.now() - lastHeard > SILENCE_MS) return disconnect('The connection went silent.');
        send(OP_PING, new Uint8Array(0));
      }, PING_EVERY_MS));
    };
    ws.onmessage = (ev) => {
      if (mine !== attempt) return;
      lastHeard = Date.now();
      if (typeof ev.data === 'string') return;  // control (pong)
      term.write(new Uint8Array(ev.data));
    };
    ws.onerror = () => {};  // onclose follows with the code
    ws.onclose = (ev) => {
      if (mine !== attempt) return;
      console.info(`zlh console: closed with ${ev.code}${ev.wasClean ? '' : ' (not clean)'} ${ev.reason}`);
      const opened = status.dataset.state === 'connected';
      if (ev.code === 1006 && opened && Date.now() - lastLossRetry > LOSS_RETRY_EVERY_MS) {
        lastLossRetry = Date.now();
        return connect(true);
      }
      const words = CLOSE_WORDS[ev.code] || `Closed (${ev.code}).`;
      // The coordinator's own words for a refusal, when they add to the code's.
      disconnect(ev.reason && ev.code >= 4000 ? `${words} (${ev.reason})` : words);
    };
  }

  term.onData((d) => send(OP_INPUT, encoder.encode(d)));
  term.onResize(() => sendResize());
  window.addEventListener('resize', () => fit.fit());
  button.addEventListener('click', () => connect());
  login.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!tokenInput.value) return;
    sessionStorage.setItem('zlh.token', tokenInput.value.trim());
    tokenInput.value = '';
    connect();
  });
  window.zlhConsole = { term, connect, disconnect };  // for tests and the portal
  connect();
})();
