/**
 * Issue 11 item 4 on a real full filesystem: the embedded journal on a 256 KiB tmpfs, filled up
 * again and again, with restarts in between. Needs root (mount); elsewhere it is skipped and the
 * fault-injected file handle in test/unit/journal.test.ts covers the same paths.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { buildApp } from '../../src/app.ts';
import { devAuthenticator, issueDevToken } from '../../src/auth/authenticator.ts';
import { newGrant } from '../../src/grants/rules.ts';
import { KeyRing } from '../../src/keys/key-ring.ts';
import { createLogger } from '../../src/log.ts';
import { EmbeddedStore } from '../../src/store/embedded-store.ts';
import { ALICE_ID, REQUEST, taskDraft } from '../helpers/breakglass.ts';
import { examplePolicy, LogSink, NOW } from '../helpers/deps.ts';
import { fixtureText } from '../helpers/reviews.ts';
import { tempDir } from '../helpers/tmp.ts';

const mnt = tempDir('driftgate-tmpfs-');
const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]).status === 0;
const free = () => {
  const s = statfsSync(mnt);
  return s.bavail * s.bsize;
};
/** Fills the volume but `leave` bytes (a filler file in the data directory's volume). */
function fill(leave: number): void {
  const filler = join(mnt, 'filler');
  rmSync(filler, { force: true });
  const size = Math.max(free() - leave, 0);
  try {
    writeFileSync(filler, Buffer.alloc(size));
  } catch {
    // tmpfs rounds to pages: close enough
  }
}

describe('embedded store on a full disk (tmpfs)', { skip: mounted ? false : 'cannot mount a tmpfs here (needs root)' }, () => {
  const dataDir = join(mnt, 'data');
  const keysDir = join(tempDir('driftgate-fullkeys-'), 'keys'); // keys and anchor on another volume
  const sink = new LogSink();
  const policy = examplePolicy();
  let keys: KeyRing;
  const open = () => EmbeddedStore.open(dataDir, keys, createLogger('debug', sink.stream), () => NOW, { keysDir });

  before(async () => {
    mkdirSync(dataDir, { recursive: true });
    keys = await KeyRing.load(keysDir, NOW);
  });
  after(() => {
    spawnSync('umount', [mnt]);
  });

  it('loses no acknowledged bypass across repeated full-disk episodes and restarts; not ready and 503 while full, ready again after', async () => {
    const acknowledged: string[] = [];
    let uid = 0;
    let store = await open();
    await store.createGrant(newGrant({ ...REQUEST, ttl: '1h' }, ALICE_ID, policy, NOW, 'g-full'));
    for (let episode = 0; episode < 4; episode += 1) {
      fill(4096 + episode * 1500);
      let failures = 0;
      for (let i = 0; i < 200 && failures < 5; i += 1) {
        const batch = await Promise.allSettled(Array.from({ length: 4 }, () => store.recordBypass(taskDraft(`uid-${uid++}`))));
        for (const r of batch) {
          if (r.status === 'fulfilled') acknowledged.push(r.value.id);
          else {
            failures += 1;
            assert.equal((r.reason as { code?: string }).code, 'STORE_UNAVAILABLE');
          }
        }
      }
      assert.ok(failures > 0, `episode ${episode}: the disk filled up`);
      assert.match(store.notReady()[0] ?? '', /the last write failed .*ENOSPC/);

      const authenticator = await devAuthenticator(tempDir('driftgate-fullauth-'), () => NOW);
      const app = buildApp({
        review: { policy: () => policy, clock: { now: () => NOW }, grants: store, tasks: store, cluster: undefined, logger: createLogger('silent') },
        readiness: { notReady: () => store.notReady() },
        api: { store, policy: () => policy, clock: { now: () => NOW }, authenticator },
      });
      const ready = await request(app).get('/readyz');
      assert.equal(ready.status, 503);
      assert.match(ready.body.reasons[0], /free space on the volume/);
      const review = JSON.parse(fixtureText('10-alice-set-resources-deployment.json')) as { request: { uid: string } };
      review.request.uid = `full-${episode}`;
      const bypass = await request(app).post('/validate').set('content-type', 'application/json').send(JSON.stringify(review));
      assert.equal(bypass.body.response.allowed, false, 'a bypass that cannot be recorded is denied');
      assert.match(bypass.body.response.status.message, /could not be recorded/);

      rmSync(join(mnt, 'filler'), { force: true });
      assert.deepEqual(store.notReady(), [], 'space is back: ready');
      acknowledged.push((await store.recordBypass(taskDraft(`uid-${uid++}`))).id);
      await store.close();
      store = await open(); // restart
      assert.deepEqual(store.tampered, []);
      const missing = acknowledged.filter((id) => store.getTask(id) === undefined);
      assert.deepEqual(missing, [], `episode ${episode}: ${missing.length} of ${acknowledged.length} acknowledged tasks lost`);
    }
    assert.equal(store.listTasks({}).length, acknowledged.length, 'only acknowledged tasks are stored');
    await store.close();
    assert.doesNotMatch(readFileSync(join(dataDir, 'journal.jsonl'), 'utf8').slice(-1), /[^\n]/, 'the file ends on a whole record');
  });

  it('the grant API answers 503 with the reason while the store refuses writes', async () => {
    const store = await open();
    const authDir = tempDir('driftgate-fullauth-');
    const app = buildApp({
      review: { policy: () => policy, clock: { now: () => NOW }, grants: store, tasks: store, cluster: undefined, logger: createLogger('silent') },
      readiness: { notReady: () => store.notReady() },
      api: { store, policy: () => policy, clock: { now: () => NOW }, authenticator: await devAuthenticator(authDir, () => NOW) },
    });
    fill(512);
    const token = await issueDevToken(authDir, 'alice', ['oncall'], 3600, NOW);
    const body = { namespace: 'prod', resources: [{ group: 'apps', kind: 'Deployment', name: 'api' }], ttl: '30m', reason: 'OOM', incident: 'INC-7' };
    let res = await request(app).post('/v1/grants').set('authorization', `Bearer ${token}`).send(body);
    for (let i = 0; i < 50 && res.status === 201; i += 1) res = await request(app).post('/v1/grants').set('authorization', `Bearer ${token}`).send(body);
    assert.equal(res.status, 503);
    assert.equal(res.body.error.code, 'STORE_UNAVAILABLE');
    assert.match(res.body.error.message, /journal write failed, nothing was recorded: .*ENOSPC/);
    rmSync(join(mnt, 'filler'), { force: true });
    assert.equal((await request(app).post('/v1/grants').set('authorization', `Bearer ${token}`).send(body)).status, 201);
    await store.close();
  });
});
