// The shipped monitoring files (packaging/monitoring/, docs/metrics.md): the alert rules and the
// scrape config pass promtool, and every metric the dashboard and the rules read is one that zlh
// exports: scraped from a running coordinator and agent (node_* from its metrics plugin), plus the
// per-instance families, which appear only once an instance exists (INSTANCE_FAMILIES: their
// names are checked against a live instance by integration.metrics_instances).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SOURCE_DIR, http, parseMetrics, tempDir } from '../lib/harness.mjs';
import { metricNames, promtool } from '../lib/prometheus.mjs';
import { startStack } from '../lib/zlh.mjs';

const MONITORING = path.join(SOURCE_DIR, 'packaging/monitoring');

const INSTANCE_FAMILIES = [
  'zlh_instance_up', 'zlh_instance_memory_bytes', 'zlh_instance_cpu_seconds_total',
  'zlh_instance_players_online', 'zlh_instance_restarts_total',
];
// Series Prometheus makes itself for every target.
const PROMETHEUS_SYNTHETIC = ['up', 'scrape_duration_seconds', 'scrape_samples_scraped'];

/** Every sample name of an exposition, with histogram/summary parts under their family too. */
function exposedNames(text) {
  const names = new Set();
  for (const s of parseMetrics(text)) names.add(s.name);
  for (const m of text.matchAll(/^# TYPE (\S+) /gm)) names.add(m[1]);
  return names;
}

/** [{where, expr}] of every query in a Grafana dashboard (rows' nested panels and variables too). */
function dashboardQueries(dash) {
  const out = [];
  const walk = (panels) => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ where: `panel "${p.title}"`, expr: t.expr });
      walk(p.panels);
    }
  };
  walk(dash.panels);
  for (const v of dash.templating?.list ?? []) {
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    if (v.type !== 'query' || !q) continue;
    // label_values(metric{...}, label): the metric is the first argument, the label is no metric.
    const m = q.match(/^label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)$/);
    out.push({ where: `variable "${v.name}"`, expr: m ? m[1] : q });
  }
  return out;
}

/** [{where, expr}] of the rules file; every expr there is on one line. */
function ruleQueries(text) {
  const out = [];
  let alert = '?';
  for (const line of text.split('\n')) {
    const a = line.match(/^\s*- alert:\s*(\S+)/);
    if (a) alert = a[1];
    const e = line.match(/^\s*expr:\s*(.+)$/);
    if (e) out.push({ where: `alert ${alert}`, expr: e[1].replace(/^(['"])(.*)\1$/, '$2') });
  }
  return out;
}

describe('shipped monitoring files', () => {
  let stack, known;
  before(async () => {
    stack = await startStack({ nodeName: 'monitoring-node' });
    const coordText = (await stack.coord.api('GET', '/metrics')).text;
    const agentText = (await http('GET', `${stack.agent.metricsUrl}/metrics`)).text;
    known = new Set([...exposedNames(coordText), ...exposedNames(agentText), ...INSTANCE_FAMILIES,
      ...PROMETHEUS_SYNTHETIC]);
    assert.ok(known.has('zlh_agents_connected') && known.has('zlh_agent_link_up'), 'both scrapes read');
    assert.ok(known.has('node_cpu_seconds_total'), 'the agent serves node metrics (metrics plugin)');
  });
  after(async () => {
    await stack?.agent.stop();
    await stack?.agent.killShims();
    await stack?.coord.stop();
  });

  test('promtool check rules accepts zlh-alerts.yml', async () => {
    const r = await promtool(['check', 'rules', path.join(MONITORING, 'zlh-alerts.yml')]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /SUCCESS: \d+ rules found/);
  });

  test('promtool check config accepts prometheus.yml (paths pointed at a temp dir)', async () => {
    const dir = tempDir('zlh-promcfg-');
    try {
      fs.writeFileSync(path.join(dir, 'token'), 'zlh_example\n', { mode: 0o600 });
      fs.copyFileSync(path.join(MONITORING, 'zlh-alerts.yml'), path.join(dir, 'zlh-alerts.yml'));
      const cfg = fs.readFileSync(path.join(MONITORING, 'prometheus.yml'), 'utf8')
        .replaceAll('/usr/share/zlh-coordinator/monitoring/zlh-alerts.yml', path.join(dir, 'zlh-alerts.yml'))
        .replaceAll('/etc/prometheus/zlh-metrics.token', path.join(dir, 'token'));
      assert.ok(cfg.includes(path.join(dir, 'token')), 'the config names the token file');
      fs.writeFileSync(path.join(dir, 'prometheus.yml'), cfg);
      const r = await promtool(['check', 'config', path.join(dir, 'prometheus.yml')]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(cfg, /\/api\/v1\/sd\/agents/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the name extraction finds names and catches an unknown one', () => {
    assert.deepEqual([...metricNames('sum by (state) (rate(zlh_http_requests_total{code=~"5.."}[5m])) / on (x) zlh_nodes > 1e3')],
      ['zlh_http_requests_total', 'zlh_nodes']);
    const unknown = [...metricNames('increase(zlh_nope_total[5m]) or up')].filter((n) => !known.has(n));
    assert.deepEqual(unknown, ['zlh_nope_total']);
  });

  test('the dashboard parses and reads only exported metrics', () => {
    const dash = JSON.parse(fs.readFileSync(path.join(MONITORING, 'zlh-dashboard.json'), 'utf8'));
    assert.equal(dash.uid, 'zlh-platform');
    const queries = dashboardQueries(dash);
    assert.ok(queries.length >= 20, `${queries.length} queries`);
    const used = new Set();
    const bad = [];
    for (const { where, expr } of queries) {
      const names = metricNames(expr);
      assert.ok(names.size > 0, `${where}: no metric in ${expr}`);
      for (const n of names) {
        used.add(n);
        if (!known.has(n)) bad.push(`${where}: ${n}`);
      }
    }
    assert.deepEqual(bad, [], 'metrics nobody exports');
    for (const n of ['zlh_agents_connected', 'zlh_operations', 'zlh_operations_oldest_age_seconds',
      'node_cpu_seconds_total', 'node_memory_MemAvailable_bytes', 'node_filesystem_avail_bytes',
      'node_load1', 'node_network_receive_bytes_total', 'zlh_instance_cpu_seconds_total']) {
      assert.ok(used.has(n), `the dashboard shows ${n}`);
    }
  });

  test('the alert rules read only exported metrics', () => {
    const queries = ruleQueries(fs.readFileSync(path.join(MONITORING, 'zlh-alerts.yml'), 'utf8'));
    assert.ok(queries.length >= 8, `${queries.length} rules`);
    const bad = [];
    for (const { where, expr } of queries) {
      for (const n of metricNames(expr)) if (!known.has(n)) bad.push(`${where}: ${n}`);
    }
    assert.deepEqual(bad, [], 'metrics nobody exports');
  });
});
