/**
 * npm run bench:memory: the served process's memory (issue 17), as the bench's scale scenario drives it.
 *
 * The compiled server (dist/, as the image runs it, with the image's Node flags) is started on an empty
 * data directory and on one seeded with 10,000 grants and 100,000 tasks (bench/seed.ts), then loaded
 * with the captured Deployment reviews: 2 s of warm-up, saturation (16 connections), then 500 req/s
 * (10 connections, paced by bench/paced.ts; before 2026-11-26 autocannon's per-second bursts). Reported per store: VmRSS 2 s after /healthz ("idle"), VmRSS after the load, the
 * peak (VmHWM), the anonymous and file-backed parts of RSS after the load, and the server's own CPU
 * time (utime + stime from /proc/<pid>/stat) over the saturation phase divided by the requests it
 * answered, which the other load on a shared machine disturbs far less than req/s; and the p50 and p99
 * latency of the paced 500 req/s phase.
 *
 * Every run starts a fresh process on a fresh copy of the seeded directory. With several --dist
 * directories (builds to compare) the order rotates run by run, so drift on the machine spreads over
 * all of them. Medians and the run-to-run range; no thresholds, only numbers.
 *
 *   node bench/memory.ts [--runs 3] [--store empty|full|both] [--dist DIR ...] [--flags="--a --b" ...] [--floor] [--saturation SECONDS] [--quick]
 *
 * Without --dist it builds dist/ first (tsc -p tsconfig.build.json). --flags replaces the Node flags
 * and the environment (default: the image's; NAME=value words are set in the server's environment;
 * given several times, every build runs with each set, the sets alternating like the builds). --floor
 * also measures bench/floor.js (a bare Node HTTPS server that parses each review and answers a fixed
 * one) under the same load and flags, once per run, and prints each build's RSS above it: what driftgate
 * itself holds, apart from what Node, TLS and the load hold in any server. Load average is printed
 * before and after: measure on a quiet machine.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { generateCertificates, writeCertificates } from '../src/tls/certs.ts';
import { seedStore } from './seed.ts';
import { freePort, median } from './stats.ts';
import { paced } from './paced.ts';
import { processCpuMs, processMemory } from './proc.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FIXTURES = join(ROOT, 'test/fixtures/admission-reviews');
/** The flags of `npm start`, the image's entry point and bench/run.ts. */
const IMAGE_FLAGS = ['--max-semi-space-size=8', '--no-concurrent-recompilation', '--no-maglev', '--no-parallel-scavenge'];
/** glibc's malloc settings of the image's environment (Dockerfile ENV, npm start, bench/run.ts). */
const GLIBC_TUNABLES = 'glibc.malloc.arena_max=2:glibc.malloc.trim_threshold=131072';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    store: { type: 'string', default: 'both' },
    dist: { type: 'string', multiple: true },
    flags: { type: 'string', multiple: true },
    quick: { type: 'boolean', default: false },
    saturation: { type: 'string' },
    floor: { type: 'boolean', default: false },
  },
});
const RUNS = Number(args.runs);
const WARM_SECONDS = 2;
const SAT_SECONDS = args.saturation ? Number(args.saturation) : args.quick ? 3 : 5;
const RATE_SECONDS = args.quick ? 4 : 8;
/** Each --flags set: Node flags, and NAME=value words as the server's environment (default: the image's). */
const FLAG_SETS = (args.flags ?? [[...IMAGE_FLAGS, `GLIBC_TUNABLES=${GLIBC_TUNABLES}`].join(' ')]).map((f) => f.split(/\s+/).filter(Boolean));
const isEnv = (word: string) => /^[A-Z_][A-Z0-9_]*=/.test(word);
const envOf = (words: readonly string[]) => Object.fromEntries(words.filter(isEnv).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]));
const STORES = args.store === 'both' ? (['empty', 'full'] as const) : ([args.store] as const);
if (!STORES.every((s) => s === 'empty' || s === 'full') || !(RUNS > 0)) throw new Error('usage: --store empty|full|both, --runs N (N >= 1)');

const bodies = readdirSync(FIXTURES)
  .filter((f) => /deployment\.json$|set-image\.json$|subresource\.json$/.test(f) && !f.startsWith('08-'))
  .map((f) => readFileSync(join(FIXTURES, f), 'utf8'));

interface Sample {
  readonly idleMiB: number;
  readonly afterMiB: number;
  readonly peakMiB: number;
  readonly anonMiB: number;
  readonly fileMiB: number;
  readonly cpuMsPerRequest: number;
  readonly saturationRps: number;
  /** latency at the paced 500 req/s, ms */
  readonly p50Ms: number;
  readonly p99Ms: number;
}

function healthy(port: number, ca: string): Promise<boolean> {
  return new Promise((done) => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz', ca, servername: 'localhost' }, (res) => {
      res.resume();
      done(res.statusCode === 200);
    });
    req.on('error', () => done(false));
    req.end();
  });
}

async function drive(port: number, ca: string, seconds: number): Promise<number> {
  const result = await new Promise<autocannon.Result>((done, fail) => {
    autocannon(
      {
        url: `https://127.0.0.1:${port}`,
        servername: 'localhost',
        tlsOptions: { ca },
        connections: 16,
        duration: seconds,
        requests: bodies.map((body) => ({ method: 'POST' as const, path: '/validate?timeout=5s', headers: { 'content-type': 'application/json' }, body })),
      },
      (err, res) => (err ? fail(err) : done(res)),
    );
  });
  if (result.errors + result.non2xx > 0) throw new Error(`${result.errors} errors, ${result.non2xx} non-2xx answers`);
  return result.requests.total;
}

function exited(proc: ChildProcess): Promise<void> {
  return proc.exitCode !== null || proc.signalCode !== null ? Promise.resolve() : new Promise((done) => proc.once('exit', () => done()));
}

interface Variant {
  /** a build's directory, or FLOOR for bench/floor.js */
  readonly dist: string;
  readonly flags: readonly string[];
  readonly label: string;
}

const FLOOR = 'floor';

async function measure({ dist, flags }: Variant, dataDir: string, certs: string, ca: string): Promise<Sample> {
  const port = await freePort();
  const serve = dist === FLOOR
    ? [join(ROOT, 'bench/floor.js'), String(port), certs, 'parse']
    : [join(dist, 'main.js'), 'serve', '--config', join(ROOT, 'examples/driftgate.yaml'), '--host', '127.0.0.1', '--port', String(port), '--certs-dir', certs, '--data-dir', dataDir];
  const proc = spawn(process.execPath, [...flags.filter((w) => !isEnv(w)), ...serve], {
    cwd: ROOT,
    env: { ...process.env, ...envOf(flags) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    let up = false;
    for (let i = 0; i < 600 && !up && proc.exitCode === null; i += 1) {
      up = await healthy(port, ca);
      if (!up) await sleep(100);
    }
    if (!up) throw new Error(`the server in ${dist} did not answer /healthz`);
    await sleep(2000); // start-up's own work settles, as in bench/run.ts
    const pid = proc.pid!;
    const idle = processMemory(pid);
    await drive(port, ca, WARM_SECONDS);
    const cpu0 = processCpuMs(pid);
    const requests = await drive(port, ca, SAT_SECONDS);
    const cpu = processCpuMs(pid) - cpu0;
    const rated = await paced({ port, ca, rate: 500, seconds: RATE_SECONDS, connections: 10, bodies });
    if (rated.errors > 0) throw new Error(`${rated.errors} errors or non-2xx answers at 500 req/s`);
    const after = processMemory(pid);
    return { idleMiB: idle.rss, afterMiB: after.rss, peakMiB: after.peak, anonMiB: after.anon, fileMiB: after.file, cpuMsPerRequest: cpu / requests, saturationRps: requests / SAT_SECONDS, p50Ms: rated.p50, p99Ms: rated.p99 };
  } finally {
    proc.kill('SIGTERM');
    await exited(proc);
  }
}

const range = (xs: readonly number[], digits: number) => {
  const f = (n: number) => n.toFixed(digits);
  return `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
};

async function main(): Promise<void> {
  let dists = (args.dist ?? []).map((d) => resolve(d));
  if (dists.length === 0) {
    const build = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
    if (build.status !== 0) throw new Error('npm run build failed');
    dists = [join(ROOT, 'dist')];
  }
  const dir = mkdtempSync(join(tmpdir(), 'driftgate-memory-'));
  try {
    const certs = join(dir, 'certs');
    const bundle = generateCertificates({ service: 'driftgate', namespace: 'driftgate', days: 1 });
    writeCertificates(certs, bundle);
    if (STORES.includes('full')) await seedStore(join(dir, 'seed-full'), 10_000, 100_000);
    const builds = args.floor ? [...dists, FLOOR] : dists;
    const variants: Variant[] = builds.flatMap((dist) => FLAG_SETS.map((flags) => ({ dist, flags, label: `${dist === FLOOR ? 'floor (bench/floor.js)' : dist} ${flags.join(' ') || '(no flags)'}` })));
    console.log(`bench:memory, node ${process.version}, ${RUNS} run(s), load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    /** every run's samples, by store and variant (key: `store<TAB>label`, as in the JSON line) */
    const measured = new Map<string, { readonly store: string; readonly variant: Variant; readonly samples: Sample[] }>();
    const storeName = (store: string, variant: Variant) => (variant.dist === FLOOR ? '(none)' : store === 'full' ? '10k grants + 100k tasks' : 'empty');
    for (let run = 0; run < RUNS; run += 1) {
      const order = [...variants.slice(run % variants.length), ...variants.slice(0, run % variants.length)];
      for (const store of STORES) {
        for (const variant of order) {
          if (variant.dist === FLOOR && store !== STORES[0]) continue; // the floor keeps no store: once per run
          const dataDir = join(dir, `data-${run}-${store}`);
          rmSync(dataDir, { recursive: true, force: true });
          if (store === 'full') cpSync(join(dir, 'seed-full'), dataDir, { recursive: true });
          const s = await measure(variant, dataDir, certs, bundle.caCert);
          rmSync(dataDir, { recursive: true, force: true });
          const key = `${store}\t${variant.label}`;
          if (!measured.has(key)) measured.set(key, { store, variant, samples: [] });
          measured.get(key)!.samples.push(s);
          console.log(`run ${run + 1} ${store.padEnd(5)} ${variant.label}: idle ${s.idleMiB.toFixed(1)}, after ${s.afterMiB.toFixed(1)} (anon ${s.anonMiB.toFixed(1)}, file ${s.fileMiB.toFixed(1)}), peak ${s.peakMiB.toFixed(1)} MiB; ${s.cpuMsPerRequest.toFixed(3)} ms CPU/request, ${s.saturationRps.toFixed(0)} req/s; 500 req/s p50 ${s.p50Ms.toFixed(2)} p99 ${s.p99Ms.toFixed(2)} ms`);
        }
      }
    }
    console.log(`\nload average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; median (min–max) of ${RUNS} run(s); RSS in MiB`);
    console.log(['store', 'RSS idle', 'RSS after load', 'anon', 'file', 'peak', 'CPU ms/request', 'req/s', '500 req/s p50 ms', 'p99 ms', 'build and flags'].join(' | '));
    for (const { store, variant, samples: xs } of measured.values()) {
      const col = (k: keyof Sample, d = 1) => range(xs.map((x) => x[k]), d);
      console.log([storeName(store, variant), col('idleMiB'), col('afterMiB'), col('anonMiB'), col('fileMiB'), col('peakMiB'), col('cpuMsPerRequest', 3), col('saturationRps', 0), col('p50Ms', 2), col('p99Ms', 2), variant.label].join(' | '));
    }
    if (args.floor) {
      // each build's median RSS above the floor's median under the same flags (the same FLAG_SETS entry)
      const floors = [...measured.values()].filter((m) => m.variant.dist === FLOOR);
      console.log("\nabove the floor (median RSS minus the floor's under the same flags), MiB: idle / after the load");
      for (const { store, variant, samples: xs } of measured.values()) {
        const floor = variant.dist === FLOOR ? undefined : floors.find((f) => f.variant.flags === variant.flags)?.samples;
        if (!floor) continue;
        const above = (k: keyof Sample) => (median(xs.map((x) => x[k])) - median(floor.map((x) => x[k]))).toFixed(1);
        console.log(`  ${storeName(store, variant)}: +${above('idleMiB')} / +${above('afterMiB')}  ${variant.label}`);
      }
    }
    console.log(JSON.stringify({ memory: { runs: RUNS, loadavg: loadavg(), samples: Object.fromEntries([...measured].map(([key, m]) => [key, m.samples])) } }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
