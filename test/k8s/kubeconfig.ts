/** Pointing @kubernetes/client-node at the API test double: in process, or through a kubeconfig file. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

export function kubeConfigFor(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'test', server, skipTLSVerify: true }],
    users: [{ name: 'driftgate', token: 'sa-token' }],
    contexts: [{ name: 'test', cluster: 'test', user: 'driftgate' }],
    currentContext: 'test',
  });
  return kc;
}

/** A kubeconfig file for processes (and `KubeConfig.loadFromDefault`) that read $KUBECONFIG. */
export function writeKubeconfig(dir: string, server: string, token = 'sa-token'): string {
  const file = join(dir, 'kubeconfig');
  writeFileSync(
    file,
    `apiVersion: v1\nkind: Config\nclusters: [{name: test, cluster: {server: "${server}", insecure-skip-tls-verify: true}}]\nusers: [{name: driftgate, user: {token: ${token}}}]\ncontexts: [{name: test, context: {cluster: test, user: driftgate}}]\ncurrent-context: test\n`,
  );
  return file;
}
