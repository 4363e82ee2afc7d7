// The agent's node metrics (plugins/metrics) against the real prometheus-node-exporter 1.5 on the
// same machine with the same collectors: family names, types and label names, series sets (the
// same exclusions), values within tight tolerances; promtool lint; gzip. The agent runs without a
// coordinator (its link dials a closed port): /metrics does not depend on the link.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../lib/harness.mjs';
import { Agent, lifecycleToml } from '../lib/zlh.mjs';
import { NodeExporter, PROMTOOL_BIN, parseFamilies, scrape, seriesKey } from '../lib/prom.mjs';

// node_exporter families of these collectors that the agent does not export (docs/metrics.md):
// node_disk_info needs udev's database; receive_nohandler comes from netlink, not /proc/net/dev.
const NOT_COVERED = new Set(['node_disk_info', 'node_network_receive_nohandler_total']);
const isNodeFamily = (name) => name.startsWith('node_') && name !== 'node_exporter_build_info';

async function startAgent(extraToml = '') {
  const deadPort = await freePort();
  const agent = await Agent.create({ coordinatorUrl: `http://127.0.0.1:${deadPort}`, nodeId: 'nd_metrics',
    token: 'zlh_metrics_test_token', extraToml: lifecycleToml() + '\n' + extraToml });
  return agent.start();
}

/** Both scraped back to back: {ours, theirs, gap (ms between the two)}. */
async function both(agent, ne) {
  const a = await scrape(`${agent.metricsUrl}/metrics`);
  const t = Date.now();
  const n = await scrape(ne.url);
  assert.equal(a.status, 200);
  assert.equal(n.status, 200);
  return { ours: parseFamilies(a.text), theirs: parseFamilies(n.text), gap: Date.now() - t + n.ms, text: a.text };
}

const sample = (fams, name, labels = {}) => fams.get(name)?.samples
  .find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe('node metrics vs node_exporter', () => {
  let agent, ne;

  before(async () => {
    agent = await startAgent();
    ne = await NodeExporter.start();
  });
  after(async () => {
    await agent?.stop();
    await ne?.stop();
  });

  test('same families, types, label names and series', async () => {
    const { ours, theirs } = await both(agent, ne);
    const oursNode = [...ours.keys()].filter(isNodeFamily);
    const theirsNode = [...theirs.keys()].filter(isNodeFamily);
    assert.ok(oursNode.length > 100, `only ${oursNode.length} node families`);
    // Every node family node_exporter has (these collectors), we have too, and no other.
    assert.deepEqual(oursNode.filter((f) => !theirs.has(f)), [], 'families node_exporter does not have');
    assert.deepEqual(theirsNode.filter((f) => !ours.has(f) && !NOT_COVERED.has(f)), [], 'families we miss');
    for (const f of oursNode) {
      const o = ours.get(f), t = theirs.get(f);
      assert.equal(o.type, t.type, `${f}: type`);
      assert.equal(o.help, t.help, `${f}: help`);
      const names = (fam) => [...new Set(fam.samples.map((s) => Object.keys(s.labels).sort().join(',')))].sort();
      assert.deepEqual(names(o), names(t), `${f}: label names`);
      // Same exclusions: the same series (mount points, devices, cpus, modes...). Series whose
      // label values change between two reads (time zone name aside) do not exist here.
      if (f !== 'node_scrape_collector_duration_seconds' && f !== 'node_scrape_collector_success') {
        assert.deepEqual(o.samples.map(seriesKey).sort(), t.samples.map(seriesKey).sort(), `${f}: series`);
      }
    }
    for (const c of ['cpu', 'stat', 'meminfo', 'loadavg', 'filesystem', 'netdev', 'diskstats', 'pressure', 'uname', 'time']) {
      assert.equal(sample(ours, 'node_scrape_collector_success', { collector: c }), 1, `collector ${c}`);
      assert.equal(typeof sample(ours, 'node_scrape_collector_duration_seconds', { collector: c }), 'number');
    }
  });

  test('cpu, memory, filesystem, stat values agree', async () => {
    const { ours, theirs, gap } = await both(agent, ne);
    const cpus = ours.get('node_cpu_seconds_total').samples;
    assert.ok(cpus.length >= 8);
    // A mode's counter grows at most 1 s per second per cpu: the gap between both reads, plus
    // one USER_HZ tick.
    const slack = gap / 1000 + 0.011;
    for (const s of cpus) {
      const t = sample(theirs, 'node_cpu_seconds_total', s.labels);
      assert.ok(Math.abs(s.value - t) <= slack, `cpu ${JSON.stringify(s.labels)}: ${s.value} vs ${t} (slack ${slack})`);
    }
    for (const f of ['node_memory_MemTotal_bytes', 'node_memory_SwapTotal_bytes', 'node_boot_time_seconds',
      'node_memory_Hugepagesize_bytes'])
      assert.equal(sample(ours, f), sample(theirs, f), f);
    const total = sample(ours, 'node_memory_MemTotal_bytes');
    for (const f of ['node_memory_MemFree_bytes', 'node_memory_MemAvailable_bytes', 'node_memory_Buffers_bytes',
      'node_memory_Cached_bytes', 'node_memory_SwapFree_bytes']) {
      const d = Math.abs(sample(ours, f) - sample(theirs, f));
      assert.ok(d <= total * 0.01, `${f}: ${sample(ours, f)} vs ${sample(theirs, f)}`);
    }
    for (const s of ours.get('node_filesystem_size_bytes').samples) {
      assert.equal(s.value, sample(theirs, 'node_filesystem_size_bytes', s.labels), `size ${s.labels.mountpoint}`);
      assert.equal(sample(ours, 'node_filesystem_files', s.labels), sample(theirs, 'node_filesystem_files', s.labels));
      for (const f of ['node_filesystem_avail_bytes', 'node_filesystem_free_bytes']) {
        const d = Math.abs(sample(ours, f, s.labels) - sample(theirs, f, s.labels));
        assert.ok(d <= s.value * 0.005, `${f} ${s.labels.mountpoint}: ${d} bytes apart`);
      }
      assert.equal(sample(ours, 'node_filesystem_readonly', s.labels), sample(theirs, 'node_filesystem_readonly', s.labels));
    }
    const uname = (fams) => fams.get('node_uname_info').samples[0].labels;
    assert.deepEqual(uname(ours), uname(theirs));
    assert.ok(Math.abs(sample(ours, 'node_time_seconds') - sample(theirs, 'node_time_seconds')) < 1 + gap / 1000);
    for (const s of ours.get('node_network_receive_bytes_total').samples) {
      const t = sample(theirs, 'node_network_receive_bytes_total', s.labels);
      assert.ok(t >= s.value && t - s.value < 10e6, `rx ${s.labels.device}: ${s.value} vs ${t}`);
    }
    for (const s of ours.get('node_disk_read_bytes_total').samples) {
      const t = sample(theirs, 'node_disk_read_bytes_total', s.labels);
      assert.ok(t >= s.value && t - s.value < 100e6, `disk ${s.labels.device}: ${s.value} vs ${t}`);
    }
  });

  test('promtool: no parse error, no lint problem but node_exporter\'s own camelCase meminfo names', async () => {
    const { text } = await scrape(`${agent.metricsUrl}/metrics`);
    const r = await runWithStdin(PROMTOOL_BIN, ['check', 'metrics'], text);
    assert.notEqual(r.code, 1, `parse error: ${r.stdout}${r.stderr}`);
    const problems = (r.stdout + r.stderr).split('\n').filter(Boolean);
    const unexpected = problems.filter((l) => !/^node_memory_\S+ metric names should be written in 'snake_case' not 'camelCase'$/.test(l));
    assert.deepEqual(unexpected, []);
    assert.ok(r.code === 0 || r.code === 3, `promtool exit ${r.code}`);
  });

  test('gzip when accepted, decoding to the plain exposition', async () => {
    const plain = await scrape(`${agent.metricsUrl}/metrics`);
    const gz = await scrape(`${agent.metricsUrl}/metrics`, { gzip: true });
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.match(gz.headers.vary ?? '', /accept-encoding/i);
    assert.ok(gz.body.length * 4 < plain.body.length, `${gz.body.length} vs ${plain.body.length} bytes`);
    assert.equal(gz.headers['content-length'], String(gz.body.length));
    // Values move between two scrapes; everything else is identical.
    const shape = (text) => text.replace(/ \S+$/gm, ' V');
    assert.equal(shape(gz.text), shape(plain.text));
  });
});

describe('node metrics: failing collectors', () => {
  let agent;
  after(async () => agent?.stop());

  test('an unreadable procfs fails its collectors, never the scrape', async () => {
    agent = await startAgent('[plugins.metrics]\nprocfs = "/nonexistent/proc"\n');
    const r = await scrape(`${agent.metricsUrl}/metrics`);
    assert.equal(r.status, 200);
    const f = parseFamilies(r.text);
    for (const c of ['cpu', 'stat', 'meminfo', 'loadavg', 'filesystem', 'netdev', 'diskstats', 'pressure'])
      assert.equal(sample(f, 'node_scrape_collector_success', { collector: c }), 0, c);
    assert.equal(sample(f, 'node_scrape_collector_success', { collector: 'uname' }), 1);
    assert.equal(f.has('node_cpu_seconds_total'), false);
    assert.equal(sample(f, 'zlh_agent_plugin_up', { plugin: 'metrics' }), 1);
  });
});

function runWithStdin(cmd, args, input) {
  return new Promise(async (resolve, reject) => {
    const { spawn } = await import('node:child_process');
    const child = spawn(cmd, args);
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), 30000);
    child.on('exit', (code) => { clearTimeout(t); resolve({ code, stdout, stderr }); });
    child.on('error', reject);
    child.stdin.end(input);
  });
}

