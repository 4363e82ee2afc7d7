// Operations benchmark (not a test): create requests end to end through the durable queue
// (POST /api/v1/instances -> job claimed -> the agent's lifecycle.create of an mc-test instance
// with start=false, which writes one file -> operation succeeded), on SQLite and, when a
// PostgreSQL URL is given, on PostgreSQL; beside the engine's own limit measured in the same run
// (queue_bench: the same insert/claim/complete cycle in plain SQL).
//   - latency from POST to job start (the operation leaves `queued`), one request at a time on
//     an idle system, observed by polling GET /api/v1/operations/{id} back to back;
//   - throughput: N creates from C concurrent clients, first POST to last operation succeeded;
//   - the same with a fast no-op agent job: creates placed on a second node whose "agent" is a
//     minimal protocol peer (NoopAgent below) answering every job at once, so the figure is the
//     coordinator's and the queue's, not the real agent's durable writes;
//   - fast jobs on the real agent: power stop of installed instances, answered at once.
// Usage (from tests/):
//   ZLH_BIN_DIR=../build/release/bin node bench/operations.mjs [--latency 200] [--ops 2000] [--creates 500] [--clients 32]
//   ../scripts/pg-cluster run env ZLH_BIN_DIR=../build/release/bin node bench/operations.mjs   (both engines)
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { WebSocket } from 'ws';
import { BIN_DIR, http, metricValue, waitFor } from '../lib/harness.mjs';
import { Agent, Coordinator, lifecycleToml, waitNodeStatus } from '../lib/zlh.mjs';
import { createInstance } from '../lib/instances.mjs';
import { Report, median, percentile } from './lib.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const LATENCY = arg('latency', 200);
const OPS = arg('ops', 2000);  // fast agent jobs: long enough that ramp-up and drain fade
const CREATES = arg('creates', 500);  // creates in the throughput phase
const CLIENTS = arg('clients', 32);
const PG = process.env.ZLH_BENCH_PG_URL || process.env.ZLH_TEST_PG_URL;
const rep = new Report();

function psql(sql, url = PG) {
  return execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-tAc', sql], { encoding: 'utf8' }).trim();
}

/** queue_bench's bare-SQL cycle figures in this run: { 'sqlite:1': jobs/s, 'postgres:4': ... }. */
function bareCycles() {
  const out = execFileSync(path.join(BIN_DIR, 'queue_bench'), ['--seconds', '2', '--rounds', '2'],
    { encoding: 'utf8', env: { ...process.env, ZLH_BENCH_PG_URL: PG ?? '' } });
  const bare = {};
  for (const line of out.split('\n')) {
    const m = line.match(/^\| (sqlite|postgres) \| ([^|]+) \| (\d+) \| (\d+) \|/);
    if (m && !m[2].includes('reference')) bare[`${m[1]}:${m[3]}`] = Number(m[4]);
  }
  return bare;
}

/**
 * A fast no-op agent: the link protocol's agent side (docs/protocol.md) with a lifecycle plugin
 * whose every job succeeds at once, reporting the instance installed. Benchmark only: the tests
 * use the real agent.
 */
class NoopAgent {
  jobs = 0;
  async connect(coordUrl, node) {
    this.ws = new WebSocket(`${coordUrl.replace(/^http/, 'ws')}/agent/v1/connect`, 'zlh.agent.v1',
      { headers: { authorization: `Bearer ${node.token}` } });
    this.ws.on('message', (data, binary) => {
      if (binary) return;
      const m = JSON.parse(data.toString());
      if (m.type !== 'job.start') return;
      this.jobs++;
      const id = m.body.instance_id;
      this.send('job.done', { job_id: m.body.job_id, result: { instance: { id, state: 'installed',
        state_version: 1, address: '127.0.0.1:25565', unresponsive: false } } });
    });
    await new Promise((ok, fail) => { this.ws.on('open', ok); this.ws.on('error', fail); });
    const kinds = ['create', 'start', 'stop', 'restart', 'kill', 'delete'].map((v) => `lifecycle.${v}`);
    this.send('hello', { node_id: node.id, agent_version: 'bench-noop', protocols: [1],
      plugins: [{ name: 'lifecycle', state: 'running', job_kinds: kinds }],
      capacity: { cpus: 64, memory_bytes: 2 ** 40, disk_bytes: 2 ** 50 }, metrics_url: '', instances: [] });
  }
  send(type, body) {
    this.ws.send(JSON.stringify({ v: 1, type, id: crypto.randomBytes(8).toString('hex'), ts: Date.now(), body }));
  }
  close() { this.ws?.terminate(); }
}

/**
 * `count` requests from CLIENTS clients (`request(n)` answers 202 with an operation), then waits
 * for the queue to drain: the operation ids, how many of them did not succeed, and ops/s.
 */
async function burst(coord, what, count, request) {
  const ids = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (next < count) {
      const r = await request(next++);
      if (r.status !== 202) throw new Error(`${what}: ${r.status} ${r.text}`);
      ids.push(r.body.operation.id);
    }
  }));
  await waitFor('queue drained', async () => {
    const q = (await coord.healthz()).checks.queues.provisioning;
    return q.available + q.running === 0;
  }, { timeoutMs: 600000, intervalMs: 5 });
  const secs = (performance.now() - t0) / 1000;
  let failed = 0;
  for (const id of ids) {
    const op = await http('GET', `${coord.url}/api/v1/operations/${id}`, { token: coord.adminToken });
    if (op.body.state !== 'succeeded') failed++;
  }
  return { ids, failed, rate: count / secs };
}

/** `count` creates (on `node` when given). */
const createBurst = (coord, prefix, count, node) => burst(coord, 'create', count, (n) =>
  createInstance(coord, { name: `${prefix}-${n}`, template: 'mc-test', start: false, ...(node ? { node } : {}) }));

async function stack(databaseUrl) {
  const extraToml = '[placement]\ndefault_memory_mb = 1\ndefault_disk_mb = 1\nmax_instances_per_node = 100000\n';
  const coord = await Coordinator.create({ extraToml, databaseUrl });
  await coord.start();
  const node = await coord.addNode('bench-node');
  const agent = await Agent.create({ coordinatorUrl: coord.url, nodeId: node.id, token: node.token,
    extraToml: '[plugins]\nenabled = ["system", "lifecycle"]\n\n' + lifecycleToml({ ports: CREATES + LATENCY + 20 }) });
  await agent.start();
  await waitNodeStatus(coord, node.id, 'online');
  return { coord, agent };
}

async function create(coord, name) {
  for (;;) {
    const r = await createInstance(coord, { name, template: 'mc-test', start: false });
    if (r.status === 202) return r.body.operation.id;
    throw new Error(`create: ${r.status} ${r.text}`);
  }
}

async function engineRun(engine, databaseUrl, bare) {
  const { coord, agent } = await stack(databaseUrl);
  try {
    // Latency: one at a time on an idle system.
    const lat = [];
    for (let i = 0; i < LATENCY; i++) {
      const t0 = performance.now();
      const id = await create(coord, `lat-${i}`);
      for (;;) {
        const op = await http('GET', `${coord.url}/api/v1/operations/${id}`, { token: coord.adminToken });
        if (op.body.state !== 'queued' && op.body.state !== 'waiting') break;
      }
      lat.push(performance.now() - t0);
      await waitFor('operation done', async () =>
        (await http('GET', `${coord.url}/api/v1/operations/${id}`, { token: coord.adminToken })).body.state === 'succeeded',
      { intervalMs: 2 });
    }
    // Throughput: CREATES creates from CLIENTS clients.
    const { ids, failed, rate } = await createBurst(coord, 'tp', CREATES);
    // Where an operation's time goes: the agent's run of lifecycle.create, and the coordinator's
    // claim-to-answer (which includes it).
    const am = await agent.metrics(), cm = await coord.metrics();
    const mean = (m, name, labels) =>
      1000 * metricValue(m, `${name}_sum`, labels) / metricValue(m, `${name}_count`, labels);
    console.log(`${engine}: mean lifecycle.create on the agent ` +
      `${mean(am, 'zlh_agent_job_duration_seconds', { kind: 'lifecycle.create' }).toFixed(1)} ms, ` +
      `claim to answer on the coordinator ` +
      `${mean(cm, 'zlh_queue_job_duration_seconds', { queue: 'provisioning' }).toFixed(1)} ms`);
    const anchor = bare[`${engine}:4`] ?? bare[`${engine}:1`];
    // Fast agent jobs: `stop` on installed (never started) instances, which the agent answers at
    // once without writing anything: the queue and coordinator path with a near no-op job.
    const targets = ids.slice(0, 20).map((id) => id);
    const instIds = [];
    for (const opId of targets) {
      const op = await http('GET', `${coord.url}/api/v1/operations/${opId}`, { token: coord.adminToken });
      instIds.push(op.body.instance_id);
    }
    const { ids: powerIds, rate: powerRate } = await burst(coord, 'power', OPS, (n) =>
      http('POST', `${coord.url}/api/v1/instances/${instIds[n % instIds.length]}/power`,
        { token: coord.adminToken, body: { action: 'stop' } }));
    const states = {};
    for (const id of powerIds.slice(0, 20)) {
      const op = await http('GET', `${coord.url}/api/v1/operations/${id}`, { token: coord.adminToken });
      const k = `${op.body.state}${op.body.error ? ' (' + op.body.error.code + ')' : ''}`;
      states[k] = (states[k] ?? 0) + 1;
    }
    console.log(`${engine}: power answers (first 20):`, states);

    // Creates answered by a fast no-op agent job: a second node, linked by the NoopAgent.
    const noopNode = await coord.addNode('bench-noop');
    const noop = new NoopAgent();
    await noop.connect(coord.url, noopNode);
    await waitNodeStatus(coord, noopNode.id, 'online');
    const nb = await createBurst(coord, 'noop', OPS, noopNode.id);
    noop.close();
    console.log(`${engine}: the no-op agent answered ${noop.jobs} job(s)`);

    rep.add(`${engine}: POST -> job start, p50 / p99 (${LATENCY} sequential)`,
      `${median(lat).toFixed(1)} / ${percentile(lat, 0.99).toFixed(1)} ms`, 'goal p99', '50 ms',
      (percentile(lat, 0.99) / 50).toFixed(2));
    rep.add(`${engine}: operations end to end (${CREATES} creates, ${CLIENTS} clients, ${failed} not succeeded)`,
      `${rate.toFixed(0)} ops/s`, 'bare SQL queue cycle (4 workers)', `${anchor} jobs/s`,
      anchor ? (rate / anchor).toFixed(2) : '-');
    rep.add(`${engine}: creates end to end, fast no-op agent job (${OPS} creates, ${CLIENTS} clients, ${nb.failed} not succeeded)`,
      `${nb.rate.toFixed(0)} ops/s`, 'bare SQL queue cycle (4 workers)', `${anchor} jobs/s`,
      anchor ? (nb.rate / anchor).toFixed(2) : '-');
    rep.add(`${engine}: operations end to end, fast agent job (${OPS} power stop, ${CLIENTS} clients)`,
      `${powerRate.toFixed(0)} ops/s`, 'bare SQL queue cycle (4 workers)', `${anchor} jobs/s`,
      anchor ? (powerRate / anchor).toFixed(2) : '-');
  } finally {
    await agent.kill();
    await agent.killShims();
    await coord.kill();
  }
}

const bare = bareCycles();
console.log('bare SQL cycles this run:', bare);
await engineRun('sqlite', undefined, bare);
if (PG) {
  const name = 'zlh_bench_' + crypto.randomBytes(5).toString('hex');
  psql(`CREATE DATABASE ${name}`);
  const u = new URL(PG);
  u.pathname = '/' + name;
  try {
    await engineRun('postgres', u.toString(), bare);
  } finally {
    psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}
rep.print();
process.exit(0);
