// Bad configuration: each kind of mistake names the file and the key, and the process exits non-zero.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { run, tempDir } from '../lib/harness.mjs';
import { AGENT_BIN, COORDINATOR_BIN } from '../lib/zlh.mjs';

function agentConfig(dir, { lines, tokenMode = 0o600 } = {}) {
  const token = path.join(dir, 'node.token');
  fs.writeFileSync(token, 'zlh_' + 'a'.repeat(43) + '\n', { mode: tokenMode });
  fs.chmodSync(token, tokenMode);
  const base = {
    node_id: '"nd_test"',
    'coordinator.url': '"ws://127.0.0.1:7420"',
    'coordinator.token_file': `"${token}"`,
    'state.dir': `"${path.join(dir, 'state')}"`,
    'state.runtime_dir': `"${path.join(dir, 'run')}"`,
    'metrics.listen': '"127.0.0.1:0"',
  };
  Object.assign(base, lines);
  const top = [], tables = {};
  for (const [k, v] of Object.entries(base)) {
    if (v === undefined) continue;
    const i = k.lastIndexOf('.');
    if (i < 0) top.push(`${k} = ${v}`);
    else (tables[k.slice(0, i)] ??= []).push(`${k.slice(i + 1)} = ${v}`);
  }
  let text = top.join('\n') + '\n';
  for (const [t, ls] of Object.entries(tables)) text += `\n[${t}]\n${ls.join('\n')}\n`;
  const file = path.join(dir, 'agent.toml');
  fs.writeFileSync(file, text);
  return file;
}

const agentCases = [
  ['unknown key', { 'metrics.bogus': '1' }, 'metrics.bogus', /unknown/],
  ['wrong type', { 'coordinator.backoff_max_ms': '"soon"' }, 'coordinator.backoff_max_ms', /integer/],
  ['missing required', { node_id: undefined }, 'node_id', /missing|required/],
  ['bad URL scheme', { 'coordinator.url': '"http://127.0.0.1:7420"' }, 'coordinator.url', /ws:\/\/|wss:\/\//],
  ['ws:// to a non-loopback host', { 'coordinator.url': '"ws://coordinator.example:7420"' }, 'coordinator.url', /loopback|insecure/],
  ['unknown plugin', { 'plugins.enabled': '["system", "nope"]' }, 'plugins.enabled', /nope/],
];

describe('agent config errors', () => {
  for (const [name, lines, key, reason] of agentCases) {
    test(name, async () => {
      const dir = tempDir();
      const file = agentConfig(dir, { lines });
      for (const args of [['--config', file, '--check-config'], ['--config', file]]) {
        const r = await run(AGENT_BIN, args, { timeoutMs: 10000 });
        assert.equal(r.code, 2, `exit 2 for ${args.join(' ')}; stderr: ${r.stderr}`);
        assert.ok(r.stderr.includes(`${file}: ${key}: `), `names file and key: ${r.stderr}`);
        assert.match(r.stderr, reason);
      }
    });
  }

  test('token file readable by others', async () => {
    const dir = tempDir();
    const file = agentConfig(dir, { tokenMode: 0o644 });
    const r = await run(AGENT_BIN, ['--config', file, '--check-config']);
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(`${file}: coordinator.token_file: `), r.stderr);
    assert.ok(!r.stderr.includes('a'.repeat(20)), 'the token is not printed');
  });

  test('not TOML at all', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'agent.toml');
    fs.writeFileSync(file, 'node_id = [unclosed\n');
    const r = await run(AGENT_BIN, ['--config', file, '--check-config']);
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(file), r.stderr);
  });

  test('a good config passes --check-config', async () => {
    const dir = tempDir();
    const file = agentConfig(dir, {});
    const r = await run(AGENT_BIN, ['--config', file, '--check-config']);
    assert.equal(r.code, 0, r.stderr);
  });

  test('a missing config file is named', async () => {
    const r = await run(AGENT_BIN, ['--config', '/nonexistent/agent.toml', '--check-config']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /\/nonexistent\/agent\.toml/);
  });
});

describe('coordinator config errors', () => {
  const cases = [
    ['unknown key', '[server]\nlisten = "127.0.0.1:7420"\nbogus = 1\n', 'server.bogus', /unknown/],
    ['wrong type', '[agents]\nping_interval_s = "often"\n', 'agents.ping_interval_s', /integer/],
    ['bad listen address', '[server]\nlisten = "not an address"\n', 'server.listen', /./],
    ['bad database url', '[database]\nurl = "mysql://x"\n', 'database.url', /./],
  ];
  for (const [name, text, key, reason] of cases) {
    test(name, async () => {
      const dir = tempDir();
      const file = path.join(dir, 'coordinator.toml');
      fs.writeFileSync(file, text);
      const r = await run(COORDINATOR_BIN, ['--config', file, 'serve'], { timeoutMs: 10000 });
      assert.equal(r.code, 2, `exit 2; stderr: ${r.stderr}`);
      assert.ok(r.stderr.includes(`${file}: ${key}: `), `names file and key: ${r.stderr}`);
      assert.match(r.stderr, reason);
    });
  }
});
