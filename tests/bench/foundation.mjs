// Foundation benchmarks (not tests): agent idle memory and CPU, time from agent start to online,
// coordinator RSS with one agent and with N simulated agent links. Each figure is printed beside
// an anchor measured in the same run. Usage (from tests/):
//   ZLH_BIN_DIR=../build/release/bin node bench/foundation.mjs [--idle-seconds 60] [--links 1000]
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { WebSocket, WebSocketServer } from 'ws';
import { Proc, freePort, http, sleep, tempDir, waitFor } from '../lib/harness.mjs';
import { Agent, Coordinator, waitNodeStatus } from '../lib/zlh.mjs';
import { MB, Report, cpuTicks, mem, median } from './lib.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const IDLE_S = arg('idle-seconds', 60);
const LINKS = arg('links', 1000);

const rep = new Report();
const report = rep.add.bind(rep);

const coord = await Coordinator.create();
await coord.start();
const node = await coord.addNode('bench-node');
const agent = await Agent.create({ coordinatorUrl: coord.url, nodeId: node.id, token: node.token });
const nePort = await freePort();
let ne;
try {
  // Time from start to online, 10 times, against node_exporter's start to serving /metrics.
  const online = [], neReady = [];
  for (let i = 0; i < 10; i++) {
    let t0 = performance.now();
    await agent.start();
    await waitNodeStatus(coord, node.id, 'online', 5000);
    online.push(performance.now() - t0);
    await agent.stop();
    await waitNodeStatus(coord, node.id, 'offline', 5000);
    t0 = performance.now();
    const p = new Proc('node_exporter', '/usr/bin/prometheus-node-exporter', [`--web.listen-address=127.0.0.1:${nePort}`]);
    await waitFor('node_exporter', async () => (await http('GET', `http://127.0.0.1:${nePort}/metrics`)).status === 200, { intervalMs: 5 });
    neReady.push(performance.now() - t0);
    await p.stop();
  }
  const med = median;
  report('agent start -> online (median of 10)', `${med(online).toFixed(0)} ms`, 'node_exporter start -> /metrics 200', `${med(neReady).toFixed(0)} ms`, (med(online) / med(neReady)).toFixed(2));

  // Idle memory and CPU after IDLE_S seconds connected, beside node_exporter idling as long.
  await agent.start();
  await waitNodeStatus(coord, node.id, 'online', 5000);
  ne = new Proc('node_exporter', '/usr/bin/prometheus-node-exporter', [`--web.listen-address=127.0.0.1:${nePort}`]);
  await waitFor('node_exporter', async () => (await http('GET', `http://127.0.0.1:${nePort}/metrics`)).status === 200);
  const a0 = cpuTicks(agent.proc.pid), n0 = cpuTicks(ne.pid);
  await sleep(IDLE_S * 1000); // the measurement window itself
  const am = mem(agent.proc.pid), nm = mem(ne.pid);
  const hz = 100;
  const aCpu = (cpuTicks(agent.proc.pid) - a0) / hz, nCpu = (cpuTicks(ne.pid) - n0) / hz;
  report(`agent idle RSS after ${IDLE_S} s`, MB(am.rss), 'node_exporter 1.5 idle RSS', MB(nm.rss), (am.rss / nm.rss).toFixed(2));
  report(`agent idle private bytes after ${IDLE_S} s`, MB(am.private), 'node_exporter private', MB(nm.private), (am.private / nm.private).toFixed(2));
  report(`agent idle CPU over ${IDLE_S} s`, `${(aCpu * 1000).toFixed(0)} ms`, 'node_exporter idle CPU', `${(nCpu * 1000).toFixed(0)} ms`, nCpu ? (aCpu / nCpu).toFixed(2) : 'n/a');
  await ne.stop();

  // Coordinator RSS with one agent, then with LINKS simulated authenticated links.
  const c1 = mem(coord.proc.pid);
  const nodes = [];
  for (let i = 0; i < LINKS; i++) nodes.push(await coord.addNodeApi(`sim-${i}`));
  const wsUrl = coord.url.replace('http', 'ws') + '/agent/v1/connect';
  const t0 = performance.now();
  const socks = await openLinks(wsUrl, nodes);
  const linkMs = performance.now() - t0;
  await waitFor('all simulated nodes online', async () => (await coord.healthz()).checks.agents_online >= LINKS + 1, { timeoutMs: 60000, intervalMs: 200 });
  const cN = mem(coord.proc.pid);
  for (const s of socks) s.terminate();

  // Anchor: a Node `ws` server holding the same number of links (hello/welcome echo).
  const anchorPort = await freePort();
  const anchor = await anchorServer(anchorPort, LINKS, nodes);
  report('coordinator RSS, 1 agent', MB(c1.rss), 'same process, idle', '-', '-');
  report(`coordinator RSS, ${LINKS} links`, MB(cN.rss), `node ws server, ${LINKS} links`, MB(anchor.rss), (cN.rss / anchor.rss).toFixed(2));
  report(`coordinator: ${LINKS} links hello->welcome`, `${linkMs.toFixed(0)} ms`, `node ws server`, `${anchor.ms.toFixed(0)} ms`, (linkMs / anchor.ms).toFixed(2));
} finally {
  await agent.kill();
  await ne?.kill();
  await coord.kill();
}
rep.print();

function hello(id) {
  return JSON.stringify({ v: 1, type: 'hello', id: 'h-' + id, ts: Date.now(), body: {
    node_id: id, agent_version: 'bench', protocols: [1], plugins: [], capacity: { cpus: 1, memory_bytes: 1, disk_bytes: 1 },
    metrics_url: 'http://127.0.0.1:1/metrics', instances: [] } });
}
async function openLinks(url, nodes) {
  const socks = [];
  const batch = 50;
  for (let i = 0; i < nodes.length; i += batch) {
    await Promise.all(nodes.slice(i, i + batch).map((n) => new Promise((resolve, reject) => {
      const ws = new WebSocket(url, 'zlh.agent.v1', { headers: { authorization: `Bearer ${n.token}` } });
      ws.on('open', () => ws.send(hello(n.id)));
      ws.on('message', (d) => { if (JSON.parse(d).type === 'welcome') resolve(); });
      ws.on('error', reject);
      socks.push(ws);
    })));
  }
  return socks;
}
async function anchorServer(port, n, nodes) {
  const dir = tempDir();
  const script = `${dir}/anchor.mjs`;
  fs.writeFileSync(script, `import { WebSocketServer } from '${new URL('../node_modules/ws/wrapper.mjs', import.meta.url).pathname}';
    const wss = new WebSocketServer({ host: '127.0.0.1', port: ${port} });
    wss.on('connection', (ws) => ws.on('message', (d) => { const m = JSON.parse(d); ws.send(JSON.stringify({ v: 1, type: 'welcome', id: 'w', ts: Date.now(), body: { node_id: m.body.node_id, coordinator_version: 'anchor', protocol: 1 } })); }));
    wss.on('listening', () => console.log('ready'));`);
  const p = new Proc('anchor', process.execPath, [script], { logDir: dir });
  await waitFor('anchor', () => p.log().includes('ready'));
  const t0 = performance.now();
  const socks = await openLinks(`ws://127.0.0.1:${port}/`, nodes);
  const ms = performance.now() - t0;
  await sleep(500);
  const m = mem(p.pid);
  for (const s of socks) s.terminate();
  await p.kill();
  return { rss: m.rss, ms };
}
