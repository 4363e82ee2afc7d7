// Prometheus text exposition helpers and a node_exporter runner, for the metrics tests and the
// metrics benchmark. The client is node:http with a keep-alive agent, so both exporters are
// measured with the same client.
import fs from 'node:fs';
import http from 'node:http';
import zlib from 'node:zlib';
import { Proc, freePort, tempDir, waitFor } from './harness.mjs';

export const NODE_EXPORTER_BIN = process.env.ZLH_NODE_EXPORTER ?? '/usr/bin/prometheus-node-exporter';
export const PROMTOOL_BIN = process.env.ZLH_PROMTOOL ?? '/usr/bin/promtool';

/** The collectors the agent's metrics plugin covers, as node_exporter flags. */
export const NODE_EXPORTER_COLLECTORS = ['cpu', 'meminfo', 'loadavg', 'filesystem', 'netdev', 'diskstats',
  'stat', 'pressure', 'uname', 'time'];

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** GET `url`: {status, headers, body (Buffer as received), text (decoded), ms}. */
export function scrape(url, { gzip = false, timeoutMs = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.get(url, { agent: keepAlive, timeout: timeoutMs,
      headers: { 'accept-encoding': gzip ? 'gzip' : 'identity' } }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => {
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        const body = Buffer.concat(chunks);
        const text = res.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(body).toString() : body.toString();
        resolve({ status: res.statusCode, headers: res.headers, body, text, ms });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on('error', reject);
  });
}

/** Parses text 0.0.4 into Map(family -> {type, help, samples: [{name, labels, value}]}). */
export function parseFamilies(text) {
  const families = new Map();
  const fam = (name) => {
    if (!families.has(name)) families.set(name, { type: 'untyped', help: '', samples: [] });
    return families.get(name);
  };
  for (const line of text.split('\n')) {
    if (!line) continue;
    let m;
    if ((m = line.match(/^# (HELP|TYPE) (\S+) ?(.*)$/))) {
      if (m[1] === 'TYPE') fam(m[2]).type = m[3];
      else fam(m[2]).help = m[3];
      continue;
    }
    if (line.startsWith('#')) continue;
    m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/);
    if (!m) throw new Error(`unparsable sample line: ${line}`);
    const labels = {};
    if (m[3]) for (const lm of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[lm[1]] = lm[2];
    let base = m[1];
    if (!families.has(base)) base = base.replace(/_(bucket|sum|count)$/, '');
    fam(base).samples.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return families;
}

/** A series key: name{sorted label pairs}. */
export function seriesKey(s) {
  return s.name + '{' + Object.keys(s.labels).sort().map((k) => `${k}=${s.labels[k]}`).join(',') + '}';
}

/** node_exporter on an ephemeral 127.0.0.1 port with only `collectors`. */
export class NodeExporter {
  static async start({ collectors = NODE_EXPORTER_COLLECTORS } = {}) {
    const n = new NodeExporter();
    n.dir = tempDir('zlh-node-exporter-');
    n.port = await freePort();
    n.url = `http://127.0.0.1:${n.port}/metrics`;
    n.proc = new Proc('node-exporter', NODE_EXPORTER_BIN, [
      `--web.listen-address=127.0.0.1:${n.port}`, '--collector.disable-defaults',
      ...collectors.map((c) => `--collector.${c}`)], { logDir: n.dir });
    await waitFor('node_exporter /metrics', async () => {
      if (!n.proc.running) throw new Error(`node_exporter exited: ${n.proc.log().slice(-2000)}`);
      return (await scrape(n.url, { timeoutMs: 1000 })).status === 200;
    });
    return n;
  }

  async stop() {
    if (this.proc) await this.proc.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
