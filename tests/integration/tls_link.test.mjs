// The agent link over TLS (wss://), as in production: the coordinator serves a certificate from a
// test CA, the agent verifies it (coordinator.ca_file), and a console flood crosses the link in
// full-size messages. The agent frames and masks its own messages (ws_client_frame.h) and lws
// sends them as raw bytes through TLS: a framing or masking slip would garble the lines or drop
// the link. An agent that does not trust the CA never links.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { metricValue, tempDir, waitFor } from '../lib/harness.mjs';
import { Agent, startStack } from '../lib/zlh.mjs';
import { createInstance, waitState } from '../lib/instances.mjs';

const MB = 1 << 20;

/** A CA and a server certificate for 127.0.0.1 it signed (PEM files in a temp dir). */
function makeCertificates() {
  const dir = tempDir('zlh-tls-');
  const f = (name) => path.join(dir, name);
  const openssl = (...args) => execFileSync('openssl', args, { stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-subj', '/CN=zlh test CA', '-days', '2');
  openssl('req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1');
  fs.writeFileSync(f('ext.cnf'), 'subjectAltName = IP:127.0.0.1\n');
  openssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial',
    '-out', f('server.pem'), '-days', '2', '-extfile', f('ext.cnf'));
  return { ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key') };
}

describe('agent link over TLS', () => {
  let coord, node, agent, certs, instance;
  const others = [];

  before(async () => {
    certs = makeCertificates();
    ({ coord, node, agent } = await startStack({ nodeName: 'tls-node', coordOpts: { tls: certs }, agentOpts: { caFile: certs.ca } }));
    const r = await createInstance(coord, { name: 'tls-flood', template: 'mc-test' });
    assert.equal(r.status, 202, r.text);
    instance = await waitState(coord, r.body.instance.id, 'ready', 60000);
  });

  after(async () => {
    for (const a of [agent, ...others]) await a?.kill();
    await agent?.killShims();
    await coord?.kill();
  });

  test('a console flood crosses the TLS link intact, in full-size messages', async () => {
    assert.match(coord.url, /^https:/);
    const t = await coord.api('POST', `/api/v1/instances/${instance.id}/console/tickets`);
    assert.equal(t.status, 201, t.text);
    assert.match(t.body.url, /^wss:/);
    const ws = new WebSocket(t.body.url, 'zlh.console.v1', { ca: fs.readFileSync(certs.ca), perMessageDeflate: false });
    await new Promise((ok, fail) => { ws.on('open', ok); ws.on('error', fail); });
    let text = '', bytes = 0, largest = 0;
    ws.on('message', (d, binary) => {
      if (!binary) return;
      bytes += d.length;
      largest = Math.max(largest, d.length);
      text += d.toString('latin1');
    });
    const dials = metricValue(await agent.metrics(), 'zlh_agent_link_dials_total');
    ws.send(Buffer.from('\x00flood\n'));
    await waitFor('8 MB of flood', () => bytes >= 8 * MB, { timeoutMs: 60000 });
    ws.send(Buffer.from('\x00calm\n'));
    await waitFor('flood stopped', () => /Flood stopped after/.test(text.slice(-4096)), { timeoutMs: 15000 });
    ws.close();

    // Every flood line arrives whole and in order. If the viewer fell behind, output was skipped
    // (the notice says how much): the line before a notice may be cut there, and numbering
    // jumps; elsewhere none is missing.
    const all = text.split(/\r?\n/);
    const echo = all.findIndex((l) => l.includes('calm'));  // the terminal echoes what we type, mid-line
    if (echo >= 0) all.length = echo;
    const notice = (l) => /^\[zlh: \d+ bytes of output skipped/.test(l ?? '');
    let last = -1, count = 0, jumpAllowed = false;
    for (let i = 0; i < all.length; i++) {
      const l = all[i];
      if (notice(l)) jumpAllowed = true;
      if (!l.startsWith('[flood]')) continue;
      const m = /^\[flood\] line (\d+) x{60}$/.exec(l);
      if (!m && notice(all[i + 1])) continue;
      assert.ok(m, `garbled line: ${JSON.stringify(l.slice(0, 100))}`);
      const n = Number(m[1]);
      assert.ok(n > last, `line ${n} after ${last}`);
      if (last >= 0 && !jumpAllowed) assert.equal(n, last + 1, 'a line is missing');
      last = n;
      jumpAllowed = false;
      count++;
    }
    assert.ok(count > 50000, `${count} flood lines`);
    // Messages of tens of KiB crossed (the shim's 64 KiB chunks, split by TLS records and
    // the coordinator's fragments as they may be), and the link never dropped.
    assert.ok(largest >= 16 * 1024, `largest message ${largest} bytes`);
    assert.equal(metricValue(await agent.metrics(), 'zlh_agent_link_dials_total'), dials);
    assert.equal((await coord.node(node.id)).status, 'online');
  });

  test('an agent that does not trust the certificate does not link', async () => {
    const other = await coord.addNode('untrusting-node');
    const a = await Agent.create({ coordinatorUrl: coord.url, nodeId: other.id, token: other.token });  // system CAs only
    others.push(a);
    await a.start();
    await waitFor('two refused dials', async () => metricValue(await a.metrics(), 'zlh_agent_link_dials_total') >= 2, { timeoutMs: 15000 });
    assert.equal(metricValue(await a.metrics(), 'zlh_agent_link_up'), 0);
    assert.notEqual((await coord.node(other.id)).status, 'online');
  });
});
