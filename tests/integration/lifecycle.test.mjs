// Instance lifecycle end to end: real coordinator, agent, zlh-shim and game servers (the npm
// minecraft-protocol test server and a javac-built stand-in for the vanilla jar), checked by an
// independent Minecraft client.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SOURCE_DIR, freePort, run, tempDir, waitFor } from '../lib/harness.mjs';
import { Agent, Coordinator, waitNodeStatus } from '../lib/zlh.mjs';
import { createInstance, events, getInstance, nodeJob, power, slp, waitInstance, waitOperation, waitState } from '../lib/instances.mjs';

const BUILTIN = path.join(SOURCE_DIR, 'plugins/lifecycle/templates');
const MC_TEST = fs.readFileSync(path.join(BUILTIN, 'mc-test.toml'), 'utf8');

/** mc-test with a new name and some sections replaced (section header -> new body). */
function variant(name, replace = {}, extra = '') {
  let t = MC_TEST.replace(/^name = ".*"$/m, `name = "${name}"`);
  for (const [section, body] of Object.entries(replace)) {
    const re = new RegExp(`^\\[${section.replace('.', '\\.')}\\]\\n(?:(?!\\[).*\\n?)*`, 'm');
    assert.match(t, re, `section ${section} in mc-test.toml`);
    t = t.replace(re, `[${section}]\n${body}\n\n`);
  }
  return t + '\n' + extra;
}

describe('instance lifecycle', () => {
  let coord, agent, node, templatesDir, artifactServer, artifactUrl;
  const FAST = {
    restart: 'backoff_initial_s = 1\nbackoff_max_s = 1\ncrash_loop_count = 3\ncrash_loop_window_s = 120\nstable_after_s = 60',
    health: 'interval_s = 1\nunresponsive_after_s = 3',
    stop: 'method = "command"\ncommand = "stop"\ntimeout_s = 3',
  };

  before(async () => {
    // Templates: the built-ins plus test variants.
    templatesDir = tempDir('zlh-templates-');
    for (const f of fs.readdirSync(BUILTIN)) fs.copyFileSync(path.join(BUILTIN, f), path.join(templatesDir, f));
    fs.writeFileSync(path.join(templatesDir, 'mc-fast.toml'), variant('mc-fast', FAST));
    fs.writeFileSync(path.join(templatesDir, 'mc-escape.toml'), variant('mc-escape', {},
      '[[install.files]]\npath = "../escaped.txt"\ncontent = "out"\n'));
    fs.writeFileSync(path.join(templatesDir, 'mc-script-fails.toml'), variant('mc-script-fails', {},
      '[install.script]\ncommand = ["sh", "-c", "echo installing; echo disk on fire >&2; exit 3"]\ntimeout_s = 10\n'));
    fs.writeFileSync(path.join(templatesDir, 'mc-script-slow.toml'), variant('mc-script-slow', {},
      '[install.script]\ncommand = ["sleep", "30"]\ntimeout_s = 1\n'));

    // The fake vanilla jar, served over loopback HTTP as an artifact.
    const jarDir = tempDir('zlh-jar-');
    const r = await run(path.join(SOURCE_DIR, 'tests/fixtures/fake-mc-jar/build.sh'), [jarDir], { timeoutMs: 120000 });
    assert.equal(r.code, 0, r.stderr);
    const jar = fs.readFileSync(path.join(jarDir, 'server.jar'));
    artifactServer = http.createServer((req, res) => {
      if (req.url === '/server.jar') { res.writeHead(200); res.end(jar); } else { res.writeHead(404); res.end(); }
    });
    const port = await freePort();
    await new Promise((ok) => artifactServer.listen(port, '127.0.0.1', ok));
    artifactUrl = `http://127.0.0.1:${port}/server.jar`;
    artifactServer.jarSha256 = crypto.createHash('sha256').update(jar).digest('hex');

    coord = await Coordinator.create();
    await coord.start();
    node = await coord.addNode('lifecycle-node');
    const base = 20000 + Math.floor(Math.random() * 20000);
    agent = await Agent.create({
      coordinatorUrl: coord.url, nodeId: node.id, token: node.token,
      extraToml: ['[plugins]', 'enabled = ["system", "lifecycle"]', '',
        '[plugins.lifecycle]', `templates_dir = "${templatesDir}"`,
        `fixtures_dir = "${path.join(SOURCE_DIR, 'tests/fixtures')}"`,
        `port_range = "${base}-${base + 200}"`].join('\n'),
    });
    await agent.start();
    await waitNodeStatus(coord, node.id, 'online');
  });

  after(async () => {
    await agent?.kill();
    await agent?.killShims();
    await coord?.kill();
    artifactServer?.close();
  });

  async function provision(body, { state = 'ready', timeoutMs = 60000 } = {}) {
    const r = await createInstance(coord, { name: body.template, ...body });
    assert.equal(r.status, 202, r.text);
    assert.equal(r.body.instance.state, 'provisioning');
    const inst = await waitState(coord, r.body.instance.id, state, timeoutMs);
    return { ...r.body, instance: inst };
  }

  async function childPid(id) {
    const s = await nodeJob(coord, node.id, 'lifecycle.status', id);
    assert.equal(s.status, 200, s.text);
    return s.body.result.process?.child_pid;
  }

  test('create -> ready: the game answers an independent Minecraft client', async () => {
    const t0 = Date.now();
    const { instance, operation } = await provision({ template: 'mc-test' });
    console.log(`mc-test create -> ready in ${Date.now() - t0} ms`);
    assert.match(instance.address, /^127\.0\.0\.1:\d+$/);
    const status = await slp(instance.address);
    assert.equal(status.version.name, '1.20.4');
    assert.equal(status.players.online, 0);
    const op = await waitOperation(coord, operation.id);
    assert.equal(op.state, 'succeeded', JSON.stringify(op));
    const types = (await events(coord, instance.id)).map((e) => e.type);
    assert.ok(types.includes('instance.ready'), types.join(','));
  });

  test('minecraft-java with the stand-in jar: artifact checked, ready, clean stop', async () => {
    const { instance } = await provision({ template: 'minecraft-java', resources: { memory_mb: 256 },
      params: { jar_url: artifactUrl, jar_sha256: artifactServer.jarSha256, eula: true } }, { timeoutMs: 90000 });
    await slp(instance.address);
    const r = await power(coord, instance.id, 'stop');
    assert.equal(r.status, 202, r.text);
    await waitState(coord, instance.id, 'stopped', 30000);
    const log = fs.readFileSync(path.join(agent.instanceDir(instance.id), 'console.log'), 'utf8');
    assert.match(log, /Stopping the server/);
  });

  test('stop, start, restart, kill, delete', async () => {
    const { instance } = await provision({ template: 'mc-fast' });
    const pid1 = await childPid(instance.id);
    assert.equal((await power(coord, instance.id, 'stop')).status, 202);
    await waitState(coord, instance.id, 'stopped', 20000);
    assert.throws(() => process.kill(pid1, 0), 'the game exited');
    const clean = (await nodeJob(coord, node.id, 'lifecycle.status', instance.id)).body.result.last_exit;
    assert.equal(clean.code, 0, `exited by itself on the stop command: ${JSON.stringify(clean)}`);
    assert.equal(clean.signal, null);
    assert.equal((await power(coord, instance.id, 'start')).status, 202);
    await waitState(coord, instance.id, 'ready');
    const pid2 = await childPid(instance.id);
    assert.equal((await power(coord, instance.id, 'restart')).status, 202);
    await waitFor('restarted with a new process', async () => {
      const i = await getInstance(coord, instance.id);
      const p = await childPid(instance.id);
      return i.state === 'ready' && p && p !== pid2;
    }, { timeoutMs: 30000, intervalMs: 200 });
    assert.equal((await power(coord, instance.id, 'kill')).status, 202);
    await waitState(coord, instance.id, 'stopped', 10000);
    assert.equal((await power(coord, instance.id, 'fly')).status, 400);

    const del = await coord.api('DELETE', `/api/v1/instances/${instance.id}`);
    assert.equal(del.status, 202, del.text);
    await waitFor('instance gone', async () => (await coord.api('GET', `/api/v1/instances/${instance.id}`)).status === 404, { timeoutMs: 20000 });
    assert.ok(!fs.existsSync(agent.instanceDir(instance.id)), 'files removed');
    const st = await nodeJob(coord, node.id, 'lifecycle.status', instance.id);
    assert.equal(st.status, 404, st.text);
  });

  test('a server that ignores stop is killed after the timeout', async () => {
    const { instance } = await provision({ template: 'mc-fast', env: { ZLH_FIXTURE_IGNORE_STOP: '1' } });
    const t0 = Date.now();
    assert.equal((await power(coord, instance.id, 'stop')).status, 202);
    await waitState(coord, instance.id, 'stopped', 20000);
    const took = Date.now() - t0;
    assert.ok(took >= 2500, `waited for the stop timeout (${took} ms)`);
    const killed = (await nodeJob(coord, node.id, 'lifecycle.status', instance.id)).body.result.last_exit;
    assert.equal(killed.signal, 'KILL', JSON.stringify(killed));
    const log = fs.readFileSync(path.join(agent.instanceDir(instance.id), 'console.log'), 'utf8');
    assert.match(log, /Ignoring stop/);
  });

  test('crash: SIGKILL of the game -> crashed event with the exit record, then ready again', async () => {
    const { instance } = await provision({ template: 'mc-fast' });
    const pid = await childPid(instance.id);
    process.kill(pid, 'SIGKILL');
    const crash = await waitFor('crashed event', async () => (await events(coord, instance.id)).find((e) => e.type === 'instance.crashed'), { timeoutMs: 10000 });
    assert.equal(crash.body.exit.signal, 'KILL');
    assert.ok(crash.body.exit.last_lines.some((l) => l.includes('Done (')), JSON.stringify(crash.body.exit.last_lines));
    await waitFor('back to ready with a new process', async () =>
      (await getInstance(coord, instance.id)).state === 'ready' && (await childPid(instance.id)) !== pid, { timeoutMs: 30000, intervalMs: 200 });
  });

  test('a server that crashes at once every time ends failed, not in an endless loop', async () => {
    const { instance } = await provision({ template: 'mc-fast', env: { ZLH_FIXTURE_CRASH: '1' } }, { state: 'failed', timeoutMs: 60000 });
    const crashes = (await events(coord, instance.id)).filter((e) => e.type === 'instance.crashed');
    assert.equal(crashes.length, 3, `crash_loop_count crashes (${crashes.length})`);
    await new Promise((r) => setTimeout(r, 2500)); // longer than the backoff: no further restart may come
    assert.equal((await getInstance(coord, instance.id)).state, 'failed');
    assert.equal((await events(coord, instance.id)).filter((e) => e.type === 'instance.crashed').length, 3);
  });

  test('a stop typed into the console is not a crash', async () => {
    const { instance } = await provision({ template: 'mc-fast' });
    // Type `stop` the way a console does: an INPUT frame (0x02, u32 BE length) on the shim socket.
    const sock = path.join(agent.dir, 'run', 'instances', instance.id, 'shim.sock');
    const payload = Buffer.from('stop\n');
    const frame = Buffer.concat([Buffer.from([0x02]), Buffer.alloc(4), payload]);
    frame.writeUInt32BE(payload.length, 1);
    await new Promise((resolve, reject) => {
      const c = net.createConnection(sock, () => c.end(frame, resolve));
      c.on('error', reject);
    });
    await waitState(coord, instance.id, 'stopped', 10000);
    const types = (await events(coord, instance.id)).map((e) => e.type);
    assert.ok(!types.includes('instance.crashed'), types.join(','));
    assert.equal((await getInstance(coord, instance.id)).desired_state, 'stopped');
  });

  test('hang: a server that stops answering pings is reported unresponsive', async () => {
    const { instance } = await provision({ template: 'mc-fast' });
    const pid = await childPid(instance.id);
    process.kill(pid, 'SIGSTOP');
    try {
      await waitInstance(coord, instance.id, (i) => i.unresponsive === true, 'unresponsive', 15000);
      const ev = (await events(coord, instance.id)).find((e) => e.type === 'instance.unresponsive');
      assert.ok(ev, 'unresponsive event recorded');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await waitInstance(coord, instance.id, (i) => i.unresponsive === false, 'responsive again', 15000);
  });

  test('agent kill -9: games keep running with the same PIDs, are re-adopted ready, no console line lost', async () => {
    const a = await provision({ template: 'mc-fast', name: 'keep-a', env: { ZLH_FIXTURE_TICK: '100' } });
    const b = await provision({ template: 'mc-fast', name: 'keep-b' });
    const pidA = await childPid(a.instance.id), pidB = await childPid(b.instance.id);
    const logA = path.join(agent.instanceDir(a.instance.id), 'console.log');
    const ticksOf = () => [...fs.readFileSync(logA, 'utf8').matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));
    await agent.kill();
    await waitNodeStatus(coord, node.id, 'offline', 70000);
    process.kill(pidA, 0);
    process.kill(pidB, 0);
    // Ticks keep being written while no agent runs: the shim alone logs them.
    const atKill = ticksOf().length;
    await waitFor('ticks logged while the agent is down', () => ticksOf().length >= atKill + 5, { timeoutMs: 10000 });
    await agent.start();
    await waitNodeStatus(coord, node.id, 'online');
    for (const x of [a, b]) await waitState(coord, x.instance.id, 'ready', 20000);
    assert.equal(await childPid(a.instance.id), pidA);
    assert.equal(await childPid(b.instance.id), pidB);
    const ticks = ticksOf();
    assert.ok(ticks.length >= atKill + 5, `ticks logged (${ticks.length}, ${atKill} at the kill)`);
    ticks.forEach((t, i) => assert.equal(t, i, 'no tick missing'));
    assert.equal((await power(coord, a.instance.id, 'stop')).status, 202);
    assert.equal((await power(coord, b.instance.id, 'stop')).status, 202);
    await waitState(coord, a.instance.id, 'stopped', 20000);
    await waitState(coord, b.instance.id, 'stopped', 20000);
  });

  describe('bad input: a clear error and nothing half-created', () => {
    async function failedCreate(body, pattern) {
      const r = await createInstance(coord, { name: 'bad', ...body });
      assert.equal(r.status, 202, r.text);
      const op = await waitOperation(coord, r.body.operation.id, 60000);
      assert.equal(op.state, 'failed', JSON.stringify(op));
      assert.match(op.error.message, pattern);
      const id = r.body.instance.id;
      assert.ok(!fs.existsSync(agent.instanceDir(id)), 'no instance dir left on the agent');
      const st = await nodeJob(coord, node.id, 'lifecycle.status', id);
      assert.equal(st.status, 404, st.text);
      return op;
    }
    test('unknown template', () => failedCreate({ template: 'no-such-template' }, /no-such-template/));
    test('bad params', () => failedCreate({ template: 'minecraft-java', params: { jar_url: 5 } }, /jar_url/));
    test('a template file entry that escapes the data dir', () => failedCreate({ template: 'mc-escape' }, /escap|beneath|outside|\.\./));
    test('an artifact with a wrong sha256', () => failedCreate({ template: 'minecraft-java',
      params: { jar_url: artifactUrl, jar_sha256: '0'.repeat(64), eula: true } }, /sha256|checksum|mismatch/i));
    test('an install script that fails', () => failedCreate({ template: 'mc-script-fails' }, /exit|disk on fire/));
    test('an install script that times out', () => failedCreate({ template: 'mc-script-slow' }, /time/));
  });
});
