// The agent's console streams over its link, against a scratch coordinator (the npm `ws` server
// speaking proto/v1): the real agent, lifecycle and console plugins, shim and the test game server.
// Scrollback then live output, input reaching the game, credit-bounded output, the last output
// before the process exits, refusals.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { SOURCE_DIR, freePort, waitFor } from '../lib/harness.mjs';
import { Agent } from '../lib/zlh.mjs';

const NODE = 'nd_console';

/** A minimal coordinator: accepts one agent, welcomes it, records what it sends. */
class ScratchCoordinator {
  messages = [];
  frames = [];  // { id, payload }
  async start() {
    this.port = await freePort();
    this.wss = new WebSocketServer({ host: '127.0.0.1', port: this.port, handleProtocols: (p) => (p.has('zlh.agent.v1') ? 'zlh.agent.v1' : false) });
    this.wss.on('connection', (ws) => {
      this.ws = ws;
      ws.on('message', (data, isBinary) => {
        if (isBinary) {
          const b = Buffer.from(data);
          this.frames.push({ id: b.readUInt32BE(0), payload: b.subarray(4) });
          return;
        }
        const m = JSON.parse(data.toString());
        this.messages.push(m);
        if (m.type === 'hello') this.send('welcome', { node_id: NODE, coordinator_version: 'scratch', protocol: 1, ping_interval_s: 20 });
      });
    });
    await new Promise((ok) => this.wss.on('listening', ok));
    return this;
  }
  send(type, body) {
    this.ws.send(JSON.stringify({ v: 1, type, id: `s-${Math.random()}`, ts: Date.now(), body }));
  }
  input(streamId, op, bytes) {
    const head = Buffer.alloc(5);
    head.writeUInt32BE(streamId, 0);
    head[4] = op;
    this.ws.send(Buffer.concat([head, Buffer.from(bytes)]), { binary: true });
  }
  ofType(type, pred = () => true) { return this.messages.filter((m) => m.type === type && pred(m.body)); }
  output(streamId) { return Buffer.concat(this.frames.filter((f) => f.id === streamId).map((f) => f.payload)).toString('utf8'); }
  async job(kind, instanceId, params = {}) {
    const jobId = `job-${kind}-${Date.now()}-${Math.random()}`;
    this.send('job.start', { job_id: jobId, kind, instance_id: instanceId, params, deadline_ms: 0 });
    const done = await waitFor(`${kind} done`, () => this.ofType('job.done', (b) => b.job_id === jobId)[0], { timeoutMs: 60000 });
    assert.ok(!done.body.error, JSON.stringify(done.body.error));
    return done.body.result;
  }
  async stop() { for (const c of this.wss?.clients ?? []) c.terminate(); await new Promise((ok) => this.wss?.close(ok)); }
}

describe('console streams over the agent link', () => {
  let coord, agent;
  const ID = 'console1';

  before(async () => {
    coord = await new ScratchCoordinator().start();
    const base = 20000 + Math.floor(Math.random() * 20000);
    agent = await Agent.create({
      coordinatorUrl: `ws://127.0.0.1:${coord.port}`, nodeId: NODE, token: 'zlh_scratch',
      extraToml: ['[plugins]', 'enabled = ["system", "lifecycle", "console"]', '', '[plugins.lifecycle]',
        `templates_dir = "${path.join(SOURCE_DIR, 'plugins/lifecycle/templates')}"`,
        `fixtures_dir = "${path.join(SOURCE_DIR, 'tests/fixtures')}"`, `port_range = "${base}-${base + 20}"`].join('\n'),
    });
    await agent.start();
    await waitFor('hello', () => coord.ofType('hello').length > 0);
    await coord.job('lifecycle.create', ID, { template: 'mc-test', name: 'console' });
    await waitFor('instance ready', () => coord.ofType('instance.ready', (b) => b.instance_id === ID).length > 0, { timeoutMs: 60000 });
  });

  after(async () => {
    await agent?.kill();
    await agent?.killShims();
    await coord?.stop();
  });

  test('scrollback, then live output; input reaches the game', async () => {
    coord.send('stream.open', { stream_id: 1, kind: 'console', instance_id: ID, params: {}, initial_credit: 1 << 20 });
    await waitFor('accepted (input window)', () => coord.ofType('stream.credit', (b) => b.stream_id === 1).length > 0);
    await waitFor('scrollback', () => coord.output(1).includes('Done ('));
    coord.input(1, 0x00, 'say hello-console\n');
    await waitFor('the answer', () => coord.output(1).includes('[Server] hello-console'));
    coord.input(1, 0x01, Buffer.from([0, 100, 0, 30]));  // resize 100 x 30: accepted, stream stays open
    coord.input(1, 0x00, 'list\n');
    await waitFor('still open after a resize', () => coord.output(1).includes('players online'));
    assert.equal(coord.ofType('stream.close', (b) => b.stream_id === 1).length, 0);
  });

  test('output never exceeds the credit the peer granted', async () => {
    coord.send('stream.open', { stream_id: 2, kind: 'console', instance_id: ID, params: {}, initial_credit: 100 });
    await waitFor('first 100 bytes', () => coord.output(2).length === 100);
    coord.input(1, 0x00, 'say more output\n');
    await waitFor('stream 1 sees it', () => coord.output(1).includes('more output'));
    assert.equal(coord.output(2).length, 100, 'no byte past the credit');
    coord.send('stream.credit', { stream_id: 2, bytes: 1 << 20 });
    await waitFor('the rest after more credit', () => coord.output(2).includes('more output'));
    coord.send('stream.close', { stream_id: 2 });
  });

  test('refusals: unknown kind, unknown instance, a second open of the same id', async () => {
    coord.send('stream.open', { stream_id: 10, kind: 'telepathy', instance_id: ID, params: {}, initial_credit: 1000 });
    coord.send('stream.open', { stream_id: 11, kind: 'console', instance_id: 'nope', params: {}, initial_credit: 1000 });
    coord.send('stream.open', { stream_id: 1, kind: 'console', instance_id: ID, params: {}, initial_credit: 1000 });
    const err = (id) => coord.ofType('stream.close', (b) => b.stream_id === id)[0]?.body.error?.code;
    await waitFor('three refusals', () => err(10) && err(11) && err(1));
    assert.equal(err(10), 'unimplemented');
    assert.equal(err(11), 'not_found');
    assert.equal(err(1), 'conflict');
  });

  test('the last output before the process exits arrives, then the stream closes', async () => {
    coord.send('stream.open', { stream_id: 3, kind: 'console', instance_id: ID, params: { replay: false }, initial_credit: 1 << 20 });
    await waitFor('accepted', () => coord.ofType('stream.credit', (b) => b.stream_id === 3).length > 0);
    await coord.job('lifecycle.stop', ID);
    await waitFor('stream 3 closed', () => coord.ofType('stream.close', (b) => b.stream_id === 3).length > 0, { timeoutMs: 20000 });
    const out = coord.output(3);
    assert.ok(out.includes('Saving worlds'), out);  // the game's last line
    assert.ok(out.endsWith('[zlh: the process exited]\r\n'), JSON.stringify(out.slice(-80)));
    assert.ok(!coord.ofType('stream.close', (b) => b.stream_id === 3)[0].body.error);
    const log = fs.readFileSync(path.join(agent.instanceDir(ID), 'console.log'), 'utf8');
    assert.ok(log.includes('Saving worlds'));
  });
});
