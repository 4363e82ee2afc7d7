// The agent link end to end with the real binaries (issue: foundation, acceptance "Integration").
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { metricValue, sleep, waitFor } from '../lib/harness.mjs';
import { Agent, Coordinator, waitNodeStatus } from '../lib/zlh.mjs';

describe('agent link', () => {
  let coord;
  const agents = [];
  const newAgent = async (opts) => {
    const a = await Agent.create({ coordinatorUrl: coord.url, ...opts });
    agents.push(a);
    return a;
  };

  before(async () => {
    coord = await Coordinator.create();
    await coord.start();
  });
  after(async () => {
    for (const a of agents) await a.kill();
    await coord?.kill();
  });

  test('agent is online within 2 s of start and reports hello facts', async () => {
    const node = await coord.addNode('n-online');
    const agent = await newAgent({ nodeId: node.id, token: node.token });
    const t0 = Date.now();
    await agent.start();
    await waitNodeStatus(coord, node.id, 'online', 2000);
    const elapsed = Date.now() - t0;
    console.log(`agent online after ${elapsed} ms`);
    const n = await coord.node(node.id);
    assert.equal(n.name, 'n-online');
    assert.ok(n.capacity.cpus >= 1, 'cpus reported');
    assert.ok(n.capacity.memory_bytes > 0, 'memory reported');
    assert.ok(n.capacity.disk_bytes > 0, 'disk reported');
    assert.equal(n.metrics_url, `${agent.metricsUrl}/metrics`);
    assert.ok(n.version, 'version reported');
    assert.ok(n.last_seen, 'last_seen set');
    const m = await agent.metrics();
    assert.equal(metricValue(m, 'zlh_agent_link_up'), 1);
    await agent.stop();
    await waitNodeStatus(coord, node.id, 'offline');
  });

  test('a job returns its result; a redelivered job id returns the recorded result without running twice', async () => {
    const node = await coord.addNode('n-jobs');
    const agent = await newAgent({ nodeId: node.id, token: node.token });
    await agent.start();
    await waitNodeStatus(coord, node.id, 'online');

    const first = await coord.api('POST', `/api/v1/nodes/${node.id}/jobs`, { body: { kind: 'system.info', job_id: 'job-redeliver-1' } });
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.job_id, 'job-redeliver-1');
    assert.equal(first.body.redelivered, false);
    assert.equal(first.body.result.node_id, node.id);
    assert.ok(first.body.result.hostname);
    assert.equal(first.body.result.runs, 1);

    const again = await coord.api('POST', `/api/v1/nodes/${node.id}/jobs`, { body: { kind: 'system.info', job_id: 'job-redeliver-1' } });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.body.redelivered, true);
    assert.deepEqual(again.body.result, first.body.result, 'recorded result returned');

    const other = await coord.api('POST', `/api/v1/nodes/${node.id}/jobs`, { body: { kind: 'system.info' } });
    assert.equal(other.status, 200, other.text);
    assert.equal(other.body.result.runs, 2, 'a new job id runs');

    const m = await agent.metrics();
    assert.equal(metricValue(m, 'zlh_system_info_runs_total'), 2, 'executed exactly twice for three requests');
    assert.equal(metricValue(m, 'zlh_agent_jobs_total', { kind: 'system.info', result: 'redelivered' }), 1);

    // The record survives an agent restart.
    await agent.stop();
    await agent.start();
    await waitNodeStatus(coord, node.id, 'online');
    const afterRestart = await coord.api('POST', `/api/v1/nodes/${node.id}/jobs`, { body: { kind: 'system.info', job_id: 'job-redeliver-1' } });
    assert.equal(afterRestart.status, 200, afterRestart.text);
    assert.equal(afterRestart.body.redelivered, true);
    assert.deepEqual(afterRestart.body.result, first.body.result);

    const unknown = await coord.api('POST', `/api/v1/nodes/${node.id}/jobs`, { body: { kind: 'nope.nothing' } });
    assert.equal(unknown.status, 501, unknown.text);
    assert.equal(unknown.body.error.code, 'unimplemented');
    assert.match(unknown.body.error.message, /nope\.nothing/);
    await agent.stop();
  });

  test('a job for an offline node is refused with 503', async () => {
    const node = await coord.addNode('n-offline');
    const r = await coord.api('POST', `/api/v1/nodes/${node.id}/jobs`, { body: { kind: 'system.info' } });
    assert.equal(r.status, 503, r.text);
    assert.equal(r.body.error.code, 'unavailable');
  });

  test('a wrong token is refused, counted, and the agent backs off instead of hammering', async () => {
    const node = await coord.addNode('n-badtoken');
    const before = metricValue(await coord.metrics(), 'zlh_agent_link_auth_failures_total', { reason: 'bad_token' }) ?? 0;
    const agent = await newAgent({ nodeId: node.id, token: 'zlh_' + 'x'.repeat(43), backoffInitialMs: 200, backoffMaxMs: 1600 });
    const t0 = Date.now();
    await agent.start();
    await sleep(5000); // observing a rate over a fixed window: this wait is the measurement
    const seconds = (Date.now() - t0) / 1000;
    const m = await agent.metrics();
    const refused = metricValue(m, 'zlh_agent_link_dials_total', { result: 'refused' }) ?? 0;
    assert.equal(metricValue(m, 'zlh_agent_link_up'), 0);
    // Waits of 200, 400, 800, 1600, 1600... ms, jittered down to half at worst: at most ~10 dials in
    // 5 s. A client without back-off would dial hundreds of times.
    console.log(`refused dials in ${seconds.toFixed(1)} s: ${refused}`);
    assert.ok(refused >= 2, `agent retries (${refused})`);
    assert.ok(refused <= 12, `agent backs off (${refused} dials in ${seconds} s)`);
    const afterCount = metricValue(await coord.metrics(), 'zlh_agent_link_auth_failures_total', { reason: 'bad_token' });
    assert.ok(afterCount - before >= 2, 'coordinator counts the refusals');
    assert.equal((await coord.node(node.id)).status, 'offline');
    await agent.kill();
  });

  test('a revoked token (node deleted) drops the link and is refused afterwards', async () => {
    const node = await coord.addNode('n-revoked');
    const agent = await newAgent({ nodeId: node.id, token: node.token, backoffInitialMs: 200, backoffMaxMs: 1000 });
    await agent.start();
    await waitNodeStatus(coord, node.id, 'online');
    const del = await coord.api('DELETE', `/api/v1/nodes/${node.id}`);
    assert.equal(del.status, 204, del.text);
    assert.equal((await coord.api('GET', `/api/v1/nodes/${node.id}`)).status, 404);
    await waitFor('agent link down', async () => metricValue(await agent.metrics(), 'zlh_agent_link_up') === 0, { timeoutMs: 3000 });
    await waitFor('refused redials', async () =>
      (metricValue(await agent.metrics(), 'zlh_agent_link_dials_total', { result: 'refused' }) ?? 0) >= 1, { timeoutMs: 5000 });
    assert.ok(agent.proc.running, 'agent keeps running');
    await agent.kill();
  });

  test('a hello whose node id is not the token\'s node is refused and counted', async () => {
    const a = await coord.addNode('n-mismatch-a');
    const b = await coord.addNode('n-mismatch-b');
    const before = metricValue(await coord.metrics(), 'zlh_agent_link_auth_failures_total', { reason: 'node_mismatch' }) ?? 0;
    const agent = await newAgent({ nodeId: b.id, token: a.token });
    await agent.start();
    await waitFor('node_mismatch counted', async () =>
      metricValue(await coord.metrics(), 'zlh_agent_link_auth_failures_total', { reason: 'node_mismatch' }) > before, { timeoutMs: 5000 });
    assert.equal((await coord.node(a.id)).status, 'offline');
    assert.equal((await coord.node(b.id)).status, 'offline');
    await agent.kill();
  });

  test('a second link for the same node replaces the first and is counted', async () => {
    const node = await coord.addNode('n-twice');
    const before = metricValue(await coord.metrics(), 'zlh_agent_link_replacements_total') ?? 0;
    const first = await newAgent({ nodeId: node.id, token: node.token, backoffInitialMs: 2000, backoffMaxMs: 4000 });
    await first.start();
    await waitNodeStatus(coord, node.id, 'online');
    const second = await newAgent({ nodeId: node.id, token: node.token, backoffInitialMs: 2000, backoffMaxMs: 4000 });
    await second.start();
    await waitFor('replacement counted', async () =>
      metricValue(await coord.metrics(), 'zlh_agent_link_replacements_total') > before, { timeoutMs: 5000 });
    assert.equal((await coord.node(node.id)).status, 'online');
    await first.kill();
    await second.kill();
  });

  test('sockets numbered past the agent\'s socket table: it links and serves; past 256 clients, the rest wait and are then served', async () => {
    const node = await coord.addNode('n-fds');
    const agent = await newAgent({ nodeId: node.id, token: node.token });
    await agent.start({ extraFds: 300 });  // its own sockets are numbered above 300
    await waitNodeStatus(coord, node.id, 'online');
    const socks = [], answered = [];
    const healthz = () => new Promise((resolve, reject) => {
      const s = net.connect(agent.metricsPort, '127.0.0.1', () => s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'));
      socks.push(s);
      let data = '';
      s.on('data', (d) => { data += d; if (data.includes('}')) { answered.push(s); resolve(data); } });
      s.on('error', reject);
      s.on('close', () => reject(new Error(`closed before an answer: ${JSON.stringify(data)}`)));
    });
    try {
      const answers = Array.from({ length: 300 }, healthz);
      await waitFor('the socket table full', () => answered.length >= 240, { timeoutMs: 10000 });
      // A window to see that no more are answered while all 300 stay open (a table sized by the
      // fd ulimit, 20,000 here, would answer them all at once).
      await sleep(300);
      assert.ok(answered.length < 256, `${answered.length} answered at once: the agent holds at most 256 sockets`);
      for (const s of answered.slice(0, 60)) s.destroy();
      for (const d of await Promise.all(answers)) assert.match(d, /^HTTP\/1\.1 200 /);
      assert.equal(metricValue(await agent.metrics(), 'zlh_agent_link_up'), 1);
    } finally {
      for (const s of socks) s.destroy();
    }
  });
});

describe('coordinator restart', () => {
  test('coordinator killed with SIGKILL and restarted: the agent is back online within its backoff bound', async () => {
    const coord = await Coordinator.create();
    let agent;
    try {
      await coord.start();
      const node = await coord.addNode('n-restart');
      const backoffMaxMs = 2000;
      agent = await Agent.create({ coordinatorUrl: coord.url, nodeId: node.id, token: node.token, backoffInitialMs: 200, backoffMaxMs });
      await agent.start();
      await waitNodeStatus(coord, node.id, 'online');
      await coord.kill();
      await waitFor('agent notices', async () => metricValue(await agent.metrics(), 'zlh_agent_link_up') === 0, { timeoutMs: 5000 });
      // Stay down for a while so the agent's backoff grows to its cap.
      await sleep(3000);
      await coord.start();
      const t0 = Date.now();
      await waitNodeStatus(coord, node.id, 'online', backoffMaxMs + 1500);
      console.log(`agent back online ${Date.now() - t0} ms after the coordinator came back (cap ${backoffMaxMs} ms)`);
      assert.ok(agent.proc.running);
    } finally {
      await agent?.kill();
      await coord.kill();
    }
  });
});
