/**
 * Live evidence for `tasks verify` read from the cluster instead of a dump: each task's object, read
 * with the kubeconfig context as `kubectl get` would. An object the API server does not have is
 * absent live (evidence too: a hand-made object was removed); any other failure stops the command.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../admission/types.ts';
import { DriftgateError, errorMessage } from '../errors.ts';
import type { SourcedObject } from '../manifests/read.ts';
import type { Task } from '../tasks/task.ts';

export async function liveObjectsOf(kc: KubeConfig, tasks: readonly Task[]): Promise<SourcedObject[]> {
  const { KubernetesObjectApi } = await import('@kubernetes/client-node');
  const api = KubernetesObjectApi.makeApiClient(kc);
  const source = `the cluster (context ${kc.getCurrentContext()})`;
  const out: SourcedObject[] = [];
  const read = new Set<string>();
  for (const t of tasks) {
    const { apiVersion, kind, namespace, name } = t.object;
    const ref = `${apiVersion}|${kind}|${namespace}|${name}`;
    if (read.has(ref)) continue;
    read.add(ref);
    try {
      const object = await api.read({ apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } });
      out.push({ object: object as unknown as KubeObject, source });
    } catch (err) {
      if ((err as { code?: number }).code === 404) continue;
      throw new DriftgateError(
        'INPUT_INVALID',
        `cannot read ${kind} ${namespace ? `${namespace}/` : ''}${name} from ${source}: ${errorMessage(err).split('\n')[0]}; check the context and your read access, or pass --live with kubectl get -o yaml output`,
      );
    }
  }
  return out;
}
