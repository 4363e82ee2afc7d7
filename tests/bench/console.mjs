// Console benchmarks (not tests): throughput from a process's PTY to a WebSocket client through
// shim -> agent -> coordinator, and one-byte echo round trips, each beside a raw PTY read in the
// same run (tests/bench/pty_anchor.py). Usage (from tests/):
//   ZLH_BIN_DIR=../build/release/bin node bench/console.mjs [--mb 100] [--echoes 2000] [--rounds 3]
//     [--gap 10] [--warmup 2]
// The echo is measured from the npm ws client and, as players type, from headless Chromium; the
// browser's anchor is its own round trip to a bare local WebSocket echo server. A third echo
// series types at a player's pace, one keystroke every --gap ms (each one then wakes every hop
// from idle), beside the raw PTY typed at the same pace. The back-to-back echo is measured twice:
// right after the console opens, beside a raw PTY and beside the same client's first round trips
// to a bare ws echo server in another process (tests/bench/ws_echo_server.mjs), each after 3 s of
// idle cores; then after --warmup seconds of unmeasured echoes, beside a raw PTY warmed alike.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket, { WebSocketServer } from 'ws';
import { SOURCE_DIR, tempDir, waitFor } from '../lib/harness.mjs';
import { lifecycleToml, startStack } from '../lib/zlh.mjs';
import { createInstance, waitInstance } from '../lib/instances.mjs';
import { launchBrowser } from '../lib/browser.mjs';
import { Report, cpuTicks, median, percentile } from './lib.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const MB_IN = arg('mb', 100);
const ECHOES = arg('echoes', 2000);
const GAP_MS = arg('gap', 10);
const PACED = 300;  // keystrokes at a player's pace: 3 s at the default gap
const WARMUP_S = arg('warmup', 2);
const ROUNDS = arg('rounds', 3);
const ANCHOR = path.join(SOURCE_DIR, 'tests/bench/pty_anchor.py');
const rep = new Report();
const MBs = (bytes, s) => bytes / 1e6 / s;

const templates = tempDir('zlh-bench-templates-');
for (const dir of [path.join(SOURCE_DIR, 'plugins/lifecycle/templates'), path.join(SOURCE_DIR, 'tests/bench/templates')])
  for (const f of fs.readdirSync(dir)) fs.copyFileSync(path.join(dir, f), path.join(templates, f));

const { coord, node, agent } = await startStack({ agentToml: lifecycleToml({ templatesDir: templates }), nodeName: 'bench-node' });

async function instance(name, command) {
  const r = await createInstance(coord, { name, template: 'bench-shell', params: { command } });
  if (r.status !== 202) throw new Error(r.text);
  return waitInstance(coord, r.body.instance.id, (i) => i.state === 'running' || i.state === 'ready', 'up', 30000);
}
async function viewer(id, opts = {}) {
  const t = await coord.api('POST', `/api/v1/instances/${id}/console/tickets`);
  const ws = new WebSocket(t.body.url, 'zlh.console.v1', opts);
  await new Promise((ok, fail) => { ws.on('open', ok); ws.on('error', fail); });
  return ws;
}
const input = (text) => Buffer.concat([Buffer.from([0]), Buffer.from(text)]);

/** Bytes and seconds from "go" to the end marker, through the whole path. */
async function throughput(gen, opts) {
  const inst = await instance(`tp-${Math.random()}`, `read go; ${gen}; echo; echo END-OF-OUT""PUT; exec sleep 3600`);
  const ws = await viewer(inst.id, opts);
  if (opts.perMessageDeflate && !/permessage-deflate/.test(ws.extensions)) throw new Error('compression not negotiated');
  // The client does what the raw anchor does and little more: counts bytes, and looks for the
  // end marker (perhaps split across messages) and skip notices with native byte searches.
  let bytes = 0, messages = 0, tail = Buffer.alloc(0), skipped = false;
  const done = new Promise((ok) => ws.on('message', (d, binary) => {
    if (!binary) return;
    bytes += d.length;
    messages += 1;
    if (d.indexOf('skipped: this console') >= 0) skipped = true;
    const edge = Buffer.concat([tail, d.subarray(Math.max(0, d.length - 64))]);
    if (edge.indexOf('END-OF-OUTPUT') >= 0 || d.indexOf('END-OF-OUTPUT') >= 0) ok();
    tail = edge.subarray(Math.max(0, edge.length - 64));
  }));
  await new Promise((r) => setTimeout(r, 300));  // the (empty) replay has passed
  // CPU per process over the transfer: robust where wall-clock rates are noisy (shared cores).
  const shimPid = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).find((d) => {
    try { return fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(`instances/${inst.id}/spec.json`); } catch { return false; }
  });
  const pids = { shim: Number(shimPid), agent: agent.proc.pid, coordinator: coord.proc.pid };
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuTicks(pid)]));
  const t0 = performance.now();
  ws.send(input('go\n'));
  await done;
  const s = (performance.now() - t0) / 1000;
  const cpuMsPerMB = Object.fromEntries(Object.entries(pids).map(([k, pid]) =>
    [k, Number(((cpuTicks(pid) - before[k]) * 10 / (bytes / 1e6)).toFixed(2))]));
  console.log(`cpu ms per MB received (${opts.perMessageDeflate ? 'deflate' : 'plain'}): ${JSON.stringify(cpuMsPerMB)}, ${(bytes / messages / 1024).toFixed(1)} KiB per message`);
  ws.close();
  await coord.api('DELETE', `/api/v1/instances/${inst.id}`);
  return { bytes, s, skipped };
}
function rawThroughput(gen) {
  return JSON.parse(execFileSync('python3', [ANCHOR, 'throughput', gen], { encoding: 'utf8' }));
}

try {
  const gens = {
    zeros: `head -c ${MB_IN * 1000000} /dev/zero | base64`,
    random: `head -c ${MB_IN * 1000000} /dev/urandom | base64`,
  };
  // Rounds alternate anchor, plain and deflate, so that each ratio compares runs seconds apart;
  // the figure is the median over rounds of each rate (the raw anchor alone swings 25-37 MB/s
  // from run to run here).
  for (const [name, gen] of Object.entries(gens)) {
    const rates = { raw: [], plain: [], deflate: [] };
    let produced = 0, received = { plain: 0, deflate: 0 }, skipped = { plain: false, deflate: false };
    for (let r = 0; r < ROUNDS; r++) {
      const raw = rawThroughput(gen);
      produced = raw.bytes;
      rates.raw.push(MBs(raw.bytes, raw.seconds));
      for (const mode of ['plain', 'deflate']) {
        const m = await throughput(gen, { perMessageDeflate: mode === 'deflate' });
        rates[mode].push(MBs(m.bytes, m.s));
        received[mode] += m.bytes / ROUNDS;
        skipped[mode] ||= m.skipped;
      }
      console.log(`round ${r + 1} (${name}): raw ${rates.raw[r].toFixed(1)}, plain ${rates.plain[r].toFixed(1)} (${(rates.plain[r] / rates.raw[r]).toFixed(2)}), deflate ${rates.deflate[r].toFixed(1)} (${(rates.deflate[r] / rates.raw[r]).toFixed(2)}) MB/s`);
    }
    const r = median(rates.raw);
    for (const [mode, label] of [['plain', ''], ['deflate', ' with permessage-deflate']]) {
      const p = median(rates[mode]);
      rep.add(`PTY -> WebSocket${label}, base64 of ${name} (${(produced / 1e6).toFixed(0)} MB produced, ${(received[mode] / 1e6).toFixed(0)} MB received${skipped[mode] ? ', rest skipped' : ''}; median of ${ROUNDS})`,
        `${p.toFixed(1)} MB/s`, 'raw PTY read', `${r.toFixed(1)} MB/s`, (p / r).toFixed(2));
    }
  }

  // Echo: one byte typed, the same byte back, through the whole path; without and with
  // permessage-deflate (browsers offer it; the npm ws client too unless told not to).
  const anchorEcho = (n, gapMs, warmupS) =>
    JSON.parse(execFileSync('python3', [ANCHOR, 'echo', String(n), String(gapMs), String(warmupS)], { encoding: 'utf8' }));
  const raw = anchorEcho(ECHOES, 0, 0);
  const inst = await instance('echo', 'stty raw -echo; echo READY; exec cat');
  // The cold start's own anchor: the same client against a bare ws echo server in another
  // process, also started after the cores idled.
  const bareServer = spawn(process.execPath, [path.join(SOURCE_DIR, 'tests/bench/ws_echo_server.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const barePort = await new Promise((ok) => bareServer.stdout.once('data', (d) => ok(Number(String(d).trim()))));
  const idle = () => new Promise((ok) => setTimeout(ok, 3000));
  const echoClient = async (ws) => {
    let got = '', waiter = null;
    ws.on('message', (d, binary) => {
      if (!binary) return;
      got += d.toString('latin1');
      if (waiter && got.includes('x')) waiter();
    });
    ws.send(input('\n'));  // the replay may not show READY twice: wait for any answer
    await waitFor('cat ready', () => got.length > 0);
    const echo = async () => {
      got = '';
      const echoed = new Promise((ok) => { waiter = ok; });  // resolved by the message itself
      const t0 = performance.now();
      ws.send(input('x'));
      await echoed;
      return performance.now() - t0;
    };
    return async (n, gapMs = 0, warmupS = 0) => {
      for (const end = performance.now() + warmupS * 1000; performance.now() < end;) await echo();
      const samples = [];
      for (let i = 0; i < n; i++) {
        samples.push(await echo());
        if (gapMs) await new Promise((ok) => setTimeout(ok, gapMs));
      }
      return samples;
    };
  };
  const row = (what, samples, anchorName, anchor) => {
    const p50 = median(samples), p99 = percentile(samples, 0.99);
    rep.add(`echo round trip p50 (${what})`, `${p50.toFixed(3)} ms`, anchorName, `${anchor.p50_ms.toFixed(3)} ms`, (p50 / anchor.p50_ms).toFixed(1));
    rep.add(`echo round trip p99 (${what})`, `${p99.toFixed(3)} ms`, anchorName, `${anchor.p99_ms.toFixed(3)} ms`, (p99 / anchor.p99_ms).toFixed(1));
  };
  const warm = anchorEcho(ECHOES, 0, WARMUP_S);
  try {
    // Without compression: cold (beside a raw PTY and beside the bare server, each after idle
    // cores), after a warm-up, and at a player's pace.
    const paced = anchorEcho(PACED, GAP_MS, 0);
    await idle();
    const bareWs = new WebSocket(`ws://127.0.0.1:${barePort}`, { perMessageDeflate: false });
    await new Promise((ok, fail) => { bareWs.on('open', ok); bareWs.on('error', fail); });
    const bare = await (await echoClient(bareWs))(ECHOES);
    bareWs.close();
    await idle();
    const plain = await viewer(inst.id, { perMessageDeflate: false });
    const echoes = await echoClient(plain);
    const cold = await echoes(ECHOES);
    row(`${ECHOES}`, cold, 'raw PTY', raw);
    row(`${ECHOES}, cold`, cold, 'a bare ws echo server, cold too', { p50_ms: median(bare), p99_ms: percentile(bare, 0.99) });
    row(`${ECHOES}, after ${WARMUP_S} s of echoes`, await echoes(ECHOES, 0, WARMUP_S), 'raw PTY, warmed alike', warm);
    row(`${PACED}, one every ${GAP_MS} ms`, await echoes(PACED, GAP_MS), 'raw PTY', paced);
    plain.close();
    // With permessage-deflate: right after opening, then after a warm-up.
    const deflate = await viewer(inst.id, { perMessageDeflate: true });
    const deflated = await echoClient(deflate);
    row(`${ECHOES}, permessage-deflate`, await deflated(ECHOES), 'raw PTY', raw);
    row(`${ECHOES}, permessage-deflate, after ${WARMUP_S} s of echoes`, await deflated(ECHOES, 0, WARMUP_S), 'raw PTY, warmed alike', warm);
    deflate.close();
  } finally {
    bareServer.kill();
  }

  // The same echo as a player's browser does it (it negotiates permessage-deflate), beside the
  // browser's own floor: a bare ws echo server on loopback, no PTY, no zlh. Interleaved rounds.
  const echoServer = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: true });
  await new Promise((ok) => echoServer.on('listening', ok));
  echoServer.on('connection', (c) => c.on('message', (d) => c.send(d.subarray(1), { binary: true })));
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    const browserEcho = (url, n) => page.evaluate(async ({ url, n }) => {
      const ws = new WebSocket(url, 'zlh.console.v1');
      ws.binaryType = 'arraybuffer';
      await new Promise((ok, fail) => { ws.onopen = ok; ws.onerror = fail; });
      let waiter = null, got = '';
      const dec = new TextDecoder('latin1');
      ws.onmessage = (e) => {
        if (typeof e.data === 'string') return;
        got += dec.decode(e.data);
        if (waiter && got.includes('x')) { const w = waiter; waiter = null; w(); }
      };
      const send = (s) => ws.send(new Uint8Array([0, ...new TextEncoder().encode(s)]));
      send('\n');  // any answer: the PTY's cat (or the bare server) is there
      while (got.length === 0) await new Promise((r) => setTimeout(r, 5));
      const samples = [];
      for (let i = 0; i < n; i++) {
        got = '';
        const echoed = new Promise((ok) => { waiter = ok; });
        const t0 = performance.now();
        send('x');
        await echoed;
        samples.push(performance.now() - t0);
      }
      ws.close();
      return { samples, extensions: ws.extensions };
    }, { url, n });
    const ours = [], bare = [];
    let extensions = '';
    for (let r = 0; r < 2; r++) {
      const t = await coord.api('POST', `/api/v1/instances/${inst.id}/console/tickets`);
      const o = await browserEcho(t.body.url, ECHOES / 2);
      ours.push(...o.samples);
      extensions = o.extensions;
      bare.push(...(await browserEcho(`ws://127.0.0.1:${echoServer.address().port}`, ECHOES / 2)).samples);
    }
    const label = `Chromium, ${extensions || 'no compression'}`;
    rep.add(`echo round trip p50 (${ours.length}, ${label})`, `${percentile(ours, 0.5).toFixed(3)} ms`, 'Chromium to a bare ws echo server', `${percentile(bare, 0.5).toFixed(3)} ms`, (percentile(ours, 0.5) / percentile(bare, 0.5)).toFixed(1));
    rep.add(`echo round trip p99 (${ours.length}, ${label})`, `${percentile(ours, 0.99).toFixed(3)} ms`, 'Chromium to a bare ws echo server', `${percentile(bare, 0.99).toFixed(3)} ms`, (percentile(ours, 0.99) / percentile(bare, 0.99)).toFixed(1));
  } finally {
    await browser.close();
    echoServer.close();
  }
} finally {
  await agent.kill();
  await agent.killShims();
  await coord.kill();
}
rep.print();
