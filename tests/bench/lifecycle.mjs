// Lifecycle benchmarks (not tests): time from create to ready for the mc-test template beside
// starting the same command by hand, zlh-shim memory per instance beside a minimal C program
// (coreutils `sleep`), and agent memory with N idle instances beside the same agent with none.
// Usage (from tests/):
//   ZLH_BIN_DIR=../build/release/bin node bench/lifecycle.mjs [--runs 10] [--instances 50]
import fs from 'node:fs';
import path from 'node:path';
import { Proc, SOURCE_DIR, freePort, sleep, tempDir, waitFor } from '../lib/harness.mjs';
import { lifecycleToml, startStack } from '../lib/zlh.mjs';
import { createInstance, getInstance, slp } from '../lib/instances.mjs';
import { MB, Report, mem, median } from './lib.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = arg('runs', 10);
const INSTANCES = arg('instances', 50);
const SETTLE_S = 15; // idle window before memory is read: several health-check rounds
const FIXTURES = path.join(SOURCE_DIR, 'tests/fixtures');
const rep = new Report();

// As measured in docs/benchmarks.md: system and lifecycle only.
const { coord, node, agent } = await startStack({
  nodeName: 'bench-node',
  agentToml: '[plugins]\nenabled = ["system", "lifecycle"]\n\n' + lifecycleToml({ ports: INSTANCES + RUNS + 20 }),
});
const extra = [];

async function createReady(name) {
  const r = await createInstance(coord, { template: 'mc-test', name });
  if (r.status !== 202) throw new Error(`create: ${r.status} ${r.text}`);
  const id = r.body.instance.id;
  const inst = await waitFor(`${name} ready`, async () => {
    const i = await getInstance(coord, id);
    if (i?.state === 'failed') throw new Error(`${name} failed`);
    return i?.state === 'ready' ? i : undefined;
  }, { timeoutMs: 120000, intervalMs: 10 });
  return inst;
}
async function remove(id) {
  await coord.api('DELETE', `/api/v1/instances/${id}`);
  await waitFor(`${id} deleted`, async () => (await coord.api('GET', `/api/v1/instances/${id}`)).status === 404, { timeoutMs: 30000 });
}

try {

  // Create -> ready through the API, alternating with the same server started by hand and pinged
  // (the same client library, polled every 10 ms) until it answers.
  const viaAgent = [], byHand = [];
  for (let i = 0; i < RUNS; i++) {
    let t0 = performance.now();
    const inst = await createReady(`ready-${i}`);
    viaAgent.push(performance.now() - t0);
    await slp(inst.address); // an independent client gets its answer too
    await remove(inst.id);

    const port = await freePort();
    const dir = tempDir('zlh-bench-hand-');
    t0 = performance.now();
    const p = new Proc('by-hand', 'node', [path.join(FIXTURES, 'mc-server/server.mjs'), '--host', '127.0.0.1',
      '--port', String(port), '--version', '1.20.4', '--motd', 'by hand'], { logDir: dir, cwd: dir });
    await waitFor('server started by hand answers a ping', () => slp(`127.0.0.1:${port}`, 1000).then(() => true), { timeoutMs: 60000, intervalMs: 10 });
    byHand.push(performance.now() - t0);
    await p.kill();
  }
  const a = median(viaAgent), h = median(byHand);
  rep.add(`create -> ready, mc-test (median of ${RUNS})`, `${a.toFixed(0)} ms`, 'same server started by hand -> first ping answer', `${h.toFixed(0)} ms`, (a / h).toFixed(2));

  // Memory: the agent with no instance, then with INSTANCES idle ready ones.
  await sleep(SETTLE_S * 1000); // measurement window: health checks of nothing
  const agent0 = mem(agent.proc.pid);
  const ids = [];
  for (let i = 0; i < INSTANCES; i += 10) {
    const batch = await Promise.all(Array.from({ length: Math.min(10, INSTANCES - i) }, (_, k) => createReady(`idle-${i + k}`)));
    ids.push(...batch.map((x) => x.id));
  }
  await sleep(SETTLE_S * 1000); // measurement window: every instance health-checked several times
  const agentN = mem(agent.proc.pid);
  const shims = Object.values(agent.shimPids()).map(mem);
  const sleeper = new Proc('sleep', 'sleep', ['600'], { logDir: tempDir('zlh-bench-sleep-') });
  extra.push(sleeper);
  await waitFor('sleep running', () => fs.existsSync(`/proc/${sleeper.pid}/smaps_rollup`));
  const c = mem(sleeper.pid);
  const shimRss = median(shims.map((m) => m.rss)), shimPriv = median(shims.map((m) => m.private));
  rep.add(`zlh-shim RSS per instance (median of ${shims.length})`, MB(shimRss), 'coreutils sleep (C) RSS', MB(c.rss), (shimRss / c.rss).toFixed(2));
  rep.add(`zlh-shim private bytes per instance (median of ${shims.length})`, `${(shimPriv / 1024).toFixed(0)} kB`, 'coreutils sleep private', `${(c.private / 1024).toFixed(0)} kB`, (shimPriv / c.private).toFixed(2));
  rep.add(`agent RSS with ${ids.length} idle instances`, MB(agentN.rss), 'same agent with none', MB(agent0.rss), (agentN.rss / agent0.rss).toFixed(2));
  rep.add(`agent private bytes with ${ids.length} idle instances`, MB(agentN.private), 'same agent with none', MB(agent0.private), (agentN.private / agent0.private).toFixed(2));
} finally {
  for (const p of extra) await p.kill();
  await agent.kill();
  await agent.killShims();
  await coord.kill();
}
rep.print();
