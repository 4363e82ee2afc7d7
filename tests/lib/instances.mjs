// Instances through the public API, and the game client (minecraft-protocol) that checks them.
import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import { waitFor } from './harness.mjs';

const require = createRequire(import.meta.url);
const mc = require('minecraft-protocol');

/** POST /api/v1/instances with a fresh Idempotency-Key (or the given one). */
export function createInstance(coord, body, { key = randomUUID(), token } = {}) {
  return coord.api('POST', '/api/v1/instances', { body, headers: { 'idempotency-key': key }, ...(token ? { token } : {}) });
}

export async function getInstance(coord, id) {
  const r = await coord.api('GET', `/api/v1/instances/${id}`);
  return r.status === 200 ? r.body : undefined;
}

export function waitInstance(coord, id, pred, what, timeoutMs = 30000) {
  return waitFor(`instance ${id} ${what}`, async () => {
    const i = await getInstance(coord, id);
    return i && pred(i) ? i : undefined;
  }, { timeoutMs, intervalMs: 100 });
}

export const waitState = (coord, id, state, timeoutMs) =>
  waitInstance(coord, id, (i) => i.state === state, `state ${state}`, timeoutMs);

export async function waitOperation(coord, opId, timeoutMs = 30000) {
  return waitFor(`operation ${opId} done`, async () => {
    const r = await coord.api('GET', `/api/v1/operations/${opId}`);
    return ['succeeded', 'failed', 'cancelled', 'stale'].includes(r.body?.state) ? r.body : undefined;
  }, { timeoutMs, intervalMs: 100 });
}

export async function events(coord, id) {
  const r = await coord.api('GET', `/api/v1/instances/${id}/events`);
  return r.body.items;
}

export function power(coord, id, action) {
  return coord.api('POST', `/api/v1/instances/${id}/power`, { body: { action } });
}

/** A lifecycle job straight to the node (operator path), e.g. lifecycle.status. */
export async function nodeJob(coord, nodeId, kind, instanceId, params = {}) {
  return coord.api('POST', `/api/v1/nodes/${nodeId}/jobs`, { body: { kind, instance_id: instanceId, params, timeout_s: 60 } });
}

/** Server List Ping with the independent client: resolves to the status or throws. */
export function slp(address, timeoutMs = 5000) {
  const [host, port] = address.split(':');
  return mc.ping({ host, port: Number(port), closeTimeout: timeoutMs });
}
