// Checks the JSON Schemas of the agent link (proto/v1/schema) against the C++ codec:
// every schema compiles, every sample printed by the C++ encoder validates against its type's
// schema, and on the shared table of valid/invalid variants the schemas agree with the decoder.
//   node schema/validate.mjs [path/to/proto_samples]     (cwd: tests/, exit code 0 = pass)
// Without an argument the binary is looked up in $ZLH_BIN_DIR.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const schemaDir = fileURLToPath(new URL('../../proto/v1/schema/', import.meta.url));
const samplesBin = process.argv[2] ?? path.join(process.env.ZLH_BIN_DIR ?? '', 'proto_samples');
const SHARED = new Set(['common.schema.json', 'envelope.schema.json']);

function loadSchemas() {
  // allowUnionTypes: optional fields are ["string","null"]; strict catches typos in keywords.
  const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
  addFormats(ajv);
  const files = readdirSync(schemaDir).filter((f) => f.endsWith('.schema.json')).sort();
  for (const f of files) ajv.addSchema(JSON.parse(readFileSync(path.join(schemaDir, f), 'utf8')), f);
  return { ajv, files };
}

const { ajv, files } = loadSchemas();
const typeOf = (file) => file.slice(0, -'.schema.json'.length);
const messageTypes = files.filter((f) => !SHARED.has(f)).map(typeOf);

// The schema's verdict on one envelope text: "ok" or why not.
function schemaVerdict(text) {
  let msg;
  try {
    msg = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  const envelope = ajv.getSchema('envelope.schema.json');
  if (!envelope(msg)) return `envelope: ${ajv.errorsText(envelope.errors)}`;
  const validate = ajv.getSchema(`${msg.type}.schema.json`);
  if (!validate) return `no schema for type ${msg.type}`;
  return validate(msg) ? 'ok' : ajv.errorsText(validate.errors);
}

const run = (args, input) =>
  execFileSync(samplesBin, args, { input, encoding: 'utf8', maxBuffer: 64 << 20 });
const lines = (out) => out.split('\n').filter((l) => l.length > 0);

test('every schema is valid 2020-12 and compiles', () => {
  assert.ok(files.includes('envelope.schema.json'));
  for (const f of files) {
    const schema = ajv.getSchema(f).schema;
    assert.ok(ajv.validateSchema(schema), `${f}: ${ajv.errorsText(ajv.errors)}`);
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema', f);
  }
  assert.equal(messageTypes.length, 13, `message schemas: ${messageTypes.join(', ')}`);
});

test('every C++ sample validates against its schema, every type has both', () => {
  const samples = lines(run([])).map((l) => ({ text: l, msg: JSON.parse(l) }));
  const seen = new Set(samples.map((s) => s.msg.type));
  assert.deepEqual([...seen].sort(), [...messageTypes].sort(), 'sample types vs schema files');
  for (const s of samples) assert.equal(schemaVerdict(s.text), 'ok', s.text);
});

test('schemas agree with the C++ decoder on the shared cases', () => {
  const cases = lines(run(['--cases'])).map((l) => JSON.parse(l));
  assert.ok(cases.length > 300, `only ${cases.length} cases`);
  const expects = new Set(cases.map((c) => c.expect));
  for (const k of ['ok', 'bad_shape', 'malformed', 'wrong_version', 'unknown_type'])
    assert.ok(expects.has(k), `no case expects ${k}`);
  const wrong = [];
  for (const c of cases) {
    const verdict = schemaVerdict(c.text);
    if ((verdict === 'ok') !== (c.expect === 'ok'))
      wrong.push(`${c.name}: decoder ${c.expect}, schema ${verdict}`);
  }
  assert.deepEqual(wrong, []);
});

// Hand-written, so this test fails even if the C++ side printed nothing useful. Each is also
// given to the decoder (proto_samples --decode).
const env = (type, body, extra = {}) => JSON.stringify({ v: 1, type, id: 'm-1', ts: 1, body, ...extra });
const INVALID = [
  env('hello', { agent_version: '1', protocols: [1], plugins: [], capacity: { cpus: 1, memory_bytes: 1, disk_bytes: 1 }, metrics_url: '', instances: [] }),
  env('hello', { node_id: 'n', agent_version: '1', protocols: [1], plugins: [], capacity: { cpus: -1, memory_bytes: 1, disk_bytes: 1 }, metrics_url: '', instances: [] }),
  env('job.done', { job_id: 'j', result: {}, error: { code: 'internal', message: 'x' } }),
  env('job.done', { job_id: 'j' }),
  env('job.done', { job_id: 'j', error: { code: 'teapot', message: 'x' } }),
  env('stream.credit', { stream_id: 1, bytes: -5 }),
  env('stream.credit', { stream_id: 4294967296, bytes: 5 }),
  env('stream.open', { stream_id: 1, kind: 'console' }),
  env('instance.unresponsive', { instance_id: 'i', state_version: 1, unresponsive: 'yes' }),
  env('welcome', { node_id: 'n', coordinator_version: 'c', protocol: '1' }),
  env('stream.credit', { stream_id: 1, bytes: 5 }, { v: 2 }),
  env('stream.credit', { stream_id: 1, bytes: 5 }, { ts: 'now' }),
  env('no.such.type', {}),
  JSON.stringify({ v: 1, type: 'stream.credit', ts: 1, body: { stream_id: 1, bytes: 5 } }),
];
const VALID = [
  env('stream.credit', { stream_id: 1, bytes: 5, future_field: true }),
  env('job.done', { job_id: 'j', result: null, error: { code: 'internal', message: 'x' } }),
  env('job.start', { job_id: 'j', kind: 'k', params: null, instance_id: null, deadline_ms: null }),
];

test('hand-written invalid messages are rejected, valid ones accepted, by both', () => {
  const decoded = lines(run(['--decode'], [...INVALID, ...VALID].join('\n') + '\n'));
  assert.equal(decoded.length, INVALID.length + VALID.length);
  INVALID.forEach((text, i) => {
    assert.notEqual(schemaVerdict(text), 'ok', `schema accepted ${text}`);
    assert.notEqual(decoded[i], 'ok', `decoder accepted ${text}`);
  });
  VALID.forEach((text, i) => {
    assert.equal(schemaVerdict(text), 'ok', text);
    assert.equal(decoded[INVALID.length + i], 'ok', `decoder: ${text}`);
  });
});
