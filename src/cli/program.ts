/** The `driftgate` command line (commander): one sub-command per job, each with --help. */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createLogger } from '../log.ts';
import { generateCertificates, writeCertificates, describeCertificate, CA_CERT, TLS_CERT } from '../tls/certs.ts';
import { basename, join } from 'node:path';
import { reviewCommand } from './review-command.ts';
import { diffCommand } from './diff-command.ts';
import { scanInterval, scanProgram } from '../scan/command.ts';
import { CliExit } from './exit.ts';
import { grantCommand, tasksCommand } from './breakglass-commands.ts';
import { policyCommand } from './policy-command.ts';
import { statusCommand } from './status-command.ts';
import { issueDevToken } from '../auth/authenticator.ts';
import { journalCommand } from './journal-command.ts';
import { KeyRing } from '../keys/key-ring.ts';
import { parseDuration } from '../util/duration.ts';
import { DEFAULT_MAX_CONNECTIONS, maxConnectionsProblem } from '../http/connection-limit.ts';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive whole number');
  return n;
}

function maxConnections(value: string): number {
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  const problem = maxConnectionsProblem(n);
  if (problem) throw new InvalidArgumentError(problem);
  return n;
}

const output = () => new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text');

/** The package's version (package.json sits two levels above both src/cli/ and dist/cli/). */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/**
 * One usage-error behaviour for every command, however it was added: the root's output, exit
 * override (usage errors exit 2, see main.ts) and help-after-error reach sub-commands built with
 * `new Command` + addCommand too. Required options say "(required)" in --help and are checked after
 * unknown options, so `--reasn x` is reported as the unknown option it is, not as a missing --reason.
 */
function uniformUsage(root: Command): void {
  const visit = (cmd: Command): void => {
    if (cmd !== root) cmd.copyInheritedSettings(root);
    const required = cmd.options.filter((opt) => opt.mandatory);
    for (const opt of required) {
      opt.mandatory = false;
      opt.description = `${opt.description} (required)`;
    }
    if (required.length > 0) {
      cmd.hook('preAction', (_self, action) => {
        const missing = required.find((opt) => action.getOptionValue(opt.attributeName()) === undefined);
        if (missing) action.error(`error: required option '${missing.flags}' not specified`, { code: 'commander.missingMandatoryOptionValue', exitCode: 2 });
      });
    }
    cmd.commands.forEach(visit);
  };
  visit(root);
}

/**
 * `invokedAs`: the executable's name. As the kubectl plugin (`kubectl-breakglass`, which runs
 * `breakglass …`), usage lines read as the responder typed them: `kubectl breakglass request …`.
 */
export function buildProgram(out: { stdout: (s: string) => void; stderr: (s: string) => void }, invokedAs = basename(process.argv[1] ?? '')): Command {
  const plugin = invokedAs === 'kubectl-breakglass';
  const program = new Command(plugin ? 'kubectl' : 'driftgate')
    .description('Keeps GitOps honest at the moment of the write: a validating admission webhook with break-glass grants.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => out.stdout(s.trimEnd()), writeErr: (s) => out.stderr(s.trimEnd()) })
    .exitOverride();

  program
    .command('serve')
    .description('run the webhook over HTTPS (embedded defaults: dev certificates, embedded store, example policy)')
    .addOption(new Option('--config <file>', 'policy file (default: ./driftgate.yaml, else the embedded example)').env('DRIFTGATE_CONFIG'))
    .addOption(new Option('--port <port>', 'TLS port').env('DRIFTGATE_PORT').default(8443).argParser(port))
    .addOption(new Option('--host <address>', 'address to bind: 0.0.0.0 or :: for all interfaces (the container image sets DRIFTGATE_HOST=0.0.0.0)').env('DRIFTGATE_HOST').default('localhost'))
    .addOption(new Option('--data-dir <dir>', 'directory for the embedded store').env('DRIFTGATE_DATA_DIR').default('data'))
    .addOption(new Option('--certs-dir <dir>', 'serving certificate directory (tls.crt, tls.key)').env('DRIFTGATE_CERTS_DIR').default('certs'))
    .addOption(new Option('--metrics-port <port>', 'also serve /metrics over plain HTTP on this port').env('DRIFTGATE_METRICS_PORT').argParser(port))
    .addOption(new Option('--max-connections <n>', 'connections the TLS port holds at once; past it new ones are closed unanswered and counted (driftgate_connections_dropped_total)').env('DRIFTGATE_MAX_CONNECTIONS').default(DEFAULT_MAX_CONNECTIONS).argParser(maxConnections))
    .addOption(new Option('--store <kind>', 'embedded: journal in --data-dir (one replica); kubernetes: CRs shared by replicas').env('DRIFTGATE_STORE').choices(['embedded', 'kubernetes']).default('embedded'))
    .addOption(new Option('--store-namespace <ns>', 'namespace of the BreakGlassGrant and DriftTask objects').env('POD_NAMESPACE').default('driftgate'))
    .addOption(new Option('--certs-mode <mode>', 'files: serve certs-dir (dev certificates when absent); self-managed: keep CA and certificate in a Secret, patch the webhook caBundle, renew before expiry').env('DRIFTGATE_CERTS_MODE').choices(['files', 'self-managed']).default('files'))
    .addOption(new Option('--certs-secret <name>', 'Secret for self-managed certificates').env('DRIFTGATE_CERTS_SECRET').default('driftgate-tls'))
    .addOption(new Option('--webhook-configuration <name>', 'ValidatingWebhookConfiguration whose caBundle self-managed mode sets').env('DRIFTGATE_WEBHOOK_CONFIGURATION').default('driftgate'))
    .addOption(new Option('--service-name <name>', 'the webhook Service (certificate names)').env('DRIFTGATE_SERVICE_NAME').default('driftgate'))
    .addOption(new Option('--cluster-cache', 'watch Deployments, StatefulSets, ReplicaSets and Namespaces (default with --store kubernetes)').env('DRIFTGATE_CLUSTER_CACHE'))
    .addOption(new Option('--scan-interval <duration>', 'with the cluster cache: scan for drift that got past the gate this often and record it as tasks (0: off)').env('DRIFTGATE_SCAN_INTERVAL').default(600_000, '10m').argParser(scanInterval))
    .addOption(new Option('--keys-dir <dir>', 'grant-signing keys (default <data-dir>/keys; in a cluster, a Secret every replica mounts)').env('DRIFTGATE_KEYS_DIR'))
    .addOption(new Option('--log-level <level>', 'log level').env('DRIFTGATE_LOG_LEVEL').default('info').choices(['debug', 'info', 'warn', 'error']))
    .action(async (o: { config?: string; port: number; host?: string; dataDir: string; certsDir: string; logLevel: string; metricsPort?: number; maxConnections: number; store: 'embedded' | 'kubernetes'; storeNamespace: string; keysDir?: string; clusterCache?: boolean; scanInterval: number; certsMode: 'files' | 'self-managed'; certsSecret: string; webhookConfiguration: string; serviceName: string }) => {
      const logger = createLogger(o.logLevel);
      const { startServer } = await import('../server.ts'); // loaded only to serve: the CLI stays light
      const running = await startServer({ ...o, logger, compactHeap: true });
      const stop = (signal: string): void => {
        logger.info({ signal }, 'shutting down');
        void running.close().then(() => process.exit(0));
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });

  const certs = program.command('certs').description('create and inspect the webhook serving certificate');
  certs
    .command('init')
    .description('write a CA and a serving certificate (node-forge) and print the CA bundle')
    .option('--service <name>', 'Service name', 'driftgate')
    .option('--namespace <ns>', 'Service namespace', 'driftgate')
    .option('--out <dir>', 'output directory', 'certs')
    .addOption(new Option('--days <n>', 'serving certificate lifetime in days').default(365).argParser(positiveInt))
    .action((o: { service: string; namespace: string; out: string; days: number }) => {
      writeCertificates(o.out, generateCertificates(o));
      out.stderr(`driftgate: wrote ${o.out}/ca.crt, ca.key, tls.crt, tls.key for ${o.service}.${o.namespace}.svc`);
      out.stdout(readFileSync(join(o.out, CA_CERT), 'utf8').trimEnd());
    });
  certs
    .command('show')
    .description('print the serving certificate subject, names and expiry')
    .option('--dir <dir>', 'certificate directory', 'certs')
    .action((o: { dir: string }) => {
      const d = describeCertificate(readFileSync(join(o.dir, TLS_CERT), 'utf8'));
      out.stdout(`subject: ${d.subject}\nnames:   ${d.sans.join(', ')}\nexpires: ${d.notAfter.toISOString()}`);
    });

  program
    .command('review')
    .description('decide one AdmissionReview offline with the server\'s logic; prints the response (exit 0 allowed, 1 denied, 2 invalid)')
    .argument('<review>', 'AdmissionReview JSON file, or - for standard input')
    .addOption(new Option('--config <file>', 'policy file').env('DRIFTGATE_CONFIG'))
    .action(async (file: string, o: { config?: string }) => {
      const code = await reviewCommand(file, o, { ...out, readStdin: () => readFileSync(0, 'utf8') });
      throw new CliExit(code);
    });

  program
    .command('diff')
    .description('classify each difference between Git\'s manifests and live objects (exit 1 if any is guarded)')
    .argument('<desired>', 'rendered manifests from Git: file, directory or - (YAML, multi-document, JSON, List)')
    .argument('<live>', 'live objects: kubectl get -o yaml|json output (file, directory or -)')
    .addOption(new Option('--config <file>', 'policy file').env('DRIFTGATE_CONFIG'))
    .addOption(output())
    .option('--show-runtime', 'also list runtime differences (status, metadata the API server owns, defaults)')
    .action((desired: string, live: string, o: { config?: string; output: string; showRuntime?: boolean }) => {
      throw new CliExit(diffCommand(desired, live, o, out.stdout));
    });

  program.addCommand(scanProgram(out));
  program.addCommand(grantCommand(out, plugin ? 'breakglass' : 'grant'));
  program.addCommand(tasksCommand(out));
  program.addCommand(policyCommand(out));
  program.addCommand(statusCommand(out));

  const dev = program.command('dev').description('development helpers for the embedded defaults');
  dev
    .command('token')
    .description('print a token the local server accepts (development issuer; never for production)')
    .requiredOption('--user <name>', 'username')
    .option('--groups <list>', 'comma-separated groups', 'oncall')
    .option('--ttl <duration>', 'lifetime', '8h')
    .addOption(new Option('--data-dir <dir>', 'the server\'s data directory').env('DRIFTGATE_DATA_DIR').default('data'))
    .action(async (o: { user: string; groups: string; ttl: string; dataDir: string }) => {
      const groups = o.groups.split(',').map((g) => g.trim()).filter(Boolean);
      out.stdout(await issueDevToken(o.dataDir, o.user, groups, Math.floor(parseDuration(o.ttl) / 1000)));
    });

  program.addCommand(journalCommand(out));

  program
    .command('keys')
    .description('manage grant-signing keys')
    .command('rotate')
    .description('add a new signing key; older keys keep verifying the grants they signed (restart to use it)')
    .addOption(new Option('--data-dir <dir>', 'the server\'s data directory').env('DRIFTGATE_DATA_DIR').default('data'))
    .option('--secret <name>', 'rotate in this Secret instead (Kubernetes store; uses your kubeconfig)')
    .addOption(new Option('--namespace <ns>', 'namespace of the Secret').env('POD_NAMESPACE').default('driftgate'))
    .action(async (o: { dataDir: string; secret?: string; namespace: string }) => {
      if (o.secret) {
        const { KubeConfig } = await import('@kubernetes/client-node');
        const kc = new KubeConfig();
        kc.loadFromDefault();
        const { rotateSecretKey } = await import('../keys/secret-keys.ts');
        out.stdout(`new signing key ${await rotateSecretKey(kc, o.namespace, o.secret)} in Secret ${o.namespace}/${o.secret}`);
        return;
      }
      out.stdout(`new signing key ${await KeyRing.rotate(join(o.dataDir, 'keys'))}`);
    });

  uniformUsage(program);
  return program;
}
