// Durable provisioning (issue 5) with the real coordinator and agent over loopback, on both store
// engines: SQLite and PostgreSQL (ZLH_TEST_PG_URL; skipped without it unless ZLH_REQUIRE_PG=1).
//
// - idempotency: concurrent identical creates make one instance and one execution on the agent;
// - crash safety: creates while the coordinator is SIGKILLed and restarted at random moments;
//   every operation ends, each create ran once on the agent;
// - an offline node: the operation waits, and runs when the agent connects; one cancelled
//   while it waits never runs;
// - a link dropped mid-job (the coordinator SIGKILLed or SIGTERMed and restarted, or the agent
//   frozen with SIGSTOP past the link timeout): the job finishes once and its result reaches
//   the coordinator;
// - two coordinators on one PostgreSQL database (PostgreSQL only): jobs run where the node's
//   link is. A coordinator claims only jobs of nodes whose link it holds (and unbound ones), so
//   a create posted to B, which holds no link, is queued by B and run by A, which holds the
//   agent's; B places on and shows the node as online from A's link lease in the store.
//
// "Ran once" is read from the agent's zlh_agent_jobs_total{kind="lifecycle.create"}: results ok
// and error count executions, `redelivered` counts answers from the agent's record of a job id
// it had finished (a redelivery is allowed, a second execution is not).
// Queue timings are short (lease 2 s, sweep 1 s, poll 100 ms, retry base 100 ms) so lost leases
// come back within seconds. The crash loop's random delays are the fault schedule, not waits:
// every wait for a condition polls with a deadline.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { SOURCE_DIR, metricValue, sleep, tempDir, waitFor } from '../lib/harness.mjs';
import { Agent, Coordinator, lifecycleToml, waitNodeStatus } from '../lib/zlh.mjs';
import { createInstance, waitOperation } from '../lib/instances.mjs';

const QUEUES = '[queues]\nlease_s = 2\nsweep_s = 1\npoll_ms = 100\nretry_base_ms = 100\n';
const FINAL = ['succeeded', 'failed', 'cancelled', 'stale'];

// PostgreSQL: a fresh database per test, dropped (with its connections) when the file is done.
const PG_BASE = process.env.ZLH_TEST_PG_URL;
const PG_REQUIRED = process.env.ZLH_REQUIRE_PG === '1';
const pgSkip = !PG_BASE && !PG_REQUIRED
  ? 'ZLH_TEST_PG_URL is unset (scripts/pg-cluster run ctest --preset release -R queues)' : false;
const databases = [];
function psql(sql) {
  return execFileSync('psql', [PG_BASE, '-v', 'ON_ERROR_STOP=1', '-tAc', sql], { encoding: 'utf8' }).trim();
}
function newDatabase() {
  assert.ok(PG_BASE, 'ZLH_REQUIRE_PG=1 but ZLH_TEST_PG_URL is unset (scripts/pg-cluster run ...)');
  const name = 'zlh_q_' + crypto.randomBytes(6).toString('hex');
  psql(`CREATE DATABASE ${name}`);
  databases.push(name);
  const u = new URL(PG_BASE);
  u.pathname = '/' + name;
  return u.toString();
}
after(() => {
  for (const d of databases) { try { psql(`DROP DATABASE IF EXISTS ${d} WITH (FORCE)`); } catch {} }
});

const ENGINES = [
  { name: 'sqlite', skip: false, databaseUrl: () => undefined },
  { name: 'postgres', skip: pgSkip, databaseUrl: newDatabase },
];

// Templates: the built-ins plus mc-slow, whose install takes 5 s (a job long enough to interrupt).
const SLOW_INSTALL_S = 5;
const templatesDir = tempDir('zlh-templates-');
{
  const builtin = path.join(SOURCE_DIR, 'plugins/lifecycle/templates');
  for (const f of fs.readdirSync(builtin)) fs.copyFileSync(path.join(builtin, f), path.join(templatesDir, f));
  const slow = fs.readFileSync(path.join(builtin, 'mc-test.toml'), 'utf8').replace(/^name = ".*"$/m, 'name = "mc-slow"');
  fs.writeFileSync(path.join(templatesDir, 'mc-slow.toml'),
    `${slow}\n[install.script]\ncommand = ["sleep", "${SLOW_INSTALL_S}"]\ntimeout_s = 60\n`);
}
const AGENT_TOML = lifecycleToml({ templatesDir, ports: 300 });

/** A coordinator (started) with one node; its agent is created, and started unless told not. */
async function stack(t, engine, { startAgent = true, agents = {} } = {}) {
  const coord = await Coordinator.create({ extraToml: QUEUES, databaseUrl: engine.databaseUrl(), agents });
  t.after(() => coord.kill());
  await coord.start();
  const node = await coord.addNode('q-node');
  const agent = await Agent.create({ coordinatorUrl: coord.url, nodeId: node.id, token: node.token,
    extraToml: AGENT_TOML, backoffInitialMs: 100, backoffMaxMs: 500 });
  t.after(async () => { await agent.kill(); await agent.killShims(); });
  if (startAgent) {
    await agent.start();
    await waitNodeStatus(coord, node.id, 'online');
  }
  return { coord, node, agent };
}

/** The agent's lifecycle.create answers: executions (ok + error) and redeliveries. */
async function agentCreates(agent) {
  const m = await agent.metrics();
  const v = (result) => metricValue(m, 'zlh_agent_jobs_total', { kind: 'lifecycle.create', result }) ?? 0;
  return { executions: v('ok') + v('error'), ok: v('ok'), error: v('error'), redelivered: v('redelivered') };
}

async function getOperation(coord, id) {
  const r = await coord.api('GET', `/api/v1/operations/${id}`);
  assert.equal(r.status, 200, r.text);
  return r.body;
}

/** Waits until every operation is final; returns them. */
async function waitAllFinal(coord, ids, timeoutMs = 30000) {
  let ops = [];
  await waitFor(`${ids.length} operations final`, async () => {
    ops = await Promise.all(ids.map((id) => getOperation(coord, id)));
    return ops.every((o) => FINAL.includes(o.state));
  }, { timeoutMs, intervalMs: 200 });
  return ops;
}

async function listInstances(coord) {
  const r = await coord.api('GET', '/api/v1/instances');
  assert.equal(r.status, 200, r.text);
  return r.body.items;
}

const histogram = (values) => values.reduce((h, v) => ({ ...h, [v]: (h[v] ?? 0) + 1 }), {});

for (const engine of ENGINES) {
  describe(`durable queues on ${engine.name}`, { skip: engine.skip }, () => {
    test('idempotency: 20 concurrent identical creates are one instance, run once', async (t) => {
      const t0 = Date.now();
      const { coord, agent } = await stack(t, engine);
      const key = crypto.randomUUID();
      const body = { name: 'idem', template: 'mc-test', start: false };
      const rs = await Promise.all(Array.from({ length: 20 }, () => createInstance(coord, body, { key })));
      for (const r of rs) assert.equal(r.status, 202, r.text);
      const opIds = new Set(rs.map((r) => r.body.operation.id));
      const instIds = new Set(rs.map((r) => r.body.instance.id));
      assert.equal(opIds.size, 1, `one operation: ${[...opIds]}`);
      assert.equal(instIds.size, 1, `one instance: ${[...instIds]}`);
      const [opId] = opIds;
      const op = await waitOperation(coord, opId);
      assert.equal(op.state, 'succeeded', JSON.stringify(op));
      assert.equal(op.attempts, 1, JSON.stringify(op));

      // Key order does not make another request: the same operation, nothing sent again.
      const reordered = await createInstance(coord, { start: false, template: 'mc-test', name: 'idem' }, { key });
      assert.equal(reordered.status, 202, reordered.text);
      assert.equal(reordered.body.operation.id, opId);
      assert.equal(reordered.body.operation.state, 'succeeded');
      const other = await createInstance(coord, { ...body, name: 'idem-2' }, { key });
      assert.equal(other.status, 422, other.text);
      assert.equal(other.body.error.code, 'failed_precondition');
      const noKey = await coord.api('POST', '/api/v1/instances', { body });
      assert.equal(noKey.status, 400, noKey.text);
      assert.equal(noKey.body.error.code, 'invalid_argument');
      assert.match(noKey.body.error.message, /Idempotency-Key/);

      const items = await listInstances(coord);
      assert.deepEqual(items.map((i) => i.id), [...instIds]);
      const runs = await agentCreates(agent);
      assert.equal(runs.executions, 1, `lifecycle.create executions: ${JSON.stringify(runs)}`);
      assert.equal(runs.ok, 1);
      console.log(`[${engine.name}] idempotency: ${Date.now() - t0} ms, agent ${JSON.stringify(runs)}`);
    });

    test('crash safety: 50 creates while the coordinator is SIGKILLed at random moments', async (t) => {
      const t0 = Date.now();
      const { coord, node, agent } = await stack(t, engine);
      const N = 50;
      // At least 8 kills, and kills until every create is accepted.
      let killing = true;
      let kills = 0;
      let killerFailed;
      const killer = (async () => {
        while (killing || kills < 8) {
          await sleep(150 + Math.random() * 450);
          await coord.kill();
          kills++;
          await coord.start();
        }
      })().catch((e) => { killerFailed = e; });

      // Creates issued one every 80 ms across the kills, each retried with its key until a 202.
      let connectionErrors = 0;
      const accepted = new Array(N);
      const client = async (i) => {
        await sleep(i * 80);
        const key = crypto.randomUUID();
        const body = { name: `crash-${i}`, template: 'mc-test', start: false, node: node.id };
        const deadline = Date.now() + 60000;
        for (;;) {
          let r;
          try {
            r = await createInstance(coord, body, { key });
          } catch (e) {
            if (killerFailed) throw new Error(`create ${i}: the coordinator did not restart`);
            if (Date.now() > deadline) throw new Error(`create ${i}: no 202 within 60 s: ${e.message}`);
            connectionErrors++;  // the coordinator is down (or died mid-request): same key again
            await sleep(20);
            continue;
          }
          assert.equal(r.status, 202, `create ${i}: ${r.text}`);
          accepted[i] = r.body;
          return;
        }
      };
      try {
        await Promise.all(Array.from({ length: N }, (_, i) => client(i)));
      } finally {
        killing = false;
        await killer;
      }
      if (killerFailed) throw killerFailed;
      const issued = Date.now() - t0;

      const ops = await waitAllFinal(coord, accepted.map((a) => a.operation.id));
      const open = ops.filter((o) => !['succeeded', 'failed'].includes(o.state));
      assert.deepEqual(open, [], 'every operation succeeded or failed');
      const failed = ops.filter((o) => o.state === 'failed');
      for (const o of failed) assert.ok(o.error?.code && o.error?.message, `failed with an error: ${JSON.stringify(o)}`);

      const items = await listInstances(coord);
      assert.equal(items.length, N, `instances: ${items.map((i) => i.name).join(',')}`);
      const names = items.map((i) => i.name);
      assert.equal(new Set(names).size, N, `no name twice: ${names.sort().join(',')}`);
      assert.deepEqual(new Set(items.map((i) => i.id)), new Set(accepted.map((a) => a.instance.id)));
      const runs = await agentCreates(agent);
      assert.equal(runs.executions, N, `lifecycle.create executions: ${JSON.stringify(runs)}`);
      console.log(`[${engine.name}] crash safety: ${Date.now() - t0} ms (creates accepted after ${issued} ms), ` +
        `${kills} kills, ${connectionErrors} connection errors, ${failed.length} failed ` +
        `${JSON.stringify(failed.map((o) => o.error))}, attempts ${JSON.stringify(histogram(ops.map((o) => o.attempts)))}, ` +
        `agent ${JSON.stringify(runs)}`);
    });

    test('agent offline: the create waits, naming the node, and runs when the agent connects; a cancelled one never runs', async (t) => {
      const t0 = Date.now();
      // The node has said hello once (placement knows its capacity), then its agent stopped.
      const { coord, node, agent } = await stack(t, engine);
      await agent.stop();
      await waitNodeStatus(coord, node.id, 'offline');
      const r = await createInstance(coord, { name: 'offline', template: 'mc-test', start: false, node: node.id });
      assert.equal(r.status, 202, r.text);
      assert.equal(r.body.operation.state, 'waiting', JSON.stringify(r.body.operation));
      assert.equal(r.body.operation.error?.code, 'unavailable');
      assert.ok(r.body.operation.error.message.includes(node.id), r.body.operation.error.message);
      const op = await getOperation(coord, r.body.operation.id);
      assert.equal(op.state, 'waiting');
      // A second one, cancelled while it waits: it never runs.
      const c = await createInstance(coord, { name: 'offline-cancelled', template: 'mc-test', start: false, node: node.id });
      assert.equal(c.status, 202, c.text);
      assert.equal(c.body.operation.state, 'waiting');
      const health = await coord.healthz();
      assert.equal(health.checks.queues.provisioning.available, 2, JSON.stringify(health.checks.queues));
      const cancel = await coord.api('POST', `/api/v1/operations/${c.body.operation.id}/cancel`);
      assert.equal(cancel.status, 200, cancel.text);
      assert.equal(cancel.body.state, 'cancelled');
      const again = await coord.api('POST', `/api/v1/operations/${c.body.operation.id}/cancel`);
      assert.equal(again.status, 422, again.text);

      await agent.start();
      const done = await waitOperation(coord, op.id);
      assert.equal(done.state, 'succeeded', JSON.stringify(done));
      assert.equal(done.error, null);
      assert.equal(done.attempts, 1);
      const cancelled = await getOperation(coord, c.body.operation.id);
      assert.equal(cancelled.state, 'cancelled', JSON.stringify(cancelled));
      assert.equal(cancelled.attempts, 0);
      const drained = (await coord.healthz()).checks.queues.provisioning;
      assert.equal(drained.available + drained.running, 0, JSON.stringify(drained));
      const runs = await agentCreates(agent);
      assert.equal(runs.executions, 1, JSON.stringify(runs));
      console.log(`[${engine.name}] agent offline: ${Date.now() - t0} ms`);
    });

    // Killed and restarted at once, the job is still running on the agent when it is sent again
    // (after its lease expired): not started twice, its one result goes to the new link.
    // Restarted once the agent finished it, the resend is answered from the agent's record (a
    // redelivery). Stopped (SIGTERM), the coordinator gives the job back without waiting for
    // the lease; killed, its next run retires the dead run's leases at start.
    for (const mode of ['SIGKILLed, restarted at once', 'SIGKILLed, restarted after the agent finished the job',
      'stopped with SIGTERM, restarted at once']) {
      test(`link dropped mid-job (coordinator ${mode}): the job runs once`, async (t) => {
        const t0 = Date.now();
        const { coord, node, agent } = await stack(t, engine);
        const r = await createInstance(coord, { name: 'slow', template: 'mc-slow', start: false, node: node.id });
        assert.equal(r.status, 202, r.text);
        // The agent reports `installing` once it runs the job; the install then sleeps.
        await waitFor('the agent installing', async () =>
          (await coord.api('GET', `/api/v1/instances/${r.body.instance.id}`)).body.state === 'installing');
        assert.equal((await getOperation(coord, r.body.operation.id)).state, 'running');
        if (mode.startsWith('stopped')) {
          await coord.stop();
          assert.match(coord.proc.log(), /gave back 1 running job/);
        } else {
          await coord.kill();
        }
        if (mode.includes('finished')) {
          await waitFor('the agent finishing the job offline', async () => (await agentCreates(agent)).executions === 1,
            { timeoutMs: (SLOW_INSTALL_S + 10) * 1000, intervalMs: 100 });
        }
        await coord.start();
        // Killed, the dead run's link lease is retired at start (and its job lease when it has
        // not run out yet: the lease here is 2 s, shorter than a slow start may take).
        if (!mode.startsWith('stopped')) assert.match(coord.proc.log(), /ended without giving back 1 node link\(s\) and [01] job\(s\)/);
        const op = await waitOperation(coord, r.body.operation.id, 30000);
        assert.equal(op.state, 'succeeded', JSON.stringify(op));
        assert.equal(op.error, null);
        assert.ok(op.attempts >= 2, `sent again after the restart: ${JSON.stringify(op)}`);
        const runs = await agentCreates(agent);
        assert.equal(runs.executions, 1, JSON.stringify(runs));
        if (mode.includes('finished')) assert.ok(runs.redelivered >= 1, `answered from the record: ${JSON.stringify(runs)}`);
        assert.equal((await listInstances(coord))[0].state, 'installed');
        console.log(`[${engine.name}] coordinator ${mode}: ${Date.now() - t0} ms, ` +
          `attempts ${op.attempts}, agent ${JSON.stringify(runs)}`);
      });
    }

    test('link dropped mid-job (agent frozen past the link timeout): the job waits, then runs once', async (t) => {
      const t0 = Date.now();
      const { coord, node, agent } = await stack(t, engine, { agents: { ping_interval_s: 1, link_timeout_s: 3 } });
      const r = await createInstance(coord, { name: 'slow', template: 'mc-slow', start: false, node: node.id });
      assert.equal(r.status, 202, r.text);
      await waitFor('the agent installing', async () =>
        (await coord.api('GET', `/api/v1/instances/${r.body.instance.id}`)).body.state === 'installing');
      // SIGSTOP: the agent stops answering pings (its install script keeps sleeping); the
      // coordinator drops the silent link and gives the job back: `waiting` for the node.
      process.kill(agent.proc.pid, 'SIGSTOP');
      let stopped = true;
      t.after(() => { if (stopped) try { process.kill(agent.proc.pid, 'SIGCONT'); } catch {} });
      const waiting = await waitFor('the operation waiting', async () => {
        const o = await getOperation(coord, r.body.operation.id);
        return o.state === 'waiting' ? o : undefined;
      }, { timeoutMs: 15000, intervalMs: 100 });
      assert.equal(waiting.error?.code, 'unavailable');
      assert.ok(waiting.error.message.includes(node.id), waiting.error.message);
      const frozenMs = Date.now() - t0;
      process.kill(agent.proc.pid, 'SIGCONT');
      stopped = false;
      const op = await waitOperation(coord, r.body.operation.id, 30000);
      assert.equal(op.state, 'succeeded', JSON.stringify(op));
      assert.equal(op.error, null);
      assert.ok(op.attempts >= 2, `sent again after the reconnect: ${JSON.stringify(op)}`);
      const runs = await agentCreates(agent);
      assert.equal(runs.executions, 1, JSON.stringify(runs));
      console.log(`[${engine.name}] agent frozen mid-job: ${Date.now() - t0} ms (waiting after ${frozenMs} ms), ` +
        `attempts ${op.attempts}, agent ${JSON.stringify(runs)}`);
    });
  });
}

describe('two coordinators on one PostgreSQL database', { skip: pgSkip }, () => {
  test('creates posted to either run where the node is linked, each once; then the link moves to B', async (t) => {
    const t0 = Date.now();
    const a = await Coordinator.create({ extraToml: QUEUES, databaseUrl: newDatabase() });
    t.after(() => a.kill());
    const b = await Coordinator.share(a);
    t.after(() => b.kill());
    // The database is initialised once: init through B refuses and changes nothing.
    const again = await b.cli(['init']);
    assert.equal(again.code, 1, again.stderr);
    assert.match(again.stderr, /already exists; refusing/);
    await a.start();
    await b.start();
    const node = await a.addNode('shared-node');
    const agent = await Agent.create({ coordinatorUrl: a.url, nodeId: node.id, token: node.token,
      extraToml: AGENT_TOML, backoffInitialMs: 100, backoffMaxMs: 500 });
    t.after(async () => { await agent.kill(); await agent.killShims(); });
    await agent.start();
    await waitNodeStatus(a, node.id, 'online');
    // B holds no link but reads A's link lease from the store.
    await waitNodeStatus(b, node.id, 'online');

    // 20 to B placed by B (the node's link is A's), 10 to B naming the node, 10 to A, and one
    // key posted to both 5 times each.
    const key = crypto.randomUUID();
    const shared = { name: 'both', template: 'mc-test', start: false, node: node.id };
    const posts = [
      ...Array.from({ length: 20 }, (_, i) => createInstance(b, { name: `b-${i}`, template: 'mc-test', start: false })),
      ...Array.from({ length: 10 }, (_, i) => createInstance(b, { name: `bn-${i}`, template: 'mc-test', start: false, node: node.id })),
      ...Array.from({ length: 10 }, (_, i) => createInstance(a, { name: `a-${i}`, template: 'mc-test', start: false })),
      ...Array.from({ length: 10 }, (_, i) => createInstance(i % 2 ? a : b, shared, { key })),
    ];
    const rs = await Promise.all(posts);
    for (const r of rs) assert.equal(r.status, 202, r.text);
    const sharedOps = new Set(rs.slice(40).map((r) => r.body.operation.id));
    assert.equal(sharedOps.size, 1, `one operation for the shared key: ${[...sharedOps]}`);
    const ids = [...new Set(rs.map((r) => r.body.operation.id))];
    assert.equal(ids.length, 41);

    const ops = await waitAllFinal(b, ids);
    for (const o of ops) assert.equal(o.state, 'succeeded', JSON.stringify(o));
    const runs = await agentCreates(agent);
    assert.equal(runs.executions, 41, JSON.stringify(runs));
    assert.equal((await listInstances(b)).length, 41);

    // B shows the queue drained, and ran none of it itself.
    const health = await b.healthz();
    assert.equal(health.checks.queues.ok, true, JSON.stringify(health.checks.queues));
    assert.equal(health.checks.queues.provisioning.available, 0);
    assert.equal(health.checks.queues.provisioning.running, 0);
    for (const [c, ran] of [[b, 0], [a, 41]]) {
      const m = await c.metrics();
      const q = (state) => metricValue(m, 'zlh_queue_jobs', { queue: 'provisioning', state });
      assert.equal(q('available'), 0);
      assert.equal(q('running'), 0);
      assert.equal(q('succeeded'), 41);
      assert.equal(metricValue(m, 'zlh_queue_job_duration_seconds_count', { queue: 'provisioning' }), ran,
        `${c === a ? 'A' : 'B'} ran ${ran} job(s)`);
    }
    const t1 = Date.now();

    // The link moves: A is SIGKILLed (its link lease is left to run out), creates are posted to
    // B meanwhile, the agent is pointed at B. B takes the node's link over and runs them.
    await a.kill();
    await agent.stop();
    const moved = await Promise.all(Array.from({ length: 5 }, (_, i) =>
      createInstance(b, { name: `moved-${i}`, template: 'mc-test', start: false, node: node.id })));
    for (const r of moved) assert.equal(r.status, 202, r.text);
    fs.writeFileSync(agent.configPath, fs.readFileSync(agent.configPath, 'utf8')
      .replace(`url = "${a.url.replace(/^http/, 'ws')}"`, `url = "${b.url.replace(/^http/, 'ws')}"`));
    await agent.start();
    const movedOps = await waitAllFinal(b, moved.map((r) => r.body.operation.id));
    for (const o of movedOps) assert.equal(o.state, 'succeeded', JSON.stringify(o));
    const movedRuns = await agentCreates(agent);  // the restarted agent's counters
    assert.equal(movedRuns.executions, 5, JSON.stringify(movedRuns));
    const m = await b.metrics();
    assert.equal(metricValue(m, 'zlh_queue_job_duration_seconds_count', { queue: 'provisioning' }), 5, 'B ran the 5');
    assert.equal((await b.node(node.id)).status, 'online');
    console.log(`[postgres] two coordinators: ${t1 - t0} ms, attempts ` +
      `${JSON.stringify(histogram(ops.map((o) => o.attempts)))}, agent ${JSON.stringify(runs)}; ` +
      `link moved to B: ${Date.now() - t1} ms, agent ${JSON.stringify(movedRuns)}`);
  });
});
