// Placement (docs/placement.md) with two real agents that report different capacity through
// their [capacity] config: instances land where the documented rule says, an explicit node is
// honoured, overfill is refused with 409 and the reason, and a delete gives the room back.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../lib/harness.mjs';
import { createInstance, waitOperation } from '../lib/instances.mjs';
import { Agent, Coordinator, lifecycleToml, waitNodeStatus } from '../lib/zlh.mjs';

const MiB = 1048576;

describe('placement across nodes of different capacity', () => {
  let coord;
  const agents = [];
  const nodes = {};

  async function node(name, memoryMb) {
    const n = await coord.addNode(name);
    const agent = await Agent.create({
      coordinatorUrl: coord.url, nodeId: n.id, token: n.token,
      extraToml: `${lifecycleToml()}\n\n[capacity]\nmemory_bytes = ${memoryMb * MiB}\ndisk_bytes = ${100000 * MiB}\n`,
    });
    agents.push(agent);
    await agent.start();
    await waitNodeStatus(coord, n.id, 'online');
    return n;
  }

  before(async () => {
    coord = await Coordinator.create({ extraToml: '[placement]\ndefault_memory_mb = 1024\ndefault_disk_mb = 1024\n' });
    await coord.start();
    nodes.big = await node('big', 3072);
    nodes.small = await node('small', 2048);
  });

  after(async () => {
    for (const a of agents) { await a.kill(); await a.killShims(); }
    await coord?.stop();
  });

  /** Creates an installed-only instance (start false: no game runs) and waits for its create. */
  async function create(body = {}, opts = {}) {
    const r = await createInstance(coord, { name: 'p', template: 'mc-test', start: false, ...body }, opts);
    if (r.status === 202) {
      const op = await waitOperation(coord, r.body.operation.id);
      assert.equal(op.state, 'succeeded', JSON.stringify(op));
    }
    return r;
  }

  const conflict = (r, pattern) => {
    assert.equal(r.status, 409, r.text);
    assert.equal(r.body.error.code, 'conflict');
    assert.match(r.body.error.message, pattern);
  };

  test('hello carries the configured capacity', async () => {
    assert.equal((await coord.node(nodes.big.id)).capacity.memory_bytes, 3072 * MiB);
    assert.equal((await coord.node(nodes.small.id)).capacity.memory_bytes, 2048 * MiB);
  });

  const placed = [];

  test('instances go to the node with the most memory free (ties by name) until nothing fits', async () => {
    // Free memory (big, small) before each: 3072/2048 -> big; 2048/2048 -> big (name);
    // 1024/2048 -> small; 1024/1024 -> big; 0/1024 -> small. Requests without resources
    // reserve [placement] default_memory_mb = 1024.
    const got = [];
    for (let i = 0; i < 5; i++) {
      const r = await create();
      assert.equal(r.status, 202, r.text);
      got.push(r.body.instance.node_id);
      placed.push(r.body.instance);
    }
    const { big, small } = nodes;
    assert.deepEqual(got, [big.id, big.id, small.id, big.id, small.id]);

    conflict(await create(), new RegExp(
      `^no online node can take the instance \\(1024 MB memory, 1024 MB disk\\): ` +
      `big \\(${big.id}\\): 0 MB memory free; small \\(${small.id}\\): 0 MB memory free$`));
    conflict(await create({ resources: { memory_mb: 1 } }), /0 MB memory free/);
  });

  test('an explicit node is honoured but must fit', async () => {
    conflict(await create({ node: nodes.small.id, resources: { memory_mb: 64 } }),
      new RegExp(`^node small \\(${nodes.small.id}\\) cannot take the instance \\(64 MB memory, 1024 MB disk\\): 0 MB memory free$`));
    const unknown = await create({ node: 'nd_nope' });
    assert.equal(unknown.status, 400, unknown.text);
  });

  test('deleting an instance frees its room; concurrent creates take it once', async () => {
    const gone = placed.find((i) => i.node_id === nodes.small.id);
    const d = await coord.api('DELETE', `/api/v1/instances/${gone.id}`);
    assert.equal(d.status, 202, d.text);
    await waitFor('instance deleted', async () => (await coord.api('GET', `/api/v1/instances/${gone.id}`)).status === 404,
      { timeoutMs: 30000 });
    // 1024 MB free on small, none on big: of four creates at once, one is placed.
    const rs = await Promise.all([0, 1, 2, 3].map(() => create()));
    const ok = rs.filter((r) => r.status === 202);
    assert.equal(ok.length, 1, rs.map((r) => `${r.status} ${r.text}`).join('\n'));
    assert.equal(ok[0].body.instance.node_id, nodes.small.id);
    for (const r of rs.filter((x) => x.status !== 202)) conflict(r, /no online node can take the instance/);
  });

  test('a retried create that took the last room is answered again, not refused', async () => {
    const gone = placed.find((i) => i.node_id === nodes.big.id);
    assert.equal((await coord.api('DELETE', `/api/v1/instances/${gone.id}`)).status, 202);
    await waitFor('instance deleted', async () => (await coord.api('GET', `/api/v1/instances/${gone.id}`)).status === 404,
      { timeoutMs: 30000 });
    const key = 'placement-retry';
    const first = await create({}, { key });
    assert.equal(first.status, 202, first.text);
    assert.equal(first.body.instance.node_id, nodes.big.id);
    const again = await create({}, { key });
    assert.equal(again.status, 202, again.text);
    assert.equal(again.body.instance.id, first.body.instance.id);
  });
});
