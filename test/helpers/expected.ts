/** What SPEC §2 says about each captured request, under the example policy (prod protected). */
export const EXPECTED: Record<string, { allowed: boolean; rule: string; why: string }> = {
  '01-alice-apply-create-deployment.json': { allowed: false, rule: 'unmanaged-create', why: 'a hand-made Deployment is orphan drift' },
  '02-alice-apply-update-deployment.json': { allowed: true, rule: 'not-gitops-owned', why: 'nothing marks it as GitOps-owned yet' },
  '04-alice-apply-serverside-argocd-force-1-update-deployment.json': { allowed: true, rule: 'not-gitops-owned', why: 'stored object has no GitOps marker; a field manager name is no pass, but no owner either' },
  '04-alice-apply-serverside-argocd-force-2-update-deployment.json': { allowed: true, rule: 'no-guarded-change', why: 'managedFields migration only' },
  '04-alice-apply-serverside-argocd-force-3-update-deployment.json': { allowed: true, rule: 'no-guarded-change', why: 'removes last-applied-configuration only (runtime)' },
  '05-alice-patch-strategic-deployment.json': { allowed: false, rule: 'guarded-change', why: 'pod-template annotation added by hand' },
  '06-alice-patch-json-deployment.json': { allowed: false, rule: 'guarded-change', why: 'revisionHistoryLimit patched' },
  '07-alice-edit-deployment.json': { allowed: false, rule: 'guarded-change', why: 'kubectl edit' },
  '08-alice-scale-deployment.json': { allowed: false, rule: 'guarded-change', why: 'kubectl scale by a human; fallback ownership' },
  '09-alice-set-image-deployment.json': { allowed: false, rule: 'guarded-change', why: 'kubectl set image' },
  '10-alice-set-resources-deployment.json': { allowed: false, rule: 'guarded-change', why: 'kubectl set resources' },
  '11-alice-annotate-deployment.json': { allowed: false, rule: 'guarded-change', why: 'kubectl annotate' },
  '12-alice-label-deployment.json': { allowed: false, rule: 'guarded-change', why: 'kubectl label' },
  '13-alice-rollout-restart-deployment.json': { allowed: true, rule: 'allowance', why: 'rollout restart allowance, with a warning' },
  '14-alice-dryrun-server-set-image.json': { allowed: false, rule: 'guarded-change', why: 'dry run gets the same decision' },
  '16-alice-patch-status-subresource.json': { allowed: true, rule: 'no-guarded-change', why: 'status is a runtime field' },
  '17-alice-create-configmap.json': { allowed: false, rule: 'unmanaged-create', why: 'hand-made ConfigMap' },
  '20-alice-create-secret.json': { allowed: false, rule: 'unmanaged-create', why: 'hand-made Secret' },
  '22-alice-delete-configmap.json': { allowed: true, rule: 'not-gitops-owned', why: 'deleting an object Git does not own' },
  '23-alice-delete-deployment.json': { allowed: false, rule: 'guarded-change', why: 'deleting a GitOps-owned Deployment' },
};

