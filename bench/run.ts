/**
 * npm run bench: driftgate against the bare-Node floor, side by side, in one run (SPEC §9).
 *
 * Three servers, each in its own process (one core each at most: Node's event loop is one thread):
 *   floor       bare Node HTTPS, same TLS settings and body limit, reads and JSON.parses the body,
 *               answers a fixed allowed review: the least any webhook must do (the SPEC §9 ratio);
 *   floor-read  the same without JSON.parse (reported for transparency);
 *   driftgate   the compiled server (dist/, as the container runs it) with the example policy.
 * autocannon drives them at saturation from this process with keep-alive and the same connection
 * counts, the targets alternating round by round (order rotated each round) so that machine drift
 * cancels out. The fixed rates (500 and 1,000 req/s) are paced by bench/paced.ts: one request every
 * 2 ms (1 ms), latency counted from when the client set out to send it, so a stall is charged for the
 * queue behind it. autocannon's own rate limit sends each second's requests in a burst at the second's
 * start; that figure is printed too ("500 req/s in bursts"), for comparison with runs before 2026-11-26.
 * Bodies are the real Deployment reviews captured from kube-apiserver v1.32, allowed and denied mixed.
 * Figures are medians over the rounds. Nothing here is a test: no thresholds, only numbers.
 * Each saturation run also reads the server's CPU time from /proc (user + system, divided by the answers):
 * CPU per request, and its floor/driftgate ratio, do not move with the machine's other load as req/s
 * does; the share of a core each server was busy says whether the load generator, not the server, set
 * a saturation figure.
 *
 *   node bench/run.ts [--rounds 3] [--quick]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { generateCertificates, writeCertificates } from '../src/tls/certs.ts';
import { runDecisionBench } from './decide.ts';
import { adversarialCases, decideInProcess, timingLine, worstLine } from './adversarial.ts';
import { freePort, median, percentile } from './stats.ts';
import { paced } from './paced.ts';
import { processCpuMs, processMemory } from './proc.ts';
import { seedStore } from './seed.ts';
import { runScanBench, scanLine } from './scan.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FIXTURES = join(ROOT, 'test/fixtures/admission-reviews');

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, quick: { type: 'boolean', default: false } } });
const ROUNDS = args.quick ? 1 : Number(args.rounds);
const SAT_SECONDS = args.quick ? 3 : 5;
const RATE_SECONDS = args.quick ? 4 : 8;
const CONNECTIONS = 16;
/**
 * driftgate runs with the flags `npm start` and the image use: a capped young generation (without the
 * cap V8 keeps the semi-space it grew during the journal replay: RSS 280–320 MiB with 100k tasks instead
 * of 170–270), optimizing compilation on the main thread (background compile threads each keep
 * a malloc arena: ~10 MiB more RSS under load), and no Maglev (the mid-tier compiler: its code and
 * its compiles cost memory and CPU that TurboFan's code then replaces), none at a measurable
 * throughput cost (docs/benchmarks.md).
 */
const DRIFTGATE_NODE_FLAGS = ['--max-semi-space-size=8', '--no-concurrent-recompilation', '--no-maglev', '--no-parallel-scavenge'];
/**
 * glibc's malloc as the image sets it (Dockerfile ENV, npm start): two arenas for all threads, and freed
 * memory at the top of the heap above 128 KiB given back (a fixed threshold, which also keeps blocks of
 * 128 KiB and more out of the heap). ~2.5 MiB less RSS, idle and under load (docs/benchmarks.md).
 */
const GLIBC_TUNABLES = 'glibc.malloc.arena_max=2:glibc.malloc.trim_threshold=131072';

type TargetName = 'floor' | 'floor-read' | 'driftgate';

interface Target {
  readonly name: TargetName;
  /** fixed-rate runs too, or saturation only */
  readonly rates: boolean;
  readonly port: number;
  readonly proc: ChildProcess;
}

interface RateFigures {
  readonly rps: number;
  /** the server process's CPU time (user + system) per answered request, µs; NaN where /proc is not readable */
  readonly cpuUs: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly errors: number;
}

interface PacedRateFigures extends RateFigures {
  /** p99 from the due time: with the client's own timer lateness */
  readonly dueP99: number;
  readonly lateP99: number;
}

const bodies = readdirSync(FIXTURES)
  .filter((f) => /deployment\.json$|set-image\.json$|subresource\.json$/.test(f) && !f.startsWith('08-'))
  .map((f) => readFileSync(join(FIXTURES, f), 'utf8'));

function startProcess(args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  return spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** driftgate as the image runs it: its Node flags and its environment */
function startDriftgate(args: string[]): ChildProcess {
  return startProcess([...DRIFTGATE_NODE_FLAGS, 'dist/main.js', 'serve', ...args], { ...process.env, GLIBC_TUNABLES });
}

async function waitReady(port: number, ca: string): Promise<void> {
  for (let i = 0; i < 600; i += 1) {
    const ok = await new Promise<boolean>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/healthz', ca, servername: 'localhost' }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.end();
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`server on port ${port} did not become ready`);
}

function rssMiB(pid: number | undefined): { rss: number; peak: number } {
  const { rss, peak } = processMemory(pid);
  return { rss, peak };
}

async function load(t: Target, ca: string, seconds: number, rate?: number): Promise<RateFigures> {
  const times: number[] = [];
  const cpuBefore = processCpuMs(t.proc.pid);
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `https://127.0.0.1:${t.port}`,
        servername: 'localhost',
        tlsOptions: { ca },
        connections: rate ? 10 : CONNECTIONS,
        duration: seconds,
        ...(rate ? { overallRate: rate } : {}),
        requests: bodies.map((body) => ({ method: 'POST' as const, path: '/validate?timeout=5s', headers: { 'content-type': 'application/json' }, body })),
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    // autocannon's own histogram has 1 ms resolution; keep every response time for exact percentiles.
    instance.on('response', (_client, _status, _bytes, ms) => {
      times.push(ms);
    });
  });
  const cpu = (processCpuMs(t.proc.pid) - cpuBefore) * 1000; // µs
  times.sort((a, b) => a - b);
  return {
    rps: result.requests.total / result.duration,
    cpuUs: cpu / Math.max(1, times.length),
    p50: percentile(times, 50),
    p99: percentile(times, 99),
    max: times[times.length - 1] ?? 0,
    errors: result.errors + result.non2xx,
  };
}

/** A paced rate (bench/paced.ts) over 10 connections, with the server's CPU time per answer. */
async function pacedLoad(t: Target, ca: string, seconds: number, rate: number): Promise<PacedRateFigures> {
  const cpuBefore = processCpuMs(t.proc.pid);
  const r = await paced({ port: t.port, ca, rate, seconds, connections: 10, bodies });
  const cpu = (processCpuMs(t.proc.pid) - cpuBefore) * 1000; // µs
  return { rps: r.rps, cpuUs: cpu / Math.max(1, r.answered), p50: r.p50, p99: r.p99, max: r.max, errors: r.errors, dueP99: r.dueP99, lateP99: r.lateP99 };
}

async function configMapEndToEnd(port: number, ca: string): Promise<{ p50: number; p99: number; max: number; bodyMiB: number }> {
  const data: Record<string, string> = {};
  for (let k = 0; k < 1536; k += 1) data[`key-${k}`] = 'v'.repeat(1000);
  const cm = (d: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'big', namespace: 'prod', annotations: { 'argocd.argoproj.io/tracking-id': 'app:/ConfigMap:prod/big' } },
    data: d,
  });
  const body = JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'cm', kind: { group: '', version: 'v1', kind: 'ConfigMap' }, resource: { group: '', version: 'v1', resource: 'configmaps' },
      name: 'big', namespace: 'prod', operation: 'UPDATE', userInfo: { username: 'alice', groups: ['oncall'] },
      object: cm({ ...data, 'key-10': 'changed' }), oldObject: cm(data),
    },
  });
  const agent = new Agent({ keepAlive: true, ca });
  const times: number[] = [];
  for (let i = 0; i < 40; i += 1) {
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/validate', method: 'POST', agent, servername: 'localhost', headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end(body);
    });
    if (i >= 5) times.push(performance.now() - t0); // first few warm the JIT
  }
  agent.destroy();
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99), max: times[times.length - 1]!, bodyMiB: body.length / 1048576 };
}

const fmt = (n: number, d = 2) => n.toFixed(d);

interface RateSummary {
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

interface PacedSummary extends RateSummary {
  readonly dueP99Ms: number;
  readonly cpuUsPerRequest: number;
}

/** 10,000 grants and 100,000 tasks: seed, start driftgate on them, measure, stop. */
async function scaleScenario(dir: string, certs: string, ca: string) {
  const dataDir = join(dir, 'scale-data');
  let t0 = performance.now();
  await seedStore(dataDir, 10_000, 100_000);
  const seedSeconds = (performance.now() - t0) / 1000;
  const port = await freePort();
  t0 = performance.now();
  const proc = startDriftgate(['--config', 'examples/driftgate.yaml', '--host', '127.0.0.1', '--port', String(port), '--certs-dir', certs, '--data-dir', dataDir]);
  try {
    await waitReady(port, ca);
    const startSeconds = (performance.now() - t0) / 1000;
    await sleep(2000); // the start-up's own work settles (the first notification sweep, timers)
    const idleMiB = rssMiB(proc.pid);
    const t: Target = { name: 'driftgate', rates: true, port, proc };
    await load(t, ca, 2);
    const sat = await load(t, ca, SAT_SECONDS);
    const r500 = await pacedLoad(t, ca, RATE_SECONDS, 500);
    return { seedSeconds, startSeconds, sat, r500, idleMiB, memoryMiB: rssMiB(proc.pid) };
  } finally {
    proc.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  console.log(`driftgate bench: ${ROUNDS} round(s), node ${process.version}, ${cpus().length} cpu(s) ${cpus()[0]?.model ?? ''}`);
  console.log(`bodies: ${bodies.length} captured Deployment reviews (${Math.min(...bodies.map((b) => b.length))}–${Math.max(...bodies.map((b) => b.length))} bytes)\n`);

  const dir = mkdtempSync(join(tmpdir(), 'driftgate-bench-'));
  const certs = join(dir, 'certs');
  const bundle = generateCertificates({ service: 'driftgate', namespace: 'driftgate', days: 1 });
  writeCertificates(certs, bundle);
  const ca = bundle.caCert;
  const build = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build failed');
  const [floorPort, readPort, dgPort] = [await freePort(), await freePort(), await freePort()];
  const targets: Target[] = [
    { name: 'floor', rates: true, port: floorPort, proc: startProcess(['bench/floor.js', String(floorPort), certs, 'parse']) },
    { name: 'floor-read', rates: false, port: readPort, proc: startProcess(['bench/floor.js', String(readPort), certs, 'read']) },
    {
      name: 'driftgate',
      rates: true,
      port: dgPort,
      proc: startDriftgate(['--config', 'examples/driftgate.yaml', '--host', '127.0.0.1', '--port', String(dgPort), '--certs-dir', certs, '--data-dir', join(dir, 'data')]),
    },
  ];
  try {
    for (const t of targets) await waitReady(t.port, ca);
    // warm-up: 2 s left driftgate's first round 15–25 % above the others in CPU per request (its decision
    // code still being optimized); the floor has little to optimize
    for (const t of targets) await load(t, ca, args.quick ? 2 : 6);

    const runs = Object.fromEntries(targets.map((t) => [t.name, { sat: [] as RateFigures[], r500: [] as PacedRateFigures[], r1000: [] as PacedRateFigures[], burst500: [] as RateFigures[] }]));
    for (let round = 0; round < ROUNDS; round += 1) {
      const order = [...targets.slice(round % targets.length), ...targets.slice(0, round % targets.length)];
      for (const t of order) {
        runs[t.name]!.sat.push(await load(t, ca, SAT_SECONDS));
        if (!t.rates) continue;
        runs[t.name]!.r500.push(await pacedLoad(t, ca, RATE_SECONDS, 500));
        runs[t.name]!.r1000.push(await pacedLoad(t, ca, RATE_SECONDS, 1000));
        runs[t.name]!.burst500.push(await load(t, ca, RATE_SECONDS, 500));
      }
      process.stdout.write(`round ${round + 1}/${ROUNDS} done\n`);
    }
    // Memory after the load rounds; the 3 MiB reviews below leave large buffers V8 keeps for a while.
    const memoryAfterLoad = Object.fromEntries(targets.map((t) => [t.name, rssMiB(t.proc.pid)]));
    const cmE2E = await configMapEndToEnd(dgPort, ca);
    const cmFloor = await configMapEndToEnd(floorPort, ca);
    const scale = await scaleScenario(dir, certs, ca);
    const scan = await runScanBench(10_000);
    // In-process figures last: the hostile cases are ~250 MiB of 8 MiB strings, and the collections that
    // free them would otherwise pause this process, the load generator, during the latency rounds.
    const micro = runDecisionBench(args.quick ? 5_000 : 20_000);
    const adversarial = decideInProcess(adversarialCases(), args.quick ? 1 : 2);

    const summary = Object.fromEntries(
      targets.map((t) => {
        const r = runs[t.name]!;
        const m = <F extends RateFigures>(xs: F[], k: keyof F) => median(xs.map((x) => x[k] as number));
        const rateSummary = (xs: RateFigures[]): RateSummary => ({ rps: m(xs, 'rps'), p50Ms: m(xs, 'p50'), p99Ms: m(xs, 'p99'), maxMs: m(xs, 'max') });
        const pacedSummary = (xs: PacedRateFigures[]): PacedSummary => ({ ...rateSummary(xs), dueP99Ms: m(xs, 'dueP99'), cpuUsPerRequest: m(xs, 'cpuUs') });
        return [
          t.name,
          {
            saturationRps: m(r.sat, 'rps'),
            cpuUsPerRequest: m(r.sat, 'cpuUs'),
            satP99Ms: m(r.sat, 'p99'),
            at500: pacedSummary(r.r500),
            at1000: pacedSummary(r.r1000),
            at500Bursts: rateSummary(r.burst500),
            errors: [...r.sat, ...r.r500, ...r.r1000, ...r.burst500].reduce((n, x) => n + x.errors, 0),
            memoryMiB: memoryAfterLoad[t.name]!,
            memoryAfterConfigMapMiB: rssMiB(t.proc.pid),
          },
        ];
      }),
    ) as Record<TargetName, { saturationRps: number; cpuUsPerRequest: number; satP99Ms: number; at500: PacedSummary; at1000: PacedSummary; at500Bursts: RateSummary; errors: number; memoryMiB: { rss: number; peak: number }; memoryAfterConfigMapMiB: { rss: number; peak: number } }>;
    const ratio = summary.driftgate.saturationRps / summary.floor.saturationRps;
    const ratioRead = summary.driftgate.saturationRps / summary['floor-read'].saturationRps;
    const cpuRatio = summary.floor.cpuUsPerRequest / summary.driftgate.cpuUsPerRequest;

    console.log('\n                         floor      driftgate   target (SPEC §9)');
    const row = (label: string, f: string, d: string, target = '') => console.log(`${label.padEnd(24)} ${f.padStart(9)}  ${d.padStart(10)}   ${target}`);
    row('saturation req/s', fmt(summary.floor.saturationRps, 0), fmt(summary.driftgate.saturationRps, 0));
    row('ratio driftgate/floor', '', fmt(ratio * 100, 1) + ' %', '≥ 70 %');
    row('(floor without JSON.parse)', fmt(summary['floor-read'].saturationRps, 0), fmt(ratioRead * 100, 1) + ' %');
    row('CPU per request, µs', fmt(summary.floor.cpuUsPerRequest, 1), fmt(summary.driftgate.cpuUsPerRequest, 1));
    row('ratio of CPU per request', '', fmt(cpuRatio * 100, 1) + ' %', '(floor / driftgate: the ratio, robust to load)');
    // below ~90 % the load generator, not the server, set the saturation figure
    const busy = (t: TargetName) => fmt((summary[t].saturationRps * summary[t].cpuUsPerRequest) / 1e4, 0) + ' %';
    row('server CPU busy at saturation', busy('floor'), busy('driftgate'), '(of one core)');
    for (const [label, k] of [['500 req/s', 'at500'], ['1000 req/s', 'at1000'], ['500 req/s in bursts', 'at500Bursts']] as const) {
      row(`${label}: achieved`, fmt(summary.floor[k].rps, 0), fmt(summary.driftgate[k].rps, 0));
      row(`${label}: p50 ms`, fmt(summary.floor[k].p50Ms), fmt(summary.driftgate[k].p50Ms));
      row(`${label}: p99 ms`, fmt(summary.floor[k].p99Ms), fmt(summary.driftgate[k].p99Ms), k === 'at500' ? '≤ 5 ms (paced: one request every 2 ms)' : k === 'at500Bursts' ? "(autocannon's rate: each second's 500 sent at its start)" : '');
      row(`${label}: max ms`, fmt(summary.floor[k].maxMs), fmt(summary.driftgate[k].maxMs));
      if (k !== 'at500Bursts') {
        row(`${label}: p99 from due`, fmt(summary.floor[k].dueP99Ms), fmt(summary.driftgate[k].dueP99Ms), "(with the client's timer lateness)");
        row(`${label}: CPU µs/req`, fmt(summary.floor[k].cpuUsPerRequest, 1), fmt(summary.driftgate[k].cpuUsPerRequest, 1));
      }
    }
    row('RSS MiB (peak)', `${fmt(summary.floor.memoryMiB.rss, 0)} (${fmt(summary.floor.memoryMiB.peak, 0)})`, `${fmt(summary.driftgate.memoryMiB.rss, 0)} (${fmt(summary.driftgate.memoryMiB.peak, 0)})`, "≤ 256 MiB (the floor on Node's defaults; both under the same flags: bench:memory --floor)");
    row('  after 3 MiB reviews', `${fmt(summary.floor.memoryAfterConfigMapMiB.rss, 0)}`, `${fmt(summary.driftgate.memoryAfterConfigMapMiB.rss, 0)}`);
    row('errors / non-2xx', String(summary.floor.errors), String(summary.driftgate.errors));
    // The run-to-run spread: every figure above is a median over the rounds; the ratios are taken round by
    // round (floor and driftgate measured minutes apart in the same round).
    const span = (xs: readonly number[], d: number) => `${fmt(Math.min(...xs), d)}–${fmt(Math.max(...xs), d)}`;
    const of = (t: TargetName, k: 'sat' | 'r500' | 'r1000' | 'burst500', f: 'rps' | 'cpuUs' | 'p99') => runs[t]![k].map((x) => x[f]);
    const perRound = (f: (i: number) => number) => Array.from({ length: ROUNDS }, (_, i) => f(i));
    const spread = {
      ratio: perRound((i) => runs.driftgate!.sat[i]!.rps / runs.floor!.sat[i]!.rps),
      cpuRatio: perRound((i) => runs.floor!.sat[i]!.cpuUs / runs.driftgate!.sat[i]!.cpuUs),
      ...Object.fromEntries((['floor', 'driftgate'] as const).map((t) => [t, { saturationRps: of(t, 'sat', 'rps'), cpuUsPerRequest: of(t, 'sat', 'cpuUs'), at500P99Ms: of(t, 'r500', 'p99'), at1000P99Ms: of(t, 'r1000', 'p99'), at500BurstsP99Ms: of(t, 'burst500', 'p99') }])),
    } as { ratio: number[]; cpuRatio: number[]; floor: Record<string, number[]>; driftgate: Record<string, number[]> };
    console.log(`\nspread over the ${ROUNDS} round(s), min–max (the figures above are medians):`);
    row('saturation req/s', span(spread.floor.saturationRps!, 0), span(spread.driftgate.saturationRps!, 0));
    row('ratio driftgate/floor', '', `${span(spread.ratio.map((x) => x * 100), 1)} %`, '(round by round)');
    row('CPU per request, µs', span(spread.floor.cpuUsPerRequest!, 1), span(spread.driftgate.cpuUsPerRequest!, 1));
    row('ratio of CPU per request', '', `${span(spread.cpuRatio.map((x) => x * 100), 1)} %`, '(round by round)');
    row('500 req/s: p99 ms', span(spread.floor.at500P99Ms!, 2), span(spread.driftgate.at500P99Ms!, 2));
    row('1000 req/s: p99 ms', span(spread.floor.at1000P99Ms!, 2), span(spread.driftgate.at1000P99Ms!, 2));
    row('500 in bursts: p99 ms', span(spread.floor.at500BurstsP99Ms!, 2), span(spread.driftgate.at500BurstsP99Ms!, 2));
    console.log(`\n1.5 MiB ConfigMap update end to end (${fmt(cmE2E.bodyMiB)} MiB review over HTTPS), target: diffed in ≤ 20 ms`);
    console.log(`  driftgate p50 ${fmt(cmE2E.p50)} ms, p99 ${fmt(cmE2E.p99)} ms, max ${fmt(cmE2E.max)} ms`);
    console.log(`  floor     p50 ${fmt(cmFloor.p50)} ms, p99 ${fmt(cmFloor.p99)} ms, max ${fmt(cmFloor.max)} ms  (transport + JSON.parse alone)`);
    console.log(`\n10,000 active grants + 100,000 tasks in the store (seeded in ${fmt(scale.seedSeconds, 1)} s; start-up with replay and token checks ${fmt(scale.startSeconds, 1)} s):`);
    console.log(`  saturation ${fmt(scale.sat.rps, 0)} req/s, ${fmt(scale.sat.cpuUs, 1)} µs CPU per request (empty store: ${fmt(summary.driftgate.saturationRps, 0)}, ${fmt(summary.driftgate.cpuUsPerRequest, 1)} µs); 500 req/s (paced) p50 ${fmt(scale.r500.p50)} ms, p99 ${fmt(scale.r500.p99)} ms (empty store: ${fmt(summary.driftgate.at500.p99Ms)}); RSS idle ${fmt(scale.idleMiB.rss, 0)} MiB, after the load ${fmt(scale.memoryMiB.rss, 0)} MiB (peak ${fmt(scale.memoryMiB.peak, 0)})   target: unchanged within noise, ≤ 256 MiB (issue 17: ≤ 96 MiB)`);
    console.log(`\ndriftgate scan of the API double (issue 14; target: seconds, bounded memory):\n  ${scanLine(scan)}`);
    console.log('\ndecision alone (no HTTP, no TLS):');
    for (const r of micro) console.log(`  ${r.label.padEnd(84)} mean ${fmt(r.meanUs, 1)} µs, p99 ${fmt(r.p99Us, 1)} µs`);
    console.log('\nadversarial requests near the 8 MiB body limit, in-process: decide = decode + decide after the parse (npm run bench:adversarial: also over HTTPS):');
    for (const t of adversarial) console.log(timingLine(t));
    console.log(worstLine(adversarial));

    const machine = { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', memGiB: Math.round(totalmem() / 2 ** 30), node: process.version };
    console.log(JSON.stringify({ bench: { machine, rounds: ROUNDS, connections: CONNECTIONS, ...summary, ratio, ratioToReadOnlyFloor: ratioRead, cpuRatio, spread, configMap: cmE2E, configMapFloor: cmFloor, scale, scan, micro, adversarial } }));
  } finally {
    for (const t of targets) t.proc.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
