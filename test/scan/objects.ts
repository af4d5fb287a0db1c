/**
 * Live objects with real managedFields shapes, built from the AdmissionReviews captured from
 * kube-apiserver v1.32 (test/fixtures/admission-reviews): kubectl edit / patch / annotate / set / label
 * / rollout entries, a kubectl scale entry (subresource scale, no time), a status-subresource entry,
 * Argo CD's server-side Apply; and, edited from those, Flux's kustomize-controller Apply, the HPA's
 * scale entry (kube-controller-manager, Update, subresource scale) and a client-side apply.
 */
import type { KubeObject } from '../../src/admission/types.ts';
import { fixtureJson } from '../helpers/reviews.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- editing captured objects in place
type Loose = Record<string, any>;

function captured(file: string, which: 'object' | 'oldObject'): Loose {
  return structuredClone(fixtureJson(file).request[which]) as Loose;
}

/** Argo CD owns it (argocd-controller Apply); then alice: scale, edit, patch, annotate, set image/resources, label, rollout restart, status patch. */
export function argoDeploymentEditedByHand(): KubeObject {
  return captured('23-alice-delete-deployment.json', 'oldObject') as KubeObject;
}

export const HPA_ENTRY = { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'apps/v1', time: '2026-11-24T21:40:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:replicas': {} } }, subresource: 'scale' };

/**
 * Flux owns it (kustomize-controller Apply, Flux labels); the HPA scaled it to 7; someone ran a
 * client-side `kubectl apply` with a hotfix image, which took the image field from Flux.
 */
export function fluxDeploymentWithHpaAndHotfix(): KubeObject {
  const o = captured('02-alice-apply-update-deployment.json', 'object');
  o.metadata.name = 'web';
  o.metadata.uid = '5f0c2d1e-0000-4000-8000-00000000f1c5';
  o.metadata.labels = { ...o.metadata.labels, 'kustomize.toolkit.fluxcd.io/name': 'apps', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' };
  delete o.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'];
  const flux = o.metadata.managedFields[0];
  flux.manager = 'kustomize-controller';
  flux.operation = 'Apply';
  flux.fieldsV1['f:metadata']['f:labels']['f:kustomize.toolkit.fluxcd.io/name'] = {};
  flux.fieldsV1['f:metadata']['f:labels']['f:kustomize.toolkit.fluxcd.io/namespace'] = {};
  delete flux.fieldsV1['f:metadata']['f:annotations'];
  delete flux.fieldsV1['f:spec']['f:replicas'];
  delete flux.fieldsV1['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"api"}']['f:image'];
  o.spec.replicas = 7;
  o.spec.template.spec.containers[0].image = 'registry.example.com/api:hotfix';
  o.metadata.managedFields.push(HPA_ENTRY, {
    manager: 'kubectl-client-side-apply',
    operation: 'Update',
    apiVersion: 'apps/v1',
    time: '2026-11-24T22:00:00Z',
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:spec': { 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"api"}': { 'f:image': {} } } } } } },
  });
  return o as KubeObject;
}

/** `kubectl create configmap api-config --from-literal=LOG_LEVEL=info`: made by hand. */
export function handMadeConfigMap(): KubeObject {
  return captured('17-alice-create-configmap.json', 'object') as KubeObject;
}

/** `kubectl create secret generic api-secret --from-literal=password=s3cr3t-alice`: made by hand. */
export function handMadeSecret(): KubeObject {
  return captured('20-alice-create-secret.json', 'object') as KubeObject;
}

export const SECRET_PLAIN = 's3cr3t-alice';
export const SECRET_BASE64 = 'czNjcjN0LWFsaWNl';

/** The same Secret owned by Argo CD, whose password alice then changed with kubectl edit. */
export function argoSecretEditedByHand(): KubeObject {
  const o = captured('20-alice-create-secret.json', 'object');
  o.metadata.name = 'db';
  o.metadata.uid = '9a1b2c3d-0000-4000-8000-0000000000db';
  o.metadata.annotations = { 'argocd.argoproj.io/tracking-id': 'payments:/Secret:prod/db' };
  o.metadata.managedFields = [
    { manager: 'argocd-controller', operation: 'Apply', apiVersion: 'v1', time: '2026-11-24T21:32:41Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:annotations': { 'f:argocd.argoproj.io/tracking-id': {} } }, 'f:type': {} } },
    { manager: 'kubectl-edit', operation: 'Update', apiVersion: 'v1', time: '2026-11-24T21:50:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { '.': {}, 'f:password': {} } } },
  ];
  return o as KubeObject;
}

/** What the namespace controller puts into every namespace. */
export function rootCaConfigMap(namespace = 'prod'): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'kube-root-ca.crt',
      namespace,
      uid: '0d7e0000-0000-4000-8000-000000000ca1',
      managedFields: [{ manager: 'kube-controller-manager', operation: 'Update', fieldsV1: { 'f:data': { '.': {}, 'f:ca.crt': {} } } }],
    },
    data: { 'ca.crt': '-----BEGIN CERTIFICATE-----' },
  };
}

export const list = (...items: KubeObject[]) => ({ apiVersion: 'v1', kind: 'List', items });
