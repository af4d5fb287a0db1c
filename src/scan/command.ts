/**
 * `driftgate scan`: find the drift that got past the gate, in a live cluster (the kubeconfig's) or in
 * `kubectl get -o json` dumps. Exit 0 clean, 1 when guarded drift, an orphan or a missing object is
 * found, 2 on bad input. Progress goes to stderr, the report to stdout.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { KubeConfig } from '@kubernetes/client-node';
import { CliExit } from '../cli/exit.ts';
import { errorMessage } from '../errors.ts';
import { parseDuration } from '../util/duration.ts';
import { createLogger } from '../log.ts';
import { readManifests } from '../manifests/read.ts';
import { loadFromSource, resolvePolicySource } from '../policy/source.ts';
import type { Policy } from '../policy/policy.ts';
import type { BreakGlassStore } from '../store/store.ts';
import { resolveConnection } from '../cli/client.ts';
import { apiTaskReader } from './api-tasks.ts';
import { DesiredIndex } from './desired.ts';
import type { TaskReader } from './ledger.ts';
import { DEFAULT_CONTROLLER_MANAGERS, DEFAULT_KINDS, parseScanKind, type ScanKind } from './kinds.ts';
import { livePages, protectedNamespaces } from './live-source.ts';
import { renderScan, type ScanFormat } from './render.ts';
import { runScan, type ScanInput, type ScanPage } from './run.ts';
import { isDrift, type ScanResult } from './types.ts';

type Out = { stdout: (s: string) => void; stderr: (s: string) => void };

export interface ScanOptions {
  readonly config?: string;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly namespace?: string[];
  readonly kind?: string[];
  readonly desired?: string;
  readonly controllerManager?: string[];
  readonly output: ScanFormat;
  readonly showAll?: boolean;
  readonly pageSize: number;
  readonly record?: boolean;
  readonly store?: 'none' | 'kubernetes' | 'server';
  readonly server?: string;
  readonly token?: string;
  readonly ca?: string;
  readonly storeNamespace: string;
  readonly quiet?: boolean;
  readonly secretHashKey?: string;
  readonly keysDir?: string;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** `serve --scan-interval`: a duration (10m), or 0 for no scheduled scan. */
export function scanInterval(value: string): number {
  if (value.trim() === '0') return 0;
  try {
    const ms = parseDuration(value);
    if (ms < 60_000) throw new Error('at least 1m');
    return ms;
  } catch (err) {
    throw new InvalidArgumentError(`${errorMessage(err)} (a duration of 1m or more, e.g. 10m; 0 turns the scan off)`);
  }
}

function pageSize(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 5000) throw new InvalidArgumentError('must be a whole number from 1 to 5000');
  return n;
}

async function loadKubeConfig(o: ScanOptions): Promise<KubeConfig> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  if (o.kubeconfig) kc.loadFromFile(o.kubeconfig);
  else kc.loadFromDefault();
  if (o.context) kc.setCurrentContext(o.context);
  return kc;
}

/**
 * DriftTask objects through the kubeconfig: read to tell recorded drift, written by --record. driftgate
 * signs every task it writes, so recording takes its signing keys (the Secret the replicas share, or
 * --keys-dir), as `keys rotate --secret` does; a scan that only reads needs none of them.
 */
async function openTaskStore(kc: KubeConfig, o: ScanOptions): Promise<BreakGlassStore> {
  const [{ KubernetesStore }, { KeyRing, newStoredKey }] = await Promise.all([import('../store/kubernetes-store.ts'), import('../keys/key-ring.ts')]);
  let keys;
  if (!o.record) keys = await KeyRing.from([await newStoredKey(new Date())]); // reads verify nothing it signs
  else if (o.keysDir) keys = await KeyRing.load(o.keysDir);
  else keys = await (await import('../keys/secret-keys.ts')).loadKeyRingFromSecret(kc, o.storeNamespace, 'driftgate-signing-keys');
  return KubernetesStore.open({ kubeConfig: kc, namespace: o.storeNamespace, keys, logger: createLogger('silent') });
}

/**
 * Secret values are compared as the installation's keyed hashes (the webhook's tasks hold those): from
 * --secret-hash-key, else with --store kubernetes the Secret the replicas share; else this run's own key.
 */
async function secretHashKeyFor(o: ScanOptions, kc: KubeConfig | undefined, out: Out): Promise<Uint8Array | undefined> {
  const { readSecretHashKey, loadSecretHashKeyFromSecret } = await import('../keys/secret-hash-key.ts');
  if (o.secretHashKey) {
    const key = readSecretHashKey(o.secretHashKey);
    if (!key) throw new CliExit(2, `driftgate: --secret-hash-key ${o.secretHashKey}: no such file`);
    return key;
  }
  if (!kc || o.store !== 'kubernetes') return undefined;
  try {
    return await loadSecretHashKeyFromSecret(kc, o.storeNamespace);
  } catch (err) {
    // The rest of the scan does not need it: say what is lost and go on.
    out.stderr(`driftgate: ${errorMessage(err)}; Secret drift cannot be matched with recorded tasks in this run (pass --secret-hash-key FILE)`);
    return undefined;
  }
}

function* dumpPages(paths: readonly string[]): Generator<ScanPage> {
  for (const p of paths) yield { items: readManifests(p).map((s) => s.object), collection: p };
}

function progressPrinter(out: Out, quiet: boolean): ScanInput['progress'] {
  if (quiet) return undefined;
  let next = 1000;
  return (scanned, collection) => {
    if (scanned < next) return;
    next = (Math.floor(scanned / 1000) + 1) * 1000;
    out.stderr(`driftgate: scanned ${scanned} objects${collection ? ` (now: ${collection})` : ''}`);
  };
}

/** Runs the scan and prints it; returns the exit code. */
export async function scanCommand(dumps: readonly string[], o: ScanOptions, out: Out): Promise<number> {
  const policy: Policy = loadFromSource(resolvePolicySource(o.config));
  const kinds: readonly ScanKind[] = o.kind && o.kind.length > 0 ? o.kind.map(parseScanKind) : DEFAULT_KINDS;
  const desired = o.desired ? new DesiredIndex(readManifests(o.desired)) : undefined;
  const controllerManagers = new Set([...DEFAULT_CONTROLLER_MANAGERS, ...(o.controllerManager ?? [])]);
  const live = dumps.length === 0;
  const storeKind = o.store ?? 'none';
  if (o.record && storeKind !== 'kubernetes') throw new CliExit(2, 'driftgate: --record writes DriftTask objects: add --store kubernetes (with the embedded store, `driftgate serve --cluster-cache --scan-interval` records instead)');
  const kc = live || storeKind === 'kubernetes' ? await loadKubeConfig(o) : undefined;
  const secretHashKey = await secretHashKeyFor(o, kc, out);
  const store = storeKind === 'kubernetes' ? await openTaskStore(kc!, o) : undefined;
  const tasks: TaskReader | undefined = store ?? (storeKind === 'server' ? apiTaskReader(resolveConnection(o)) : undefined);
  try {
    let input: Pick<ScanInput, 'pages' | 'source' | 'namespaces'>;
    if (live) {
      const { scan, skipped } = await protectedNamespaces(kc!, policy, o.namespace, o.pageSize);
      if (skipped.length > 0) out.stderr(`driftgate: not protected by the policy, not scanned: ${skipped.join(', ')}`);
      if (scan.length === 0) out.stderr('driftgate: no protected namespace to scan (policy protectedNamespaces, or --namespace)');
      input = { pages: livePages(kc!, kinds, scan, o.pageSize), source: `cluster ${kc!.getCurrentCluster()?.server ?? ''}`.trim(), namespaces: new Set(scan) };
    } else {
      input = { pages: dumpPages(dumps), source: dumps.join(', '), ...(o.namespace && o.namespace.length > 0 ? { namespaces: new Set(o.namespace) } : {}) };
    }
    const result: ScanResult = await runScan({
      ...input,
      policy,
      controllerManagers,
      ...(desired ? { desired } : {}),
      ...(tasks ? { tasks } : {}),
      ...(o.record && store ? { record: store } : {}),
      now: new Date(),
      ...(secretHashKey ? { secretHashKey } : {}),
      progress: progressPrinter(out, o.quiet ?? false),
    });
    out.stdout(renderScan(result, o.output, o.showAll ?? false));
    return result.objects.some((r) => r.findings.some(isDrift)) ? 1 : 0;
  } finally {
    await store?.close();
  }
}

export function scanProgram(out: Out): Command {
  return new Command('scan')
    .description('find drift that got past the gate: unrecorded hand edits (from managedFields), orphans, and with --desired every difference from Git (exit 1 when drift is found, 2 on bad input)')
    .argument('[dumps...]', 'kubectl get -o json --show-managed-fields output (files, directories or -); none: the live cluster of your kubeconfig')
    .addOption(new Option('--config <file>', 'policy file').env('DRIFTGATE_CONFIG'))
    .option('--kubeconfig <file>', 'kubeconfig (default $KUBECONFIG, ~/.kube/config, or the pod\'s service account)')
    .option('--context <name>', 'kubeconfig context')
    .option('-n, --namespace <ns>', 'scan only this protected namespace (repeatable)', collect)
    .option('--kind <group/version/plural>', `collection to list (repeatable; default ${DEFAULT_KINDS.map((k) => `${k.group ? `${k.group}/` : ''}${k.version}/${k.plural}`).join(', ')})`, collect)
    .option('--desired <path>', 'Git\'s rendered manifests (kustomize build / helm template output): classify every difference')
    .option('--controller-manager <name>', `field manager of a cluster controller (repeatable; always: ${DEFAULT_CONTROLLER_MANAGERS.join(', ')})`, collect)
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json', 'markdown']).default('text'))
    .option('--show-all', 'also list delegated, ignored, allowance and controller-managed fields')
    .addOption(new Option('--page-size <n>', 'objects per list request').default(500).argParser(pageSize))
    .addOption(new Option('--store <kind>', 'where tasks are: none (every guarded drift counts as unrecorded), kubernetes (DriftTask objects), server (read through driftgate\'s API: --server, --token, --ca)').choices(['none', 'kubernetes', 'server']).default('none'))
    .addOption(new Option('--server <url>', 'with --store server: driftgate server URL (env DRIFTGATE_SERVER, default https://localhost:8443)'))
    .addOption(new Option('--token <token>', 'with --store server: Bearer token (env DRIFTGATE_TOKEN; default: the kubeconfig context\'s credentials)'))
    .addOption(new Option('--ca <file>', 'with --store server: CA bundle for the server (env DRIFTGATE_CA)'))
    .addOption(new Option('--store-namespace <ns>', 'namespace of the DriftTask objects').env('POD_NAMESPACE').default('driftgate'))
    .addOption(new Option('--secret-hash-key <file>', "the installation's secret hash key, to match Secret drift with recorded tasks (embedded: <data-dir>/keys/secret-hash.key; --store kubernetes reads the shared Secret)").env('DRIFTGATE_SECRET_HASH_KEY_FILE'))
    .addOption(new Option('--keys-dir <dir>', 'with --record: driftgate\'s signing keys as files (default: the Secret driftgate-signing-keys the replicas share)').env('DRIFTGATE_KEYS_DIR'))
    .option('--record', 'record each unrecorded drift as a task (source: detected), once per object and change')
    .option('-q, --quiet', 'no progress on stderr')
    .action(async (dumps: string[], o: ScanOptions) => {
      throw new CliExit(await scanCommand(dumps, o, out));
    });
}
