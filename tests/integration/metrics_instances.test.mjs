// Per-instance metrics (docs/metrics.md, "Instances") end to end: a real coordinator, agent,
// zlh-shim and the mc-test game server (minecraft-protocol), read from the agent's /metrics.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../lib/harness.mjs';
import { lifecycleToml, startStack } from '../lib/zlh.mjs';
import { createInstance, waitState } from '../lib/instances.mjs';
import { parseFamilies, scrape } from '../lib/prom.mjs';

describe('instance metrics', () => {
  let coord, agent;

  before(async () => {
    ({ coord, agent } = await startStack({
      agentToml: lifecycleToml() + '\nusage_interval_s = 1\ndisk_usage_interval_s = 10\n',
    }));
  });
  after(async () => {
    await agent?.kill();
    await agent?.killShims();
    await coord?.kill();
  });

  test('a ready Minecraft instance: up, state, players, uptime, cpu, memory, disk', async () => {
    const r = await createInstance(coord, { template: 'mc-test', name: 'Alice private server' });
    assert.equal(r.status, 202, r.text);
    const id = r.body.instance.id;
    await waitState(coord, id, 'ready', 60000);
    const labels = { instance_id: id, template: 'mc-test' };
    const value = (fams, name, extra = {}) => fams.get(name)?.samples.find((s) =>
      Object.entries({ ...labels, ...extra }).every(([k, v]) => s.labels[k] === v))?.value;
    // CPU and memory are sampled every second here, the directory every 10 s.
    const fams = await waitFor('sampled instance metrics', async () => {
      const f = parseFamilies((await scrape(`${agent.metricsUrl}/metrics`)).text);
      return value(f, 'zlh_instance_disk_bytes') !== undefined &&
        value(f, 'zlh_instance_cpu_seconds_total') !== undefined ? f : undefined;
    }, { timeoutMs: 20000, intervalMs: 200 });
    assert.equal(value(fams, 'zlh_instance_up'), 1);
    assert.equal(value(fams, 'zlh_instance_state', { state: 'ready' }), 1);
    assert.equal(value(fams, 'zlh_instance_state', { state: 'stopped' }), 0);
    assert.equal(value(fams, 'zlh_instance_players_online'), 0);
    assert.equal(value(fams, 'zlh_instance_restarts_total'), 0);
    assert.ok(value(fams, 'zlh_instance_uptime_seconds') >= 0);
    assert.ok(value(fams, 'zlh_instance_uptime_seconds') < 120);
    assert.ok(value(fams, 'zlh_instance_cpu_seconds_total') > 0);  // a node.js server started
    const mem = value(fams, 'zlh_instance_memory_bytes');
    assert.ok(mem > 10e6 && mem < 2e9, `memory ${mem}`);
    assert.ok(value(fams, 'zlh_instance_disk_bytes') > 0);
    assert.equal(fams.get('zlh_instance_cpu_seconds_total').type, 'counter');
    // Only the two labels (state on the one-hot family): no names or other personal data.
    for (const [name, f] of fams) {
      if (!name.startsWith('zlh_instance_')) continue;
      for (const s of f.samples) {
        const allowed = name === 'zlh_instance_state' ? ['instance_id', 'state', 'template'] : ['instance_id', 'template'];
        assert.deepEqual(Object.keys(s.labels).sort(), allowed, name);
      }
    }
    assert.doesNotMatch((await scrape(`${agent.metricsUrl}/metrics`)).text, /Alice/);
  });
});
