/** Builders for AdmissionReview requests and objects, and access to the captured fixtures. */
import { readdirSync, readFileSync } from 'node:fs';
import type { AdmissionRequest, KubeObject, Operation } from '../../src/admission/types.ts';
import { decodeReview } from '../../src/admission/decode.ts';

export const FIXTURE_DIR = new URL('../fixtures/admission-reviews/', import.meta.url);

export function fixtureNames(): string[] {
  return readdirSync(FIXTURE_DIR).filter((f) => f.endsWith('.json')).sort();
}

export function fixtureText(name: string): string {
  return readFileSync(new URL(name, FIXTURE_DIR), 'utf8');
}

export function fixtureJson(name: string): { request: Record<string, unknown> } & Record<string, unknown> {
  return JSON.parse(fixtureText(name)) as { request: Record<string, unknown> } & Record<string, unknown>;
}

export function fixtureRequest(name: string, patch: (r: Record<string, unknown>) => void = () => {}): AdmissionRequest {
  const review = fixtureJson(name);
  patch(review.request);
  return decodeReview(review);
}

export const ALICE = { username: 'alice', groups: ['oncall', 'system:authenticated'] };
export const ARGO_CONTROLLER = 'system:serviceaccount:argocd:argocd-application-controller';
export const ARGO_SERVER = 'system:serviceaccount:argocd:argocd-server';
export const HPA = 'system:serviceaccount:kube-system:horizontal-pod-autoscaler';

type Mutable = Record<string, unknown>;

/** A Git-managed Deployment as Argo CD leaves it: tracking annotation and argocd-controller fields. */
export function deployment(over: { annotations?: Record<string, string>; labels?: Record<string, string>; memory?: string; image?: string; replicas?: number; managed?: boolean } = {}): Mutable {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'api',
      namespace: 'prod',
      uid: 'uid-1',
      resourceVersion: '100',
      generation: 3,
      labels: { app: 'api', ...(over.labels ?? {}) },
      annotations: { 'argocd.argoproj.io/tracking-id': 'payments:apps/Deployment:prod/api', ...(over.annotations ?? {}) },
      managedFields:
        over.managed === false
          ? []
          : [
              {
                manager: 'argocd-controller',
                operation: 'Apply',
                apiVersion: 'apps/v1',
                fieldsType: 'FieldsV1',
                fieldsV1: {
                  'f:metadata': { 'f:annotations': { 'f:argocd.argoproj.io/tracking-id': {} }, 'f:labels': { 'f:app': {} } },
                  'f:spec': {
                    'f:replicas': {},
                    'f:template': {
                      'f:spec': {
                        'f:containers': {
                          'k:{"name":"api"}': {
                            '.': {},
                            'f:name': {},
                            'f:image': {},
                            'f:resources': { 'f:limits': { 'f:memory': {} } },
                          },
                        },
                      },
                    },
                  },
                },
              },
            ],
    },
    spec: {
      replicas: over.replicas ?? 3,
      selector: { matchLabels: { app: 'api' } },
      template: {
        metadata: { labels: { app: 'api' } },
        spec: {
          containers: [
            {
              name: 'api',
              image: over.image ?? 'registry.example.com/api:1.2.0',
              resources: { limits: { memory: over.memory ?? '512Mi' } },
            },
          ],
        },
      },
    },
    status: { replicas: 3 },
  };
}

export interface RequestSpec {
  operation?: Operation;
  oldObject?: Mutable | null;
  object?: Mutable | null;
  user?: string;
  groups?: string[];
  namespace?: string;
  subResource?: string;
  dryRun?: boolean;
  kind?: { group: string; version: string; kind: string };
  resource?: { group: string; version: string; resource: string };
  uid?: string;
}

export function reviewJson(spec: RequestSpec): Record<string, unknown> {
  const obj = (spec.object ?? spec.oldObject ?? {}) as KubeObject;
  const md = (obj.metadata ?? {}) as { name?: string; namespace?: string };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: spec.uid ?? 'uid-test',
      kind: spec.kind ?? { group: 'apps', version: 'v1', kind: 'Deployment' },
      resource: spec.resource ?? { group: 'apps', version: 'v1', resource: 'deployments' },
      ...(spec.subResource ? { subResource: spec.subResource } : {}),
      name: md.name ?? 'api',
      namespace: spec.namespace ?? md.namespace ?? 'prod',
      operation: spec.operation ?? 'UPDATE',
      userInfo: { username: spec.user ?? ALICE.username, groups: spec.groups ?? ALICE.groups },
      object: spec.object === undefined ? null : spec.object,
      oldObject: spec.oldObject === undefined ? null : spec.oldObject,
      dryRun: spec.dryRun ?? false,
    },
  };
}

export function request(spec: RequestSpec): AdmissionRequest {
  return decodeReview(reviewJson(spec));
}

/** Loose view of an object for editing in tests. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests poke at arbitrary object shapes
type Loose = Mutable & { spec: any; metadata: any };

/** Deep copy with a change applied. */
export function edit(obj: Mutable, fn: (o: Loose) => void): Mutable {
  const copy = structuredClone(obj) as Loose;
  fn(copy);
  return copy;
}
