// Drives the real zlh-coordinator and zlh-agent binaries through their documented contracts
// (docs/configuration.md, docs/api.md).
import fs from 'node:fs';
import path from 'node:path';
import { BIN_DIR, Proc, SOURCE_DIR, freePort, http, parseMetrics, run, tempDir, waitFor } from './harness.mjs';

export const COORDINATOR_BIN = path.join(BIN_DIR, 'zlh-coordinator');
export const AGENT_BIN = path.join(BIN_DIR, 'zlh-agent');

export class Coordinator {
  /** Creates a config and database in a temp dir (init), without starting the server.
   *  databaseUrl: another database (e.g. postgresql://...) instead of a SQLite file there.
   *  agents: [agents] settings over the defaults (e.g. a short link_timeout_s). */
  static async create({ extraToml = '', databaseUrl, agents = {}, tls } = {}) {
    // Placement reserves 1024 MB per instance by default: tests and benchmarks that make dozens
    // of instances on one machine reserve little instead, unless they set [placement] themselves.
    if (!/^\[placement\]/m.test(extraToml)) extraToml += '\n[placement]\ndefault_memory_mb = 16\ndefault_disk_mb = 16\n';
    const c = await Coordinator.#configure({ extraToml, agents, tls,
      databaseUrl: (dir) => databaseUrl ?? `sqlite://${path.join(dir, 'zlh.db')}` });
    const r = await c.cli(['init', '--json']);
    if (r.code !== 0) throw new Error(`init failed (${r.code}): ${r.stderr}`);
    c.adminToken = JSON.parse(r.stdout).token;
    return c;
  }

  /** A second coordinator on `other`'s database (PostgreSQL) with its own port and dir; no init
   *  (the database is initialised already). Same admin token. */
  static async share(other, { extraToml = other.extraToml, agents = other.agents } = {}) {
    const c = await Coordinator.#configure({ extraToml, agents, databaseUrl: () => other.databaseUrl });
    c.adminToken = other.adminToken;
    return c;
  }

  /** tls: {cert, key, ca} (PEM file paths): the server speaks TLS with cert and key; the test's
   *  own requests verify it against ca. */
  static async #configure({ extraToml, agents, databaseUrl, tls }) {
    const c = new Coordinator();
    c.dir = tempDir('zlh-coord-');
    c.port = await freePort();
    c.url = `${tls ? 'https' : 'http'}://127.0.0.1:${c.port}`;
    c.ca = tls ? fs.readFileSync(tls.ca) : undefined;
    c.configPath = path.join(c.dir, 'coordinator.toml');
    c.extraToml = extraToml;
    c.agents = agents;
    c.databaseUrl = databaseUrl(c.dir);
    const a = { ping_interval_s: 5, link_timeout_s: 15, job_timeout_s: 10, ...agents };
    fs.writeFileSync(c.configPath, [
      '[server]', `listen = "127.0.0.1:${c.port}"`, `web_dir = "${path.join(BIN_DIR, '..', 'share', 'zlh-coordinator', 'web')}"`,
      ...(tls ? [`tls_cert = "${tls.cert}"`, `tls_key = "${tls.key}"`] : []), '',
      '[database]', `url = "${c.databaseUrl}"`, '',
      '[agents]', ...Object.entries(a).map(([k, v]) => `${k} = ${v}`), '',
      '[log]', 'level = "debug"', '', extraToml].join('\n'));
    return c;
  }

  cli(args) {
    return run(COORDINATOR_BIN, ['--config', this.configPath, ...args]);
  }

  async addNode(name) {
    const r = await this.cli(['node', 'add', name, '--json']);
    if (r.code !== 0) throw new Error(`node add failed (${r.code}): ${r.stderr}`);
    const j = JSON.parse(r.stdout);
    return { id: j.node.id, name: j.node.name, token: j.token };
  }

  async addNodeApi(name) {
    const r = await this.api('POST', '/api/v1/nodes', { body: { name } });
    if (r.status !== 201) throw new Error(`POST /api/v1/nodes: ${r.status} ${r.text}`);
    return { id: r.body.node.id, name, token: r.body.token };
  }

  async healthz() {
    return (await http('GET', `${this.url}/healthz`, { ca: this.ca })).body;
  }

  async start() {
    this.proc = new Proc('coordinator', COORDINATOR_BIN, ['--config', this.configPath, 'serve'], { logDir: this.dir });
    await waitFor('coordinator /healthz', async () => {
      if (!this.proc.running) throw new Error(`coordinator exited: ${this.proc.log().slice(-2000)}`);
      return (await http('GET', `${this.url}/healthz`, { timeoutMs: 1000, ca: this.ca })).status === 200;
    });
    return this;
  }

  api(method, p, opts = {}) {
    return http(method, `${this.url}${p}`, { token: this.adminToken, ca: this.ca, ...opts });
  }

  async node(id) {
    const r = await this.api('GET', `/api/v1/nodes/${id}`);
    return r.status === 200 ? r.body : undefined;
  }

  async metrics() {
    const r = await this.api('GET', '/metrics');
    if (r.status !== 200) throw new Error(`coordinator /metrics: ${r.status}`);
    return parseMetrics(r.text);
  }

  async stop() { if (this.proc) await this.proc.stop(); }
  async kill() { if (this.proc) await this.proc.kill('SIGKILL'); }
}

const agents = new Set();
// Shims outlive their agent by design; whatever a test leaves is ended when the test process ends.
process.on('exit', () => {
  for (const a of agents) for (const p of Object.values(a.shimPids())) { try { process.kill(p, 'SIGKILL'); } catch {} }
});

export class Agent {
  /** Writes agent.toml + node.token (0600) in a temp dir. */
  /** caFile: the PEM file the agent verifies the coordinator's TLS certificate with. */
  static async create({ coordinatorUrl, nodeId, token, backoffInitialMs = 200, backoffMaxMs = 2000, extraToml = '', caFile }) {
    const a = new Agent();
    agents.add(a);
    a.dir = tempDir('zlh-agent-');
    a.metricsPort = await freePort();
    a.metricsUrl = `http://127.0.0.1:${a.metricsPort}`;
    a.tokenPath = path.join(a.dir, 'node.token');
    fs.writeFileSync(a.tokenPath, `${token}\n`, { mode: 0o600 });
    a.configPath = path.join(a.dir, 'agent.toml');
    const wsUrl = coordinatorUrl.replace(/^http/, 'ws');
    fs.writeFileSync(a.configPath, [
      `node_id = "${nodeId}"`, '',
      '[coordinator]', `url = "${wsUrl}"`, `token_file = "${a.tokenPath}"`,
      `backoff_initial_ms = ${backoffInitialMs}`, `backoff_max_ms = ${backoffMaxMs}`,
      ...(caFile ? [`ca_file = "${caFile}"`] : []), '',
      '[metrics]', `listen = "127.0.0.1:${a.metricsPort}"`, '',
      '[state]', `dir = "${path.join(a.dir, 'state')}"`, `runtime_dir = "${path.join(a.dir, 'run')}"`, '',
      '[log]', 'level = "debug"', '', extraToml].join('\n'));
    return a;
  }

  /** `extraFds`: inherited fds the agent starts with (Proc). */
  async start({ extraFds = 0 } = {}) {
    this.proc = new Proc('agent', AGENT_BIN, ['--config', this.configPath], { logDir: this.dir, extraFds });
    await waitFor('agent /healthz', async () => {
      if (!this.proc.running) throw new Error(`agent exited: ${this.proc.log().slice(-2000)}`);
      return (await http('GET', `${this.metricsUrl}/healthz`, { timeoutMs: 1000 })).status === 200;
    });
    return this;
  }

  async metrics() {
    const r = await http('GET', `${this.metricsUrl}/metrics`);
    if (r.status !== 200) throw new Error(`agent /metrics: ${r.status}`);
    return parseMetrics(r.text);
  }

  async stop() { if (this.proc) await this.proc.stop(); }
  async kill() { if (this.proc) await this.proc.kill('SIGKILL'); }

  /** Shim pids by instance id, from the agent's runtime dir. */
  shimPids() {
    const dir = path.join(this.dir, 'run', 'instances');
    const out = {};
    if (!fs.existsSync(dir)) return out;
    for (const id of fs.readdirSync(dir)) {
      try { out[id] = Number(fs.readFileSync(path.join(dir, id, 'shim.pid'), 'utf8').trim()); } catch {}
    }
    return out;
  }

  /** Ends every shim (and so every game) this agent started: shims outlive the agent by design. */
  async killShims() {
    const pids = Object.values(this.shimPids()).filter((p) => p > 0);
    for (const p of pids) { try { process.kill(p, 'SIGTERM'); } catch {} }
    const alive = (p) => { try { process.kill(p, 0); return true; } catch { return false; } };
    const deadline = Date.now() + 5000;
    while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const p of pids.filter(alive)) { try { process.kill(p, 'SIGKILL'); } catch {} }
  }

  instanceDir(id) { return path.join(this.dir, 'state', 'instances', id); }
}

/** Waits until the coordinator reports the node with the given status. */
export function waitNodeStatus(coord, nodeId, status, timeoutMs = 5000) {
  return waitFor(`node ${nodeId} ${status}`, async () => (await coord.node(nodeId))?.status === status, { timeoutMs, intervalMs: 25 });
}

/** [plugins.lifecycle] for a test agent: the built-in templates (or `templatesDir`), the test
 * fixtures, and a random range of `ports` game ports. */
export function lifecycleToml({ templatesDir = path.join(SOURCE_DIR, 'plugins/lifecycle/templates'), ports = 20 } = {}) {
  const base = 20000 + Math.floor(Math.random() * 20000);
  return ['[plugins.lifecycle]', `templates_dir = "${templatesDir}"`,
    `fixtures_dir = "${path.join(SOURCE_DIR, 'tests/fixtures')}"`, `port_range = "${base}-${base + ports}"`].join('\n');
}

/** A started coordinator and one node whose agent (default plugins, lifecycleToml()) is online. */
export async function startStack({ coordToml = '', agentToml = lifecycleToml(), nodeName = 'test-node', agentOpts = {}, coordOpts = {} } = {}) {
  const coord = await Coordinator.create({ extraToml: coordToml, ...coordOpts });
  let agent;
  try {
    await coord.start();
    const node = await coord.addNode(nodeName);
    agent = await Agent.create({ coordinatorUrl: coord.url, nodeId: node.id, token: node.token, extraToml: agentToml, ...agentOpts });
    await agent.start();
    await waitNodeStatus(coord, node.id, 'online');
    return { coord, node, agent };
  } catch (e) {
    // The caller never gets them to stop: their running children would keep the test alive.
    await agent?.kill();
    await coord.kill();
    throw e;
  }
}
