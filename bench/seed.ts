/**
 * Seeds a data directory for the scale scenario (SPEC §9): N signed grants and M tasks written through
 * the real journal and key ring, as a long-running installation would have accumulated them.
 * 200 of the grants are in `prod` for other Deployments, so every decision on prod/api scans them.
 */
import { join } from 'node:path';
import type { Grant } from '../src/grants/grant.ts';
import { signGrant } from '../src/grants/token.ts';
import { KeyRing } from '../src/keys/key-ring.ts';
import { loadChainKey } from '../src/keys/journal-key.ts';
import { ANCHOR_FILE, JOURNAL_FILE } from '../src/store/embedded-store.ts';
import { Journal } from '../src/store/journal.ts';
import type { Task } from '../src/tasks/task.ts';

export async function seedStore(dataDir: string, grants: number, tasks: number, now = new Date()): Promise<void> {
  const keys = await KeyRing.load(join(dataDir, 'keys'), now);
  const keysDir = join(dataDir, 'keys');
  const { journal } = await Journal.open(join(dataDir, JOURNAL_FILE), { key: loadChainKey(keysDir, true), anchorFile: join(keysDir, ANCHOR_FILE) });
  const iso = now.toISOString();
  const expires = new Date(now.getTime() + 4 * 3600_000).toISOString();
  const CHUNK = 2000;
  for (let start = 0; start < grants; start += CHUNK) {
    const batch: Promise<unknown>[] = [];
    for (let i = start; i < Math.min(grants, start + CHUNK); i += 1) {
      const unsigned: Omit<Grant, 'token'> = {
        id: `g-seed${i}`,
        requester: `user${i % 50}`,
        subjects: { users: [`user${i % 50}`], groups: [] },
        namespace: i < 200 ? 'prod' : `ns-${i % 500}`,
        resources: [{ group: 'apps', kind: 'Deployment', name: `svc-${i}` }],
        operations: ['UPDATE'],
        reason: 'seeded for the scale benchmark',
        incident: `INC-${i}`,
        createdAt: iso,
        notBefore: iso,
        expiresAt: expires,
        approvals: [],
        state: 'active',
      };
      batch.push(signGrant(unsigned, keys).then((token) => journal.append('grant.requested', { grant: { ...unsigned, token } })));
    }
    await Promise.all(batch);
  }
  for (let start = 0; start < tasks; start += CHUNK) {
    const batch: Promise<unknown>[] = [];
    for (let i = start; i < Math.min(tasks, start + CHUNK); i += 1) {
      const task: Task = {
        id: `t-seed${i}`,
        grantId: `g-seed${i % grants}`,
        incident: `INC-${i % grants}`,
        writer: { username: `user${i % 50}`, groups: ['oncall'] },
        operation: 'UPDATE',
        object: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: `ns-${i % 500}`, name: `svc-${i % grants}`, uid: `uid-${i}` },
        owner: `argocd/app-${i % 300}`,
        changes: [{ path: 'spec.template.spec.containers[name=app].resources.limits.memory', before: '512Mi', after: '2Gi', declaredInGit: true }],
        admissionUid: `seed-${i}`,
        recordedAt: iso,
        state: 'pending',
      };
      batch.push(journal.append('task.recorded', { task }));
    }
    await Promise.all(batch);
  }
  await journal.close();
}
