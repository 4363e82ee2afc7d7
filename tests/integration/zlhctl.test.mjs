// zlhctl console against the real coordinator, agent and test game: output, input, the exit
// codes, and refusals in words. stdin is a pipe here (no raw mode): input is sent as typed, and
// after EOF the output keeps coming until the server closes the console.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BIN_DIR, waitFor } from '../lib/harness.mjs';
import { startStack } from '../lib/zlh.mjs';
import { createInstance, power, waitState } from '../lib/instances.mjs';

const ZLHCTL = path.join(BIN_DIR, 'zlhctl');

function zlhctl(args, { env = {}, input = '', timeoutMs = 30000 } = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(ZLHCTL, args, { env: { PATH: process.env.PATH, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    const t = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`zlhctl timed out: ${stdout.slice(-500)} ${stderr}`)); }, timeoutMs);
    p.on('exit', (code) => { clearTimeout(t); resolve({ code, stdout, stderr }); });
    p.stdin.on('error', () => {});  // zlhctl may exit (usage error) before reading its input
    p.stdin.end(input);
  });
}

describe('zlhctl console', () => {
  let coord, agent, node, instance, env;

  before(async () => {
    ({ coord, node, agent } = await startStack({ nodeName: 'ctl-node' }));
    const r = await createInstance(coord, { name: 'ctl', template: 'mc-test' });
    instance = await waitState(coord, r.body.instance.id, 'ready', 60000);
    env = { ZLH_URL: coord.url, ZLH_TOKEN: coord.adminToken };
  });

  after(async () => {
    await agent?.kill();
    await agent?.killShims();
    await coord?.kill();
  });

  test('on a terminal: raw mode, its size reaches the PTY, Ctrl-] detaches with exit 0', async () => {
    // script(1) (util-linux) gives zlhctl a pseudo-terminal of a known size.
    const p = spawn('script', ['-qfec', `stty cols 77 rows 22; ${ZLHCTL} console ${instance.id}`, '/dev/null'],
      { env: { PATH: process.env.PATH, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    const exited = new Promise((ok) => p.on('exit', ok));
    try {
      await waitFor('attached', () => out.includes('Done ('), { timeoutMs: 10000 });
      p.stdin.write('size\r');  // raw mode: the terminal's Enter is \r, passed through as typed
      await waitFor('the PTY has the terminal size', () => out.includes('Terminal size 77x22'), { timeoutMs: 10000 });
      p.stdin.write('\x1d');
      assert.equal(await exited, 0);
      assert.match(out, /zlhctl: detached/);
    } finally {
      p.kill('SIGKILL');
    }
    assert.equal((await coord.api('GET', `/api/v1/instances/${instance.id}`)).body.state, 'ready', 'detaching stops nothing');
  });

  test('scrollback, typed commands and their answers, the last output, exit 0 when the process exits', async () => {
    const r = await zlhctl(['console', instance.id], { env, input: 'say via-zlhctl\nstop\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Done \(/);
    assert.match(r.stdout, /\[Server\] via-zlhctl/);
    assert.match(r.stdout, /Saving worlds/);
    assert.ok(r.stdout.endsWith('[zlh: the process exited]\r\n'), JSON.stringify(r.stdout.slice(-80)));
    assert.match(r.stderr, /attached to .*detach: Ctrl-\]/);
    assert.match(r.stderr, /console closed: the process exited \(1000\)/);
    await waitState(coord, instance.id, 'stopped', 20000);
  });

  test('--shell: a shell in the directory of a template that offers one; refused where none', async () => {
    const httpd = "node -e \"require('http').createServer((q, s) => s.end('ok')).listen(process.env.PORT, process.env.HOST)\"";
    const r = await createInstance(coord, { name: 'ctl-ide', template: 'process', params: { command: httpd } });
    const ide = await waitState(coord, r.body.instance.id, 'ready', 60000);
    const sh = await zlhctl(['console', '--shell', ide.id], { env, input: 'echo "I""N=$(pwd)"; exit\n' });
    assert.equal(sh.code, 0, sh.stderr);
    assert.match(sh.stdout, new RegExp(`IN=/\\S*/instances/${ide.id}/data`));
    assert.match(sh.stdout, /\[zlh: the shell exited\]/);
    const none = await zlhctl(['console', '--shell', instance.id], { env });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /offers no shell .*\(4009\)/);
    await coord.api('DELETE', `/api/v1/instances/${ide.id}`);
  });

  test('refusals: not running (4009), unknown instance, no token, bad URL', async () => {
    const stopped = await zlhctl(['console', instance.id], { env });
    assert.equal(stopped.code, 1);
    assert.match(stopped.stderr, /is stopped \(4009\)/);
    const unknown = await zlhctl(['console', 'in_nope'], { env });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /console ticket refused: instance in_nope not found \(HTTP 404\)/);
    const noToken = await zlhctl(['console', instance.id], { env: { ZLH_URL: coord.url } });
    assert.equal(noToken.code, 2);
    assert.match(noToken.stderr, /no API token/);
    const badUrl = await zlhctl(['--url', 'ftp://x', 'console', instance.id], { env });
    assert.equal(badUrl.code, 2);
    assert.match(badUrl.stderr, /--url: URL must start with http/);
    const badToken = await zlhctl(['console', instance.id], { env: { ...env, ZLH_TOKEN: 'zlh_' + 'A'.repeat(43) } });
    assert.equal(badToken.code, 1);
    assert.match(badToken.stderr, /HTTP 401/);
    assert.equal((await power(coord, instance.id, 'start')).status, 202);
    await waitState(coord, instance.id, 'ready', 30000);
  });
});
