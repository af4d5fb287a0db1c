import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.ts';
import { fileURLToPath } from 'node:url';
import { reviewCommand } from '../../src/cli/review-command.ts';
import { EXAMPLE_POLICY_URL } from '../../src/policy/load.ts';
import { EXPECTED } from '../helpers/expected.ts';
import { FIXTURE_DIR, fixtureJson, fixtureNames } from '../helpers/reviews.ts';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(name, FIXTURE_DIR));
const tmp = () => tempDir('driftgate-cli-');

function run(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', input, cwd: tmp(), env: { ...process.env, DRIFTGATE_CONFIG: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('driftgate review', () => {
  it('prints the AdmissionReview response and exits 1 for a denial', () => {
    const r = run(['review', fixture('09-alice-set-image-deployment.json')]);
    assert.equal(r.code, 1, r.stderr);
    const review = JSON.parse(r.stdout);
    assert.equal(review.kind, 'AdmissionReview');
    assert.equal(review.response.uid, fixtureJson('09-alice-set-image-deployment.json').request.uid);
    assert.equal(review.response.allowed, false);
  });

  it('exits 0 for an allowed review, reading standard input with -', () => {
    const r = run(['review', '-'], JSON.stringify(fixtureJson('16-alice-patch-status-subresource.json')));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).response.allowed, true);
  });

  it('exits 2 with a one-line reason for invalid input', () => {
    const r = run(['review', '-'], '{"apiVersion": "admission.k8s.io/v1"');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^driftgate: malformed AdmissionReview: invalid JSON/);
  });

  it('exits 2 for a missing file', () => {
    const r = run(['review', '/nonexistent.json']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cannot read \/nonexistent\.json/);
  });

  it('exits 2 and lists every problem for an invalid policy', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'p.yaml'), 'mode: loud\nunmanagedCreates: maybe\n');
    const r = run(['review', '--config', join(dir, 'p.yaml'), fixture('09-alice-set-image-deployment.json')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /2 problem\(s\)/);
    assert.match(r.stderr, /mode: Invalid option/);
    assert.match(r.stderr, /unmanagedCreates: Invalid option/);
  });

  it('uses the policy file it is given (audit mode allows with a warning)', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'p.yaml'), 'mode: audit\nprotectedNamespaces: [prod]\n');
    const r = run(['review', '--config', join(dir, 'p.yaml'), fixture('09-alice-set-image-deployment.json')]);
    assert.equal(r.code, 0);
    assert.match(JSON.parse(r.stdout).response.warnings[0], /would deny in enforce mode/);
  });

  it('exits 2 on a usage error', () => {
    const r = run(['review']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /missing required argument/);
  });
});

describe('driftgate review gives every captured review the decision SPEC says', () => {
  for (const name of fixtureNames()) {
    it(`${name}: exit ${EXPECTED[name]!.allowed ? 0 : 1}`, async () => {
      let stdout = '';
      const code = await reviewCommand(fixture(name), { config: fileURLToPath(EXAMPLE_POLICY_URL) }, { stdout: (s) => (stdout += s), stderr: () => {}, readStdin: () => '' });
      assert.equal(code, EXPECTED[name]!.allowed ? 0 : 1);
      assert.equal(JSON.parse(stdout).response.allowed, EXPECTED[name]!.allowed);
    });
  }
});

describe('driftgate diff', () => {
  const desired = fileURLToPath(new URL('../fixtures/diff/git/', import.meta.url));
  // `kubectl get deployment api -o json --show-managed-fields` of the object in 14-alice-dryrun-server-set-image
  const liveFile = () => fileURLToPath(new URL('../fixtures/diff/live/api.json', import.meta.url));

  it('classifies each difference between Git and live as JSON, and exits 1 when any is guarded', () => {
    const r = run(['diff', desired, liveFile(), '-o', 'json']);
    assert.equal(r.code, 1, r.stderr);
    const out = JSON.parse(r.stdout) as { objects: { ref: string; status: string; differences: { path: string; class: string; rule?: string }[] }[] };
    const deploy = out.objects.find((o) => o.ref === 'apps/v1 Deployment prod/api')!;
    const cls = (p: string) => deploy.differences.find((d) => d.path === p)?.class;
    assert.equal(cls('spec.template.spec.containers[name=api].image'), 'guarded');
    assert.equal(cls('metadata.labels.tier'), 'guarded');
    assert.equal(cls('metadata.annotations[oncall/ticket]'), 'guarded');
    assert.equal(cls('spec.replicas'), 'delegated');
    assert.equal(cls('spec.template.metadata.annotations[kubectl.kubernetes.io/restartedAt]'), 'allowance');
    assert.equal(cls('spec.revisionHistoryLimit'), 'guarded'); // set by kubectl-edit, owned in managedFields
    assert.equal(cls('spec.progressDeadlineSeconds'), 'runtime'); // API default: no manager owns it
    assert.equal(cls('metadata.resourceVersion'), 'runtime');
    assert.equal(cls('spec.template.spec.containers[name=api].ports[containerPort=8080,protocol=TCP].protocol'), undefined);
    assert.equal(out.objects.find((o) => o.ref.includes('ConfigMap prod/api-flags'))!.status, 'missing-live');
  });

  it('prints a readable report that hides runtime noise by default', () => {
    const r = run(['diff', desired, liveFile()]);
    assert.equal(r.code, 1);
    assert.ok(
      r.stdout.includes('  guarded    spec.template.spec.containers[name=api].image: "registry.example.com/api:1.2.0" → "registry.example.com/api:1.3.0"\n'),
      r.stdout,
    );
    assert.match(r.stdout, /delegated {2}spec\.replicas: 3 → 5 {2}\(hpa-replicas\)/);
    assert.match(r.stdout, /runtime difference\(s\) hidden/);
    assert.doesNotMatch(r.stdout, /resourceVersion/);
  });

  it('exits 0 when Git and live agree', () => {
    const dir = tmp();
    const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: prod}\ndata: {k: v}\n';
    writeFileSync(join(dir, 'git.yaml'), cm);
    writeFileSync(join(dir, 'live.yaml'), cm.replace('namespace: prod}', 'namespace: prod, resourceVersion: "9", uid: u}'));
    const r = run(['diff', join(dir, 'git.yaml'), join(dir, 'live.yaml')]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /no guarded differences/);
  });

  it('exits 2 with a reason for unreadable manifests', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'bad.yaml'), 'kind: [\n');
    const r = run(['diff', join(dir, 'bad.yaml'), join(dir, 'bad.yaml')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^driftgate: .*bad\.yaml: invalid YAML/);
  });
});

describe('driftgate certs', () => {
  it('certs init writes a CA and serving certificate and prints the CA bundle; certs show prints names and expiry', () => {
    const dir = tmp();
    const r = run(['certs', 'init', '--out', join(dir, 'c'), '--namespace', 'ops']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^-----BEGIN CERTIFICATE-----/);
    for (const key of ['ca.key', 'tls.key']) assert.equal(statSync(join(dir, 'c', key)).mode & 0o777, 0o600, `${key} must be private`);
    const s = run(['certs', 'show', '--dir', join(dir, 'c')]);
    assert.match(s.stdout, /driftgate\.ops\.svc, driftgate\.ops\.svc\.cluster\.local/);
    assert.match(s.stdout, /127\.0\.0\.1/);
  });

  it('rejects a bad --days value with a one-line reason', () => {
    const r = run(['certs', 'init', '--days', 'soon']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /must be a positive whole number/);
  });
});
