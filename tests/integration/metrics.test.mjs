// The coordinator's observability surface over HTTP from the running binary: /metrics (text
// 0.0.4, promtool-clean, gzip), /healthz and GET /api/v1/sd/agents (docs/metrics.md). /healthz's
// 503 when the store fails is a unit test (api_service_test: UnreachableStore).
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import zlib from 'node:zlib';
import { http, parseMetrics, metricValue } from '../lib/harness.mjs';
import { promtool, rawGet } from '../lib/prometheus.mjs';
import { startStack, waitNodeStatus } from '../lib/zlh.mjs';

/** Sends raw bytes and returns what comes back until the server closes or 5 s pass. */
function rawRequest(port, text) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.write(text));
    let data = '';
    sock.setTimeout(5000, () => sock.destroy());
    sock.on('data', (d) => { data += d; if (/\r\n\r\n[\s\S]*\}$/.test(data)) sock.end(); });
    sock.on('close', () => resolve(data));
    sock.on('error', reject);
  });
}

async function roleToken(coord, role) {
  const r = await coord.cli(['token', 'create', '--role', role, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).token;
}

const isError = (r, status, code) => {
  assert.equal(r.status, status, r.text);
  assert.equal(typeof r.body, 'object', `JSON body: ${r.text}`);
  assert.equal(r.body.error.code, code);
  assert.equal(typeof r.body.error.message, 'string');
};

describe('coordinator metrics, health and service discovery', () => {
  let stack, metricsToken;
  before(async () => {
    stack = await startStack({ nodeName: 'metrics-node' });
    metricsToken = await roleToken(stack.coord, 'metrics');
  });
  after(async () => {
    await stack?.agent.stop();
    await stack?.agent.killShims();
    await stack?.coord.stop();
  });

  test('/metrics passes promtool check metrics: no parse error, no lint problem', async () => {
    const { coord } = stack;
    await http('GET', `${coord.url}/no/such/route`);  // some request counters, "other" included
    // A body over 1 MiB is refused by the network module before the API sees it: counted too.
    const refused = await rawRequest(coord.port, 'POST /api/v1/nodes HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n');
    assert.match(refused, /^HTTP\/1\.1 413 /);
    const r = await rawGet(`${coord.url}/metrics`, { authorization: `Bearer ${metricsToken}` });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(r.headers['content-encoding'], undefined);
    const text = r.body.toString('utf8');
    const check = await promtool(['check', 'metrics'], text);
    assert.equal(check.code, 0, `promtool: ${check.stdout}${check.stderr}`);
    assert.equal((check.stdout + check.stderr).trim(), '');
    const samples = parseMetrics(text);
    assert.equal(metricValue(samples, 'zlh_agents_connected'), 1);
    assert.equal(metricValue(samples, 'zlh_nodes'), 1);
    assert.equal(metricValue(samples, 'zlh_http_requests_total', { route: 'other', code: '404' }), 1);
    assert.equal(metricValue(samples, 'zlh_http_requests_total', { route: 'other', code: '413' }), 1);
    assert.ok(metricValue(samples, 'zlh_build_info') === 1);
    for (const state of ['queued', 'waiting', 'running']) {
      assert.equal(metricValue(samples, 'zlh_operations_oldest_age_seconds', { kind: 'instance.create', state }), 0);
    }
  });

  test('promtool does fail on a broken exposition (the check above can fail)', async () => {
    assert.notEqual((await promtool(['check', 'metrics'], '# TYPE x counter\nx{ 1\n')).code, 0);
    assert.notEqual((await promtool(['check', 'metrics'], '# HELP x y\n# TYPE x counter\nx 1\n')).code, 0);
  });

  test('/metrics is gzipped when the scraper accepts it, and says so', async () => {
    const { coord } = stack;
    const r = await rawGet(`${coord.url}/metrics`, {
      authorization: `Bearer ${metricsToken}`, 'accept-encoding': 'gzip',
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.match(r.headers.vary ?? '', /accept-encoding/i);
    assert.equal(Number(r.headers['content-length']), r.body.length);
    const text = zlib.gunzipSync(r.body).toString('utf8');
    assert.ok(r.body.length < text.length / 3, `${r.body.length} compressed vs ${text.length}`);
    const check = await promtool(['check', 'metrics'], text);
    assert.equal(check.code, 0, `promtool: ${check.stdout}${check.stderr}`);
    const refused = await rawGet(`${coord.url}/metrics`, {
      authorization: `Bearer ${metricsToken}`, 'accept-encoding': 'gzip;q=0, identity',
    });
    assert.equal(refused.headers['content-encoding'], undefined);
    assert.match(refused.body.toString('utf8'), /^# HELP /);
  });

  test('/healthz reports store, agents, the operation backlog and the queues', async () => {
    const r = await http('GET', `${stack.coord.url}/healthz`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/json');
    const queue = {
      available: 0, running: 0, oldest_available_age_seconds: 0, oldest_running_age_seconds: 0, overdue: 0,
    };
    assert.deepEqual(r.body, {
      status: 'ok',
      checks: {
        db: { ok: true },
        agents_online: 1,
        operations: { ok: true, pending: 0, oldest_pending_age_seconds: 0 },
        queues: { ok: true, provisioning: queue, repair: queue, billing_enforcement: queue },
      },
    });
  });

  test('sd/agents lists the agent with its advertised metrics address; tokens are checked', async () => {
    const { coord, node, agent } = stack;
    const r = await http('GET', `${coord.url}/api/v1/sd/agents`, { token: metricsToken });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.deepEqual(r.body, [{
      targets: [`127.0.0.1:${agent.metricsPort}`],
      labels: { __scheme__: 'http', __metrics_path__: '/metrics', zlh_node_id: node.id, zlh_node_name: 'metrics-node' },
    }]);
    assert.equal((await coord.api('GET', '/api/v1/sd/agents')).status, 200);  // admin too
    isError(await http('GET', `${coord.url}/api/v1/sd/agents`), 401, 'unauthenticated');
    isError(await http('GET', `${coord.url}/api/v1/sd/agents`, { token: 'zlh_nope' }), 401, 'unauthenticated');
    isError(await http('GET', `${coord.url}/api/v1/sd/agents`, { token: await roleToken(coord, 'user') }), 403, 'permission_denied');
    isError(await http('GET', `${coord.url}/api/v1/sd/agents`, { token: node.token }), 401, 'unauthenticated');
  });

  test('sd/agents keeps an offline node and drops a deleted one', async () => {
    const { coord, node, agent } = stack;
    await agent.stop();
    await waitNodeStatus(coord, node.id, 'offline');
    const offline = await http('GET', `${coord.url}/api/v1/sd/agents`, { token: metricsToken });
    assert.equal(offline.body.length, 1);
    assert.equal(offline.body[0].labels.zlh_node_id, node.id);
    assert.equal((await coord.api('DELETE', `/api/v1/nodes/${node.id}`)).status, 204);
    const gone = await http('GET', `${coord.url}/api/v1/sd/agents`, { token: metricsToken });
    assert.equal(gone.status, 200);
    assert.equal(gone.text, '[]');
  });
});
