// Prometheus tooling for tests: promtool (Debian's /usr/bin/promtool; ZLH_PROMTOOL elsewhere),
// a raw HTTP GET that shows the bytes as sent (gzip included), and the metric names a PromQL
// expression reads.
import { spawn } from 'node:child_process';
import nodeHttp from 'node:http';

export const PROMTOOL = process.env.ZLH_PROMTOOL ?? '/usr/bin/promtool';
export const PROMETHEUS = process.env.ZLH_PROMETHEUS ?? '/usr/bin/prometheus';

/** Runs promtool with `input` on stdin: {code, stdout, stderr}. */
export function promtool(args, input = '') {
  return new Promise((resolve, reject) => {
    const child = spawn(PROMTOOL, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('promtool timed out')); }, 30000);
    child.on('error', (e) => { clearTimeout(t); reject(e); });
    child.on('exit', (code) => { clearTimeout(t); resolve({ code, stdout, stderr }); });
    child.stdin.end(input);
  });
}

/** GET without any decoding: {status, headers, body (Buffer)}. */
export function rawGet(url, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = nodeHttp.get(url, { headers, timeout: 10000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left',
  'group_right', 'bool', 'offset', 'inf', 'nan']);

/**
 * The metric names a PromQL expression selects. Not a parser: strings, label matchers `{...}`,
 * ranges `[...]`, grouping lists (`by (...)`, `on (...)`, ...), function calls and keywords are
 * removed, and what is left that looks like a name is a metric name.
 */
export function metricNames(expr) {
  let s = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  s = s.replace(/\{[^}]*\}/g, ' ');
  s = s.replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set();
  for (const m of s.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*(?!\s*\()/g)) {
    const name = m[0];
    const before = s[m.index - 1];
    if (before && /[a-zA-Z0-9_:.]/.test(before)) continue;  // inside a number (1e3) or a longer word
    if (/^[0-9]/.test(name) || KEYWORDS.has(name.toLowerCase())) continue;
    // A function name is followed by "(": the negative look-ahead stops matching one character
    // short of it, so drop any match whose full word continues.
    const rest = s.slice(m.index + name.length);
    if (/^[a-zA-Z0-9_:]/.test(rest)) continue;
    names.add(name);
  }
  return names;
}
