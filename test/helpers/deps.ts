/** Test dependencies: frozen clock, in-memory grants and tasks, a log sink tests can read. */
import { Writable } from 'node:stream';
import type { Clock, ReviewDeps } from '../../src/admission/review.ts';
import type { Grant, GrantSource } from '../../src/grants/grant.ts';
import { createLogger } from '../../src/log.ts';
import { loadExamplePolicy, parsePolicy } from '../../src/policy/load.ts';
import type { Policy } from '../../src/policy/policy.ts';
import type { TaskDraft, TaskRecorder } from '../../src/tasks/task.ts';

export const NOW = new Date('2026-11-24T12:00:00Z');
export const frozenClock = (at: Date = NOW): Clock => ({ now: () => at });

export const examplePolicy = (): Policy => loadExamplePolicy();
export const policyFrom = (yaml: string): Policy => parsePolicy(yaml, 'test.yaml');

export class LogSink {
  readonly lines: Record<string, unknown>[] = [];
  readonly stream = new Writable({
    write: (chunk: Buffer, _enc, cb) => {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) this.lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  get text(): string {
    return this.lines.map((l) => JSON.stringify(l)).join('\n');
  }
}

export class MemoryGrants implements GrantSource {
  readonly grants: Grant[];
  constructor(grants: Grant[] = []) {
    this.grants = grants;
  }
  activeGrants(namespace: string): readonly Grant[] {
    return this.grants.filter((g) => g.namespace === namespace);
  }

}

export class MemoryTasks implements TaskRecorder {
  readonly tasks = new Map<string, TaskDraft & { id: string }>();
  failWith: Error | undefined;
  async recordBypass(draft: TaskDraft): Promise<{ id: string }> {
    if (this.failWith) throw this.failWith;
    const existing = [...this.tasks.values()].find((t) => t.admissionUid === draft.admissionUid);
    if (existing) return { id: existing.id };
    const id = `task-${this.tasks.size + 1}`;
    this.tasks.set(id, { ...draft, id });
    return { id };
  }
}

export function grant(over: Partial<Grant> = {}): Grant {
  return {
    id: 'grant-1',
    requester: 'alice',
    subjects: { users: ['alice'], groups: [] },
    namespace: 'prod',
    resources: [{ group: 'apps', kind: 'Deployment', name: 'api' }],
    operations: ['UPDATE'],
    reason: 'hotfix',
    incident: 'INC-1',
    createdAt: '2026-11-24T11:30:00Z',
    notBefore: '2026-11-24T11:30:00Z',
    expiresAt: '2026-11-24T12:30:00Z',
    approvals: [],
    state: 'active',
    token: 'test',
    ...over,
  };
}

export function reviewDeps(over: Partial<ReviewDeps> & { sink?: LogSink } = {}): ReviewDeps {
  const policy = over.policy ? over.policy() : examplePolicy();
  return {
    policy: () => policy,
    clock: over.clock ?? frozenClock(),
    grants: over.grants ?? new MemoryGrants(),
    tasks: over.tasks ?? new MemoryTasks(),
    cluster: over.cluster,
    logger: over.logger ?? createLogger('debug', (over.sink ?? new LogSink()).stream),
  };
}
