/** Bypass tasks on a Deployment in prod as the webhook records them, with the landing evidence of the object as it is now. */
import type { Operation } from '../../src/admission/types.ts';
import type { TaskChange, TaskDraft } from '../../src/tasks/task.ts';

export interface LiveMeta {
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly generation?: number;
}

export interface BypassOf {
  /** the object before the write (absent for a create) */
  readonly live?: LiveMeta | undefined;
  /** the uid the API server gave a created object */
  readonly uid?: string;
  readonly change: TaskChange;
  readonly owner: string;
  readonly at: Date;
}

/** UPDATE: admitted against the live resourceVersion, making the next generation; DELETE: that resourceVersion. */
export function deploymentBypass(name: string, operation: Operation, b: BypassOf): TaskDraft {
  const live = operation === 'CREATE' ? undefined : b.live;
  const uid = b.uid ?? live?.uid;
  return {
    grantId: 'g-1',
    writer: { username: 'alice', groups: ['oncall'] },
    operation,
    object: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: 'prod',
      name,
      ...(uid ? { uid } : {}),
      ...(live?.resourceVersion ? { resourceVersion: live.resourceVersion } : {}),
      ...(operation === 'UPDATE' && live?.generation !== undefined ? { generation: live.generation + 1 } : {}),
    },
    owner: b.owner,
    changes: [b.change],
    admissionUid: `${name}-${operation}`,
    recordedAt: b.at.toISOString(),
  };
}
