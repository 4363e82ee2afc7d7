// ./scripts/demo brings up a coordinator and an agent; the node is online; demo.json is written
// atomically with mode 0600; SIGTERM stops everything and exits 0.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { BIN_DIR, Proc, SOURCE_DIR, http, tempDir, waitFor } from '../lib/harness.mjs';
import { slp } from '../lib/instances.mjs';

test('scripts/demo runs, reports, and stops cleanly', async () => {
  const dir = tempDir('zlh-demo-');
  const demo = new Proc('demo', path.join(SOURCE_DIR, 'scripts/demo'), [], {
    env: { ZLH_DEMO_DIR: dir, ZLH_DEMO_BIN_DIR: BIN_DIR }, logDir: dir,
  });
  try {
    const jsonPath = path.join(dir, 'demo.json');
    await waitFor('demo.json', () => fs.existsSync(jsonPath) || (!demo.running && Promise.reject(new Error(demo.log()))), { timeoutMs: 120000, intervalMs: 100 });
    assert.equal(fs.statSync(jsonPath).mode & 0o777, 0o600);
    const info = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
    assert.match(info.coordinator_url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(info.admin_token, /^zlh_/);
    assert.match(info.agent_metrics_url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    assert.equal(info.state_dir, fs.realpathSync(dir));
    const node = await http('GET', `${info.coordinator_url}/api/v1/nodes/${info.node_id}`, { token: info.admin_token });
    assert.equal(node.body.status, 'online');
    const nodes = await http('GET', `${info.coordinator_url}/api/v1/nodes`, { token: info.admin_token });
    assert.equal(nodes.body.items.length, 1);
    assert.equal((await http('GET', info.agent_metrics_url)).status, 200);
    // The demo instance is ready: an independent Minecraft client gets a status answer.
    const inst = await http('GET', `${info.coordinator_url}/api/v1/instances/${info.instance_id}`, { token: info.admin_token });
    assert.equal(inst.body.state, 'ready');
    assert.equal(inst.body.address, info.game_address);
    assert.match(info.game_address, /^127\.0\.0\.1:\d+$/);
    const status = await slp(info.game_address);
    assert.ok(status.version);
    const shimPids = fs.readdirSync(path.join(dir, 'agent/run/instances'))
      .map((id) => Number(fs.readFileSync(path.join(dir, 'agent/run/instances', id, 'shim.pid'), 'utf8')));
    assert.equal(shimPids.length, 1);
    await waitFor('demo banner', () => demo.log().includes('Stop with Ctrl-C'), { timeoutMs: 5000 });
    const out = demo.log();
    assert.ok(out.includes(info.admin_token), 'prints the admin token');
    assert.ok(out.includes(info.coordinator_url), 'prints the coordinator URL');
    assert.ok(out.includes(info.agent_metrics_url), 'prints the agent metrics URL');

    const pids = fs.readdirSync(path.join(dir, 'pids')).map(Number);
    assert.ok(pids.length >= 2, 'records the PIDs it started');
    const exit = await demo.stop(15000);
    assert.equal(exit.code, 0, demo.log());
    for (const pid of [...pids, ...shimPids]) {
      assert.throws(() => process.kill(pid, 0), `process ${pid} is gone`);
    }
    await assert.rejects(slp(info.game_address, 1000), 'the game is gone');
  } finally {
    await demo.kill();
  }
});
