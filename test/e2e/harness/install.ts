/**
 * driftgate installed as deploy/ ships it: `kubectl apply -k deploy/overlays/ha`, then replicas that run
 * here (there is no kubelet) as the driftgate ServiceAccount, with the Kubernetes store and
 * self-managed certificates, exactly as the Deployment's arguments say.
 */
import { join } from 'node:path';
import { freePort, ROOT, type Cluster } from './cluster.ts';
import { Driftgate, registerWebhook } from './driftgate.ts';
import { unmanagedCreateIsDenied } from './fixtures.ts';

/** Applies the ha overlay (failing on any error) and waits for its CRDs. */
export function applyOverlay(cluster: Cluster): void {
  cluster.ok(['apply', '-k', join(ROOT, 'deploy', 'overlays', 'ha')]);
  cluster.ok(['wait', '--for=condition=Established', 'crd/breakglassgrants.driftgate.io', 'crd/drifttasks.driftgate.io', '--timeout=30s']);
}

/**
 * driftgate with the embedded store and the policy deploy/base ships, in WORK, started and registered as
 * the cluster's webhook (ready once a hand-made ConfigMap is denied). Stopped again if either step fails.
 */
export async function embeddedGate(cluster: Cluster, work: string, extraArgs: readonly string[] = []): Promise<Driftgate> {
  const dg = new Driftgate({
    port: await freePort(),
    dataDir: join(work, 'data'),
    certsDir: join(work, 'certs'),
    config: join(ROOT, 'deploy', 'base', 'driftgate.yaml'),
    args: ['--store=embedded', ...extraArgs],
    kubeconfig: cluster.kubeconfig,
  });
  try {
    await dg.start();
    await registerWebhook(cluster, dg, () => unmanagedCreateIsDenied(cluster));
  } catch (err) {
    await dg.stop();
    throw err;
  }
  return dg;
}

/** A replica (not started) in WORK/NAME, authenticating with the ServiceAccount kubeconfig. */
export async function replica(work: string, name: string, kubeconfig: string): Promise<Driftgate> {
  return new Driftgate({
    port: await freePort(),
    dataDir: join(work, name, 'data'),
    certsDir: join(work, name, 'certs'),
    config: join(ROOT, 'deploy', 'base', 'driftgate.yaml'),
    args: ['--store=kubernetes', '--store-namespace=driftgate', '--certs-mode=self-managed'],
    kubeconfig,
  });
}
