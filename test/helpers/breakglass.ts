/** A real embedded store and key ring in a temporary directory, with a frozen clock. */
import { join } from 'node:path';
import { createLogger } from '../../src/log.ts';
import { KeyRing } from '../../src/keys/key-ring.ts';
import { EmbeddedStore } from '../../src/store/embedded-store.ts';
import { newGrant, type GrantRequest, type Identity } from '../../src/grants/rules.ts';
import type { Policy } from '../../src/policy/policy.ts';
import type { TaskDraft } from '../../src/tasks/task.ts';
import { examplePolicy, LogSink, NOW } from './deps.ts';
import { tempDir } from './tmp.ts';

export const ALICE_ID: Identity = { username: 'alice', groups: ['oncall'] };
export const BOB_LEAD: Identity = { username: 'bob', groups: ['sre-leads'] };

export const REQUEST: GrantRequest = {
  namespace: 'prod',
  resources: [{ group: 'apps', kind: 'Deployment', name: 'api' }],
  ttl: '30m',
  reason: 'OOM in INC-7',
  incident: 'INC-7',
};

export interface Fixture {
  dir: string;
  keys: KeyRing;
  store: EmbeddedStore;
  sink: LogSink;
  now: { value: Date };
  reopen(): Promise<EmbeddedStore>;
}

/**
 * Every store a fixture opens, closed when the test file's work is done (a test that reopens a store
 * to check a restart leaves the first one open); an unclosed journal FileHandle would be closed by the
 * garbage collector with Node's DEP0137 warning.
 */
const opened = new Set<EmbeddedStore>();
process.once('beforeExit', () => {
  for (const store of opened) void store.close().catch(() => undefined);
});
const track = (store: EmbeddedStore): EmbeddedStore => (opened.add(store), store);

export async function storeFixture(dir = tempDir('driftgate-store-')): Promise<Fixture> {
  const sink = new LogSink();
  const logger = createLogger('debug', sink.stream);
  const now = { value: NOW };
  const keys = await KeyRing.load(join(dir, 'keys'), NOW);
  const store = track(await EmbeddedStore.open(dir, keys, logger, () => now.value));
  return {
    dir,
    keys,
    store,
    sink,
    now,
    reopen: async () => track(await EmbeddedStore.open(dir, await KeyRing.load(join(dir, 'keys')), logger, () => now.value)),
  };
}

export function requestGrant(f: Fixture, req: Partial<GrantRequest> = {}, who: Identity = ALICE_ID, policy: Policy = examplePolicy(), id = 'g-test') {
  return f.store.createGrant(newGrant({ ...REQUEST, ...req }, who, policy, f.now.value, id));
}

/** A bypass task as the webhook records it (one changed field), for a given admission uid. */
export function taskDraft(uid: string): TaskDraft {
  return {
    grantId: 'g-1',
    writer: { username: 'alice', groups: ['oncall'] },
    operation: 'UPDATE',
    object: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'prod', name: 'api' },
    owner: 'argocd/payments',
    changes: [{ path: 'spec.replicas', before: 3, after: 5 }],
    admissionUid: uid,
    recordedAt: NOW.toISOString(),
  };
}
