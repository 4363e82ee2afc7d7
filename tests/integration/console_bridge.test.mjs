// The console through the coordinator: tickets (single use, 30 s, bound to user and instance),
// the zlh.console.v1 WebSocket bridged to the agent's console stream, close codes, two viewers,
// the last output before an exit, and no secret in anything the client receives. Real
// coordinator, agent, shim and test game; the client is the npm `ws` package.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { waitFor } from '../lib/harness.mjs';
import { startStack, waitNodeStatus } from '../lib/zlh.mjs';
import { createInstance, waitState } from '../lib/instances.mjs';

/** A console client that records every byte and the close. */
class Viewer {
  constructor(url) {
    this.out = Buffer.alloc(0);
    this.received = [];  // every message, for the secret scan
    this.ws = new WebSocket(url, 'zlh.console.v1');
    this.opened = new Promise((ok, fail) => { this.ws.on('open', ok); this.ws.on('error', fail); this.ws.on('unexpected-response', (_, res) => fail(new Error(`HTTP ${res.statusCode}`))); });
    this.closed = new Promise((ok) => this.ws.on('close', (code, reason) => ok({ code, reason: reason.toString() })));
    this.ws.on('message', (d) => { this.received.push(Buffer.from(d)); this.out = Buffer.concat([this.out, Buffer.from(d)]); });
  }
  text() { return this.out.toString('utf8'); }
  type(line) { this.ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(line)])); }
  resize(cols, rows) { const b = Buffer.alloc(5); b[0] = 1; b.writeUInt16BE(cols, 1); b.writeUInt16BE(rows, 3); this.ws.send(b); }
}

/** The HTTP status of a refused upgrade. */
function refusedStatus(url) {
  return new Promise((ok, fail) => {
    const ws = new WebSocket(url, 'zlh.console.v1');
    ws.on('unexpected-response', (_, res) => { ok(res.statusCode); ws.terminate(); });
    ws.on('open', () => { ws.close(); fail(new Error('upgrade accepted')); });
    ws.on('error', () => {});
  });
}

describe('console through the coordinator', () => {
  let coord, agent, node, instance, userToken, otherToken;

  async function ticket(id = instance.id, token = userToken) {
    return coord.api('POST', `/api/v1/instances/${id}/console/tickets`, { token });
  }

  before(async () => {
    ({ coord, node, agent } = await startStack({ coordToml: '[console]\nticket_ttl_s = 2\nidle_timeout_s = 600\n', nodeName: 'console-node' }));
    for (const name of ['alice', 'bob']) {
      const u = await coord.api('POST', '/api/v1/users', { body: { name, role: 'user' } });
      const t = await coord.api('POST', `/api/v1/users/${u.body.user.id}/tokens`);
      if (name === 'alice') userToken = t.body.token; else otherToken = t.body.token;
    }
    const r = await createInstance(coord, { name: 'console', template: 'mc-test' }, { token: userToken });
    assert.equal(r.status, 202, r.text);
    instance = await waitState(coord, r.body.instance.id, 'ready', 60000);
  });

  after(async () => {
    await agent?.kill();
    await agent?.killShims();
    await coord?.kill();
  });

  test('tickets: owner or admin only, single use, short-lived', async () => {
    const t = await ticket();
    assert.equal(t.status, 201, t.text);
    assert.match(t.body.ticket, /^zlht_[0-9A-Za-z]{43}$/);
    assert.equal(t.body.url, `${coord.url.replace('http', 'ws')}/api/v1/console?ticket=${t.body.ticket}`);
    assert.ok(Date.parse(t.body.expires_at) - Date.now() <= 2000);
    assert.equal((await ticket(instance.id, otherToken)).status, 404, "another user's instance");
    assert.equal((await ticket('in_nope')).status, 404);
    assert.equal((await ticket(instance.id, 'zlh_' + 'x'.repeat(43))).status, 401);
    assert.equal((await ticket(instance.id, coord.adminToken)).status, 201, 'admin');

    const base = `${coord.url.replace('http', 'ws')}/api/v1/console`;
    assert.equal(await refusedStatus(base), 401, 'no ticket');
    assert.equal(await refusedStatus(`${base}?ticket=zlht_forged`), 401, 'unknown ticket');
    const v = new Viewer(t.body.url);
    await v.opened;
    assert.equal(await refusedStatus(t.body.url), 401, 'a used ticket');
    v.ws.close();
    const stale = await ticket();
    await waitFor('the ticket expired', () => Date.now() > Date.parse(stale.body.expires_at) + 50, { timeoutMs: 5000 });
    assert.equal(await refusedStatus(stale.body.url), 401, 'an expired ticket');
  });

  test('scrollback, input, answers; two viewers see the same output and both can type', async () => {
    const a = new Viewer((await ticket()).body.url);
    const b = new Viewer((await ticket()).body.url);
    await Promise.all([a.opened, b.opened]);
    await waitFor('scrollback in both', () => a.text().includes('Done (') && b.text().includes('Done ('));
    a.type('say from-a\n');
    b.type('say from-b\n');
    await waitFor('both answers in both', () => ['from-a', 'from-b'].every((w) => a.text().includes(`[Server] ${w}`) && b.text().includes(`[Server] ${w}`)));
    a.resize(120, 40);
    a.type('list\n');
    await waitFor('still answering after a resize', () => a.text().includes('players online'));
    const secrets = [node.token, coord.adminToken, userToken, otherToken];
    for (const m of [...a.received, ...b.received]) for (const s of secrets) assert.ok(!m.toString('latin1').includes(s), 'no token in what the viewer receives');
    a.ws.close();
    b.ws.close();
  });

  test('input typed the moment the socket opens waits for the stream, and arrives in order', async () => {
    const v = new Viewer((await ticket()).body.url);
    // Sent before the coordinator has opened the agent's stream: held, not lost or reordered.
    v.ws.on('open', () => { for (let i = 1; i <= 5; i++) v.type(`say early-${i}\n`); });
    await v.opened;
    const answers = () => [...v.text().matchAll(/\[Server\] (early-\d)/g)].map((m) => m[1]);
    await waitFor('five answers', () => answers().length >= 5);
    assert.deepEqual(answers().slice(-5), ['early-1', 'early-2', 'early-3', 'early-4', 'early-5']);
    v.ws.close();
  });

  test('a shell for a template that offers one: in its directory, its env, hung up on close', async () => {
    const httpd = "node -e \"require('http').createServer((q, s) => s.end('ok')).listen(process.env.PORT, process.env.HOST)\"";
    const r = await createInstance(coord, { name: 'ide', template: 'process', params: { command: httpd } }, { token: userToken });
    assert.equal(r.status, 202, r.text);
    const ide = await waitState(coord, r.body.instance.id, 'ready', 60000);
    // Bad bodies are refused before anything else.
    for (const body of [{ shell: 'yes' }, { shel: true }]) {
      const bad = await coord.api('POST', `/api/v1/instances/${ide.id}/console/tickets`, { token: userToken, body });
      assert.equal(bad.status, 400, JSON.stringify(body));
      assert.equal(bad.body.error.code, 'invalid_argument');
    }
    const t = await coord.api('POST', `/api/v1/instances/${ide.id}/console/tickets`, { token: userToken, body: { shell: true } });
    assert.equal(t.status, 201, t.text);
    assert.equal(t.body.shell, true);
    const v = new Viewer(t.body.url);
    await v.opened;
    v.resize(90, 25);
    v.type('echo "A""T=$(pwd) P""ORT=$PORT S""IZE=$(stty size) T""OKEN=${ZLH_TOKEN:-none}"; echo P""ID=$$.\n');
    await waitFor('the shell answers', () => /PID=\d+\./.test(v.text())).catch((e) => { throw new Error(`${e.message}: got ${JSON.stringify(v.text())}`); });
    const text = v.text();
    assert.match(text, new RegExp(`AT=/\\S*/instances/${ide.id}/data `), text);
    assert.match(text, /PORT=\d+ SIZE=25 90 TOKEN=none/, text);
    const pid = Number(/PID=(\d+)\./.exec(text)[1]);
    v.ws.close();
    await v.closed;
    await waitFor('the shell is hung up when its viewer leaves', () => { try { process.kill(pid, 0); return false; } catch { return true; } });

    // A template without [console] shell = true: refused after the upgrade with the reason.
    const mc = await ticket(instance.id);
    const none = await coord.api('POST', `/api/v1/instances/${instance.id}/console/tickets`, { token: userToken, body: { shell: true } });
    assert.equal(none.status, 201);
    const refused = new Viewer(none.body.url);
    const closed = await refused.closed;
    assert.equal(closed.code, 4009);
    assert.match(closed.reason, /offers no shell/);
    assert.equal(mc.status, 201);
    await coord.api('DELETE', `/api/v1/instances/${ide.id}`, { token: userToken });
  });

  test('the last output before the process exits arrives, then a normal close', async () => {
    const v = new Viewer((await ticket()).body.url);
    await v.opened;
    await waitFor('scrollback', () => v.text().includes('Done ('));
    v.type('stop\n');
    const c = await v.closed;
    assert.equal(c.code, 1000, c.reason);
    assert.ok(v.text().includes('Saving worlds'), 'the game\'s last line');
    assert.ok(v.text().endsWith('[zlh: the process exited]\r\n'));
    await waitState(coord, instance.id, 'stopped', 20000);
  });

  test('refusals after the upgrade: not running (4009), agent offline (4010)', async () => {
    const stopped = new Viewer((await ticket()).body.url);
    assert.equal((await stopped.closed).code, 4009);
    assert.equal((await coord.api('POST', `/api/v1/instances/${instance.id}/power`, { body: { action: 'start' }, token: userToken })).status, 202);
    await waitState(coord, instance.id, 'ready', 30000);
    const v = new Viewer((await ticket()).body.url);
    await v.opened;
    await waitFor('scrollback', () => v.text().includes('Done ('));
    await agent.kill();
    const c = await v.closed;
    assert.equal(c.code, 4010, c.reason);
    await waitNodeStatus(coord, node.id, 'offline', 30000);
    const offline = new Viewer((await ticket()).body.url);
    assert.equal((await offline.closed).code, 4010);
    await agent.start();
    await waitNodeStatus(coord, node.id, 'online');
  });
});
