// Coordinator API basics: auth, roles, node shapes, JSON errors, first-setup CLI.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { http } from '../lib/harness.mjs';
import { Coordinator } from '../lib/zlh.mjs';

describe('coordinator API', () => {
  let coord;
  before(async () => {
    coord = await Coordinator.create();
    await coord.start();
  });
  after(async () => coord?.stop());

  const isError = (r, status, code) => {
    assert.equal(r.status, status, r.text);
    assert.equal(typeof r.body, 'object', `JSON body: ${r.text}`);
    assert.equal(r.body.error.code, code);
    assert.equal(typeof r.body.error.message, 'string');
  };

  test('init refuses to touch an existing database', async () => {
    const r = await coord.cli(['init', '--json']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /exist/);
  });

  test('healthz answers app state without auth', async () => {
    const r = await http('GET', `${coord.url}/healthz`);
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'ok');
    assert.equal(r.body.checks.db.ok, true);
    assert.equal(typeof r.body.checks.agents_online, 'number');
  });

  test('missing, malformed and unknown tokens are 401 with a JSON error', async () => {
    isError(await http('GET', `${coord.url}/api/v1/nodes`), 401, 'unauthenticated');
    isError(await http('GET', `${coord.url}/api/v1/nodes`, { token: 'zlh_nope' }), 401, 'unauthenticated');
    isError(await http('GET', `${coord.url}/api/v1/nodes`, { headers: { authorization: 'Basic abc' } }), 401, 'unauthenticated');
  });

  test('roles: a user token cannot manage nodes; a metrics token reads /metrics only', async () => {
    const u = await coord.cli(['token', 'create', '--role', 'user', '--json']);
    assert.equal(u.code, 0, u.stderr);
    const userToken = JSON.parse(u.stdout).token;
    assert.match(userToken, /^zlh_[A-Za-z0-9_-]{32,}$/);
    isError(await http('GET', `${coord.url}/api/v1/nodes`, { token: userToken }), 403, 'permission_denied');
    isError(await http('GET', `${coord.url}/metrics`, { token: userToken }), 403, 'permission_denied');
    const m = await coord.cli(['token', 'create', '--role', 'metrics', '--json']);
    const metricsToken = JSON.parse(m.stdout).token;
    assert.equal((await http('GET', `${coord.url}/metrics`, { token: metricsToken })).status, 200);
    isError(await http('GET', `${coord.url}/api/v1/nodes`, { token: metricsToken }), 403, 'permission_denied');
    const bad = await coord.cli(['token', 'create', '--role', 'root']);
    assert.notEqual(bad.code, 0);
  });

  test('nodes: create shows the token once, list and get shapes, conflict, delete', async () => {
    const c = await coord.api('POST', '/api/v1/nodes', { body: { name: 'api-node-1' } });
    assert.equal(c.status, 201, c.text);
    assert.match(c.body.token, /^zlh_/);
    const n = c.body.node;
    assert.equal(n.name, 'api-node-1');
    assert.equal(n.status, 'offline');
    assert.equal(n.last_seen, null);
    for (const k of ['id', 'name', 'status', 'last_seen', 'version', 'capacity', 'metrics_url']) assert.ok(k in n, k);

    const list = await coord.api('GET', '/api/v1/nodes');
    assert.equal(list.status, 200);
    assert.ok(Array.isArray(list.body.items));
    assert.ok('next_cursor' in list.body);
    const listed = list.body.items.find((x) => x.id === n.id);
    assert.ok(listed);
    assert.ok(!JSON.stringify(list.body).includes(c.body.token), 'token never shown again');

    const one = await coord.api('GET', `/api/v1/nodes/${n.id}`);
    assert.equal(one.status, 200);
    assert.equal(one.body.id, n.id);
    assert.ok(!JSON.stringify(one.body).includes(c.body.token));

    isError(await coord.api('POST', '/api/v1/nodes', { body: { name: 'api-node-1' } }), 409, 'conflict');
    isError(await coord.api('POST', '/api/v1/nodes', { body: { name: '' } }), 400, 'invalid_argument');
    isError(await coord.api('POST', '/api/v1/nodes', { body: '{not json' }), 400, 'invalid_argument');
    isError(await coord.api('POST', '/api/v1/nodes', { body: [1, 2] }), 400, 'invalid_argument');

    assert.equal((await coord.api('DELETE', `/api/v1/nodes/${n.id}`)).status, 204);
    isError(await coord.api('GET', `/api/v1/nodes/${n.id}`), 404, 'not_found');
    isError(await coord.api('DELETE', `/api/v1/nodes/${n.id}`), 404, 'not_found');
  });

  test('users and their tokens', async () => {
    const u = await coord.api('POST', '/api/v1/users', { body: { name: 'alice', role: 'user' } });
    assert.equal(u.status, 201, u.text);
    assert.equal(u.body.user.name, 'alice');
    const t = await coord.api('POST', `/api/v1/users/${u.body.user.id}/tokens`);
    assert.equal(t.status, 201, t.text);
    assert.match(t.body.token, /^zlh_/);
    isError(await coord.api('POST', '/api/v1/users', { body: { name: 'bob', role: 'god' } }), 400, 'invalid_argument');
    isError(await coord.api('POST', '/api/v1/users/usr_nope/tokens'), 404, 'not_found');
  });

  test('unknown route 404, wrong method 405, both JSON', async () => {
    isError(await coord.api('GET', '/api/v1/nope'), 404, 'not_found');
    const r = await coord.api('PUT', '/api/v1/nodes');
    assert.equal(r.status, 405, r.text);
    assert.ok(r.body.error);
  });

  test('metrics expose the documented coordinator names', async () => {
    const r = await coord.api('GET', '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /text\/plain/);
    for (const name of ['zlh_agents_connected', 'zlh_agent_link_auth_failures_total', 'zlh_http_requests_total', 'zlh_build_info']) {
      assert.match(r.text, new RegExp(`^${name}`, 'm'), name);
    }
  });
});
