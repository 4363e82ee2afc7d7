// A real Prometheus (Debian's 2.42) finds the agent through the coordinator's http_sd endpoint
// with a metrics-role token, scrapes it and the coordinator, and forgets the agent once its node is
// deleted. It also loads the shipped alert rules. Ephemeral ports and temp dirs; Prometheus
// refreshes the SD list every second; a removed target disappears after a fixed ~5 s delay of
// its own (FIELD-NOTES.md), so that wait has a deadline of refresh + 10 s.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Proc, SOURCE_DIR, freePort, http, tempDir, waitFor } from '../lib/harness.mjs';
import { PROMETHEUS } from '../lib/prometheus.mjs';
import { startStack } from '../lib/zlh.mjs';

describe('Prometheus discovers and scrapes agents through /api/v1/sd/agents', () => {
  let stack, prom, promUrl, dir;

  const query = async (q) => {
    const r = await http('GET', `${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
    assert.equal(r.status, 200, r.text);
    return r.body.data.result;
  };
  const agentTargets = async () => {
    const r = await http('GET', `${promUrl}/api/v1/targets?state=active`);
    assert.equal(r.status, 200, r.text);
    return r.body.data.activeTargets.filter((t) => t.labels.job === 'zlh-agent');
  };

  before(async () => {
    stack = await startStack({ nodeName: 'prom-node' });
    const m = await stack.coord.cli(['token', 'create', '--role', 'metrics', '--name', 'prometheus', '--json']);
    assert.equal(m.code, 0, m.stderr);
    dir = tempDir('zlh-prom-');
    const tokenFile = path.join(dir, 'metrics.token');
    fs.writeFileSync(tokenFile, `${JSON.parse(m.stdout).token}\n`, { mode: 0o600 });
    const auth = ['authorization:', '  type: Bearer', `  credentials_file: ${tokenFile}`];
    const coordHost = new URL(stack.coord.url).host;
    fs.writeFileSync(path.join(dir, 'prometheus.yml'), [
      'global:', '  scrape_interval: 1s', '  scrape_timeout: 1s', '  evaluation_interval: 1s',
      'rule_files:', `  - ${path.join(SOURCE_DIR, 'packaging/monitoring/zlh-alerts.yml')}`,
      'scrape_configs:',
      '  - job_name: zlh-coordinator',
      ...auth.map((l) => `    ${l}`),
      '    static_configs:', `      - targets: ["${coordHost}"]`,
      '  - job_name: zlh-agent',
      '    http_sd_configs:',
      `      - url: ${stack.coord.url}/api/v1/sd/agents`,
      '        refresh_interval: 1s',
      ...auth.map((l) => `        ${l}`),
      ''].join('\n'));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prom = new Proc('prometheus', PROMETHEUS, [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=debug',
    ], { logDir: dir });
    await waitFor('prometheus ready', async () => {
      if (!prom.running) throw new Error(`prometheus exited: ${prom.log().slice(-2000)}`);
      return (await http('GET', `${promUrl}/-/ready`, { timeoutMs: 1000 })).status === 200;
    }, { timeoutMs: 30000, intervalMs: 100 });
  });

  after(async () => {
    await prom?.stop();
    await stack?.agent.stop();
    await stack?.agent.killShims();
    await stack?.coord.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the agent target is discovered with its labels and scraped (up == 1)', async () => {
    const { node, agent } = stack;
    const series = await waitFor('up == 1 for the agent target', async () => {
      const r = await query('up{job="zlh-agent"} == 1');
      return r.length === 1 ? r : undefined;
    }, { timeoutMs: 20000, intervalMs: 200 });
    assert.equal(series[0].metric.zlh_node_id, node.id);
    assert.equal(series[0].metric.zlh_node_name, 'prom-node');
    assert.equal(series[0].metric.instance, `127.0.0.1:${agent.metricsPort}`);
    // Samples of the agent's own metrics carry the discovery labels too.
    const link = await waitFor('zlh_agent_link_up from the agent', async () => {
      const r = await query(`zlh_agent_link_up{zlh_node_id="${node.id}"}`);
      return r.length === 1 ? r : undefined;
    }, { timeoutMs: 10000, intervalMs: 200 });
    assert.equal(link[0].value[1], '1');
  });

  test('the coordinator is scraped with the metrics token', async () => {
    const r = await waitFor('zlh_agents_connected from the coordinator', async () => {
      const res = await query('zlh_agents_connected{job="zlh-coordinator"}');
      return res.length === 1 ? res : undefined;
    }, { timeoutMs: 20000, intervalMs: 200 });
    assert.equal(r[0].value[1], '1');
    const targets = (await http('GET', `${promUrl}/api/v1/targets?state=active`)).body.data.activeTargets;
    const coord = targets.find((t) => t.labels.job === 'zlh-coordinator');
    assert.equal(coord.health, 'up', coord.lastError);
  });

  test('the shipped alert rules load and evaluate without errors', async () => {
    const r = await waitFor('rule groups evaluated', async () => {
      const res = await http('GET', `${promUrl}/api/v1/rules`);
      const groups = res.body.data.groups;
      const rules = groups.flatMap((g) => g.rules);
      return rules.length > 0 && rules.every((x) => x.lastEvaluation && !x.lastEvaluation.startsWith('0001')) ? rules : undefined;
    }, { timeoutMs: 20000, intervalMs: 200 });
    for (const rule of r) assert.equal(rule.health, 'ok', `${rule.name}: ${rule.lastError}`);
  });

  test('a deleted node drops out of the targets', async () => {
    const { coord, node } = stack;
    assert.equal((await agentTargets()).length, 1);
    assert.equal((await coord.api('DELETE', `/api/v1/nodes/${node.id}`)).status, 204);
    const t0 = Date.now();
    await waitFor('the agent target to disappear', async () => (await agentTargets()).length === 0,
      { timeoutMs: 1000 + 10000, intervalMs: 200 });
    console.log(`# target gone ${Date.now() - t0} ms after the delete`);
  });
});
