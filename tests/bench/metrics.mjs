// Metrics benchmark (not a test): the agent's /metrics beside prometheus-node-exporter 1.5 with
// the same collector set, in the same run, with the same client (node:http, keep-alive, one
// request at a time). Figures: CPU per scrape (utime+stime of the exporter process from
// /proc/<pid>/stat over rounds of 200 scrapes), median scrape latency, samples per scrape, and the
// agent's RSS, private and private dirty bytes (smaps_rollup) idle at start and after 1,000
// scrapes.
// Usage (from tests/):
//   ZLH_BIN_DIR=../build/release/bin node bench/metrics.mjs [--rounds 5] [--plugins system,metrics]
import { sleep } from '../lib/harness.mjs';
import { lifecycleToml, startStack } from '../lib/zlh.mjs';
import { NodeExporter, parseFamilies, scrape } from '../lib/prom.mjs';
import { MB, Report, cpuTicks, mem, median } from './lib.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const ROUNDS = Number(arg('rounds', 5));
const PER_ROUND = 200;
const PLUGINS = arg('plugins', 'system,lifecycle,console,metrics').split(',');
const rep = new Report();

const agentToml = `[plugins]\nenabled = [${PLUGINS.map((p) => `"${p}"`).join(', ')}]\n\n` +
  (PLUGINS.includes('lifecycle') ? lifecycleToml() : '');
const { coord, agent } = await startStack({ nodeName: 'bench-metrics', agentToml });
const ne = await NodeExporter.start();
const agentUrl = `${agent.metricsUrl}/metrics`;
const agentPid = agent.proc.pid, nePid = ne.proc.pid;

try {
  await sleep(2000); // idle: link welcomed, plugins started
  const memStart = mem(agentPid);
  const neMemStart = mem(nePid);
  let scrapes = 0;

  const samples = (text) => [...parseFamilies(text).values()].reduce((n, f) => n + f.samples.length, 0);
  const a0 = await scrape(agentUrl), n0 = await scrape(ne.url);
  const nodeOnly = (text) => [...parseFamilies(text)].filter(([k]) => k.startsWith('node_'))
    .reduce((n, [, f]) => n + f.samples.length, 0);
  console.log(`samples: agent ${samples(a0.text)} (node_* ${nodeOnly(a0.text)}), node_exporter ${samples(n0.text)} (node_* ${nodeOnly(n0.text)})`);
  console.log(`bytes: agent ${a0.body.length} plain, node_exporter ${n0.body.length} plain`);
  scrapes += 1;

  // Rounds alternate between the two exporters so both see the same background load.
  async function round(url, pid, gzip) {
    const lat = [];
    const t0 = cpuTicks(pid);
    for (let i = 0; i < PER_ROUND; i++) lat.push((await scrape(url, { gzip })).ms);
    return { ticks: cpuTicks(pid) - t0, lat };
  }
  for (const gzip of [false, true]) {
    for (let i = 0; i < 20; i++) { await scrape(agentUrl, { gzip }); await scrape(ne.url, { gzip }); }
    scrapes += 20;
    const ours = { ticks: 0, lat: [] }, theirs = { ticks: 0, lat: [] };
    for (let r = 0; r < ROUNDS; r++) {
      const o = await round(agentUrl, agentPid, gzip), t = await round(ne.url, nePid, gzip);
      ours.ticks += o.ticks; ours.lat.push(...o.lat);
      theirs.ticks += t.ticks; theirs.lat.push(...t.lat);
      scrapes += PER_ROUND;
    }
    const n = ROUNDS * PER_ROUND;
    const cpuO = (ours.ticks * 10) / n, cpuT = (theirs.ticks * 10) / n; // ms per scrape
    const tag = gzip ? 'gzip' : 'plain';
    rep.add(`CPU per scrape, ${tag} (${n} scrapes)`, `${cpuO.toFixed(3)} ms`, 'node_exporter', `${cpuT.toFixed(3)} ms`,
      cpuO > 0 ? `${(cpuT / cpuO).toFixed(1)}x less` : 'n/a (below one tick)');
    const mO = median(ours.lat), mT = median(theirs.lat);
    rep.add(`median scrape latency, ${tag}`, `${mO.toFixed(3)} ms`, 'node_exporter', `${mT.toFixed(3)} ms`,
      `${(mT / mO).toFixed(1)}x faster`);
  }
  await sleep(1000);
  const memMid = mem(agentPid), midScrapes = scrapes;
  // Flat, not growing: as many scrapes again (gzip, as Prometheus asks).
  for (let i = 0; i < midScrapes; i++) { await scrape(agentUrl, { gzip: true }); scrapes++; }
  await sleep(1000);
  const memEnd = mem(agentPid);
  // Each memory measure idle, after the first scrapes, and after as many again (flat, not
  // growing). bench/lib.mjs mem() says what each one counts.
  const measures = [['RSS', 'rss'], ['private (unique: clean + dirty)', 'private'],
    ['private dirty (anonymous + private dirty)', 'dirty']];
  for (const [label, k] of measures) {
    rep.add(`agent ${label} idle at start`, MB(memStart[k]), 'node_exporter', MB(neMemStart[k]), (memStart[k] / neMemStart[k]).toFixed(2));
    rep.add(`agent ${label} after ${midScrapes} scrapes`, MB(memMid[k]), 'agent at start', MB(memStart[k]), (memMid[k] / memStart[k]).toFixed(2));
    rep.add(`agent ${label} after ${scrapes} scrapes`, MB(memEnd[k]), `after ${midScrapes}`, MB(memMid[k]), (memEnd[k] / memMid[k]).toFixed(2));
  }
  console.log(`plugins: ${PLUGINS.join(', ')}`);
  rep.print();
} finally {
  await ne.stop();
  await agent.stop();
  await coord.stop();
}
