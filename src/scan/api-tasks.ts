/**
 * Recorded tasks read through driftgate's own API (`GET /v1/tasks?namespace=`, `GET /v1/tasks/{id}`),
 * as `driftgate tasks` reads them: how a scan tells recorded drift from unrecorded when the tasks live
 * in a server's embedded journal. The caller sees the tasks the API lets it read (auditors and
 * approvers: all of them).
 */
import { call, type Connection } from '../cli/client.ts';
import type { Task, TaskSummary } from '../tasks/task.ts';
import type { TaskReader } from './ledger.ts';

export function apiTaskReader(c: Connection): TaskReader {
  return {
    listTasks: async (filter) => {
      const q = new URLSearchParams({ ...(filter.namespace ? { namespace: filter.namespace } : {}), ...(filter.state ? { state: filter.state } : {}) });
      return (await call<{ items: TaskSummary[] }>(c, 'GET', `/v1/tasks${q.size ? `?${q}` : ''}`)).items;
    },
    getTask: (id) => call<Task>(c, 'GET', `/v1/tasks/${encodeURIComponent(id)}`),
  };
}
