// Test harness for cross-process tests: real binaries on loopback, ephemeral ports, temp dirs,
// polling with deadlines, and every spawned process ended (and recorded for scripts/test).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const BIN_DIR = process.env.ZLH_BIN_DIR ?? path.resolve(import.meta.dirname, '../../build/release/bin');
export const SOURCE_DIR = process.env.ZLH_SOURCE_DIR ?? path.resolve(import.meta.dirname, '../..');
const PID_DIR = process.env.ZLH_PID_DIR;

const live = new Set();
function endAll() {
  for (const p of live) {
    try { process.kill(p.pid, 'SIGKILL'); } catch {}
  }
}
process.on('exit', endAll);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { endAll(); process.exit(130); });

export function tempDir(prefix = 'zlh-test-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls fn until it returns a truthy value; throws with `what` after timeoutMs. */
export async function waitFor(what, fn, { timeoutMs = 10000, intervalMs = 50 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastErr;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}` + (lastErr ? `: ${lastErr.message}` : ''));
    }
    await sleep(intervalMs);
  }
}

/**
 * Runs `fn`; when it throws, the error's message gains the last `lines` lines of the logs of the
 * processes `procs()` names (undefined ones skipped): what a failure in CI needs to be understood.
 */
export async function withLogTails(procs, fn, lines = 40) {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof Error) {
      for (const p of procs().filter(Boolean))
        e.message += `\n--- ${p.name} log (${p.logPath}), last ${lines} lines:\n` + p.log().split('\n').slice(-lines).join('\n');
    }
    throw e;
  }
}

/** A spawned process whose output goes to a log file; recorded so scripts/test can end it.
 * `extraFds` more copies of the log fd are inherited as fds 3, 4, ...: the process's own fds
 * then get numbers above them. */
export class Proc {
  constructor(name, cmd, args, { cwd, env, logDir, extraFds = 0 } = {}) {
    this.name = name;
    this.logPath = path.join(logDir ?? os.tmpdir(), `${name}-${Date.now()}.log`);
    const log = fs.openSync(this.logPath, 'a');
    const stdio = ['ignore', log, log, ...Array(extraFds).fill(log)];
    this.child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio });
    fs.closeSync(log);
    this.pid = this.child.pid;
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        live.delete(this);
        if (PID_DIR) fs.rmSync(path.join(PID_DIR, String(this.pid)), { force: true });
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
    live.add(this);
    if (PID_DIR) {
      fs.mkdirSync(PID_DIR, { recursive: true });
      fs.writeFileSync(path.join(PID_DIR, String(this.pid)), [cmd, ...args].join(' '));
    }
  }
  get running() { return !this.exitInfo; }
  log() { try { return fs.readFileSync(this.logPath, 'utf8'); } catch { return ''; } }
  async kill(signal = 'SIGKILL') {
    if (!this.running) return this.exitInfo;
    try { this.child.kill(signal); } catch {}
    return this.exited;
  }
  /** SIGTERM, then SIGKILL after graceMs. Returns the exit info of the first signal's outcome. */
  async stop(graceMs = 5000) {
    if (!this.running) return this.exitInfo;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const info = await this.exited;
    clearTimeout(t);
    return info;
  }
}

/** Runs a command to completion: {code, stdout, stderr}. */
export function run(cmd, args, { env, cwd, timeoutMs = 30000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env } });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${cmd} timed out`)); }, timeoutMs);
    child.on('exit', (code, signal) => { clearTimeout(t); resolve({ code, signal, stdout, stderr }); });
    child.on('error', (e) => { clearTimeout(t); reject(e); });
  });
}

/** HTTP with JSON: {status, headers, body (parsed JSON or text)}. */
export async function http(method, url, { token, body, headers = {}, timeoutMs = 10000, ca } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  let payload;
  if (body !== undefined) {
    payload = typeof body === 'string' ? body : JSON.stringify(body);
    h['content-type'] ??= 'application/json';
  }
  const res = ca ? await httpsWithCa(method, url, h, payload, timeoutMs, ca)
    : await fetch(url, { method, headers: h, body: payload, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let parsed = text;
  try { parsed = JSON.parse(text); } catch {}
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/** One HTTPS request verified against `ca` (PEM), which fetch cannot take; shaped like fetch's. */
function httpsWithCa(method, url, headers, payload, timeoutMs, ca) {
  return new Promise((ok, fail) => {
    const req = https.request(url, { method, headers, ca, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode, headers: new Headers(Object.entries(res.headers).map(([k, v]) => [k, String(v)])),
        text: async () => Buffer.concat(chunks).toString() }));
      res.on('error', fail);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: timed out after ${timeoutMs} ms`)));
    req.on('error', fail);
    req.end(payload);
  });
}

/** Parses Prometheus text into [{name, labels, value}]. */
export function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/);
    if (!m) continue;
    const labels = {};
    if (m[3]) for (const lm of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[lm[1]] = lm[2];
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

/** Sum of the samples named `name` whose labels include `match`. */
export function metricValue(samples, name, match = {}) {
  let sum = 0, found = false;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) { sum += s.value; found = true; }
  }
  return found ? sum : undefined;
}
