// The coordinator on PostgreSQL (database.url = postgresql://...): init, serve, data through the
// API, a restart keeps it, a lost connection is a 503 then a reconnect, and bad or unreachable
// URLs fail clearly with the documented exit codes (2: bad config, 1: database unusable), never
// showing the password. Needs ZLH_TEST_PG_URL (scripts/test starts a cluster; by hand:
// scripts/pg-cluster run ctest --preset release -R postgres_store).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { freePort, http, run, tempDir, waitFor } from '../lib/harness.mjs';
import { COORDINATOR_BIN, Coordinator } from '../lib/zlh.mjs';

const BASE = process.env.ZLH_TEST_PG_URL;
const REQUIRED = process.env.ZLH_REQUIRE_PG === '1';
const skip = !BASE && !REQUIRED
  ? 'ZLH_TEST_PG_URL is unset (scripts/pg-cluster run ctest --preset release -R postgres_store)' : false;
const PASSWORD = BASE ? new URL(BASE).password : '';

function psql(sql, url = BASE) {
  return execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-tAc', sql], { encoding: 'utf8' }).trim();
}

// A fresh database per test; dropped (with its connections) when the file is done.
const databases = [];
function newDatabase() {
  const name = 'zlh_it_' + crypto.randomBytes(6).toString('hex');
  psql(`CREATE DATABASE ${name}`);
  databases.push(name);
  const u = new URL(BASE);
  u.pathname = '/' + name;
  return { name, url: u.toString() };
}
after(() => {
  for (const d of databases) { try { psql(`DROP DATABASE IF EXISTS ${d} WITH (FORCE)`); } catch {} }
});

function assertNoPassword(text, what) {
  if (PASSWORD) assert.ok(!text.includes(PASSWORD), `${what} shows the database password: ${text}`);
}

// A TCP proxy in front of the database: close() is the server going away (every connection
// cut, the port refusing), open() brings it back on the same port.
async function dbProxy(host, port) {
  const sockets = new Set();
  const p = { port: await freePort(), server: null };
  p.open = () => new Promise((resolve, reject) => {
    p.server = net.createServer((client) => {
      const upstream = net.connect(port, host);
      for (const s of [client, upstream]) { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => {}); }
      client.pipe(upstream).pipe(client);
    });
    p.server.once('error', reject);
    p.server.listen(p.port, '127.0.0.1', resolve);
  });
  p.close = () => new Promise((resolve) => {
    for (const s of sockets) s.destroy();
    p.server.close(resolve);
  });
  await p.open();
  return p;
}

function configFile(dir, url) {
  const file = path.join(dir, 'coordinator.toml');
  fs.writeFileSync(file, ['[server]', 'listen = "127.0.0.1:0"', '', '[database]', `url = "${url}"`, ''].join('\n'));
  return file;
}

describe('coordinator on PostgreSQL', { skip }, () => {
  test('requires a server under scripts/test', () => {
    assert.ok(BASE, 'ZLH_REQUIRE_PG=1 but ZLH_TEST_PG_URL is unset');
  });

  test('init, serve, data through the API, restart keeps it', async () => {
    const db = newDatabase();
    const c = await Coordinator.create({ databaseUrl: db.url });
    // init wrote our schema into that database.
    assert.equal(psql('SELECT max(version) FROM schema_migrations', db.url), '4');  // 4: instance reservation columns (placement)
    // A second init refuses: the database holds users already.
    const again = await c.cli(['init']);
    assert.equal(again.code, 1, again.stderr);
    assert.match(again.stderr, /already exists; refusing/);
    assertNoPassword(again.stderr, 'init refusal');

    await c.start();
    const user = await c.api('POST', '/api/v1/users', { body: { name: 'alice', role: 'user' } });
    assert.equal(user.status, 201, user.text);
    const token = await c.api('POST', `/api/v1/users/${user.body.user.id}/tokens`);
    assert.equal(token.status, 201, token.text);
    const node = await c.api('POST', '/api/v1/nodes', { body: { name: 'pg-node' } });
    assert.equal(node.status, 201, node.text);
    const dup = await c.api('POST', '/api/v1/nodes', { body: { name: 'pg-node' } });
    assert.equal(dup.status, 409, 'a unique violation is a conflict on PostgreSQL too');
    const health = await c.healthz();
    assert.equal(health.status, 'ok');

    await c.stop();
    await c.start();
    const nodes = await c.api('GET', '/api/v1/nodes');
    assert.equal(nodes.status, 200);
    assert.deepEqual(nodes.body.items.map((n) => n.id), [node.body.node.id]);
    const asAlice = await http('GET', `${c.url}/api/v1/instances`, { token: token.body.token });
    assert.equal(asAlice.status, 200, `alice's token survives the restart: ${asAlice.text}`);
    assert.equal((await c.api('GET', '/api/v1/nodes')).status, 200, 'the admin token too');
    await c.stop();
    assertNoPassword(c.proc.log(), 'the coordinator log');
    assert.match(c.proc.log(), /database postgresql:\/\/[^ ]*\*\*\*@/, 'the log names the database, redacted');
  });

  test('a lost database connection is a 503, then the coordinator reconnects', async () => {
    const db = newDatabase();
    const c = await (await Coordinator.create({ databaseUrl: db.url })).start();
    try {
      assert.equal((await http('GET', `${c.url}/healthz`)).status, 200);
      // What a database restart does to the coordinator's connections.
      psql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db.name}' AND pid <> pg_backend_pid()`);
      const lost = await http('GET', `${c.url}/healthz`);
      assert.equal(lost.status, 503, lost.text);
      assert.equal(lost.body.checks.db.ok, false);
      assertNoPassword(lost.text, '/healthz');
      await waitFor('healthz 200 again', async () => (await http('GET', `${c.url}/healthz`)).status === 200);
      assert.ok(c.proc.running, 'the coordinator did not exit');
      const node = await c.api('POST', '/api/v1/nodes', { body: { name: 'after-reconnect' } });
      assert.equal(node.status, 201, node.text);
    } finally {
      await c.stop();
    }
    assertNoPassword(c.proc.log(), 'the coordinator log');
  });

  test('the database going away and coming back: 503s, fast, then a reconnect', async () => {
    const db = newDatabase();
    const direct = new URL(db.url);
    const proxy = await dbProxy(direct.hostname, Number(direct.port));
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    const c = await (await Coordinator.create({ databaseUrl: viaProxy.toString() })).start();
    try {
      assert.equal((await http('GET', `${c.url}/healthz`)).status, 200);
      await proxy.close();
      const lost = await http('GET', `${c.url}/healthz`);
      assert.equal(lost.status, 503, lost.text);
      // While the port refuses, a reconnect is tried at most once a second; the calls between
      // fail at once rather than each waiting for a connection.
      const t0 = Date.now();
      const errors = [];
      for (let i = 0; i < 3; i++) {
        const r = await http('GET', `${c.url}/healthz`);
        assert.equal(r.status, 503, r.text);
        assertNoPassword(r.text, '/healthz');
        errors.push(r.body.checks.db.error);
      }
      assert.ok(Date.now() - t0 < 1000, `503s took ${Date.now() - t0} ms`);
      assert.match(errors[0], /reconnect to postgresql:\/\/zlh:\*\*\*@/);
      assert.match(errors[2], /unreachable \(reconnecting at most once a second\)/);
      await proxy.open();
      await waitFor('healthz 200 after the database is back', async () =>
        (await http('GET', `${c.url}/healthz`)).status === 200, { timeoutMs: 10000 });
      const node = await c.api('POST', '/api/v1/nodes', { body: { name: 'after-outage' } });
      assert.equal(node.status, 201, node.text);
    } finally {
      await c.stop();
      await proxy.close();
    }
    assert.ok(!/AddressSanitizer|Segmentation/.test(c.proc.log()));
    assertNoPassword(c.proc.log(), 'the coordinator log');
  });

  test('a malformed URL is a config error (exit 2) without the password', async () => {
    const dir = tempDir();
    const file = configFile(dir, 'postgresql://zlh:Sup3rSecretPw@127.0.0.1:54x2/zlh');
    for (const args of [['serve'], ['init']]) {
      const r = await run(COORDINATOR_BIN, ['--config', file, ...args]);
      assert.equal(r.code, 2, `${args}: ${r.stderr}`);
      assert.match(r.stderr, /database\.url: bad postgres URL postgresql:\/\/zlh:\*\*\*@127\.0\.0\.1:54x2\/zlh: invalid port/);
      assert.ok(!r.stderr.includes('Sup3rSecretPw'), r.stderr);
    }
  });

  test('an unreachable server or a missing database: exit 1 and a clear message', async () => {
    const dir = tempDir();
    const port = await freePort();  // nothing listens there
    const unreachable = configFile(dir, `postgresql://zlh:Sup3rSecretPw@127.0.0.1:${port}/zlh?connect_timeout=3`);
    for (const args of [['serve'], ['init'], ['node', 'add', 'n1']]) {
      const r = await run(COORDINATOR_BIN, ['--config', unreachable, ...args]);
      assert.equal(r.code, 1, `${args}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`connect to postgresql://zlh:\\*\\*\\*@127\\.0\\.0\\.1:${port}/zlh.*(refused|could not connect)`));
      assert.ok(!r.stderr.includes('Sup3rSecretPw'), r.stderr);
    }
    const u = new URL(BASE);
    u.pathname = '/zlh_no_such_database';
    const missing = configFile(tempDir(), u.toString());
    const r = await run(COORDINATOR_BIN, ['--config', missing, 'init']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /zlh_no_such_database" does not exist.*create it first/);
    assertNoPassword(r.stderr, 'init on a missing database');
    // serve on an empty (never initialised) database says to run init.
    const empty = newDatabase();
    const s = await run(COORDINATOR_BIN, ['--config', configFile(tempDir(), empty.url), 'serve']);
    assert.equal(s.code, 1, s.stderr);
    assert.match(s.stderr, /is not initialised \(run `zlh-coordinator init` first\)/);
    assertNoPassword(s.stderr, 'serve on an empty database');
  });
});
