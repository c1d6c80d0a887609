import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { captureMongoBaseline } from './engines/mongodb/baseline.ts';
import { capturePostgresBaseline } from './engines/postgres/index.ts';
import { ExitCode, RestoreproofError, UsageError, formatIssue } from './errors.ts';
import { keygenCommand, reportCommand, reviewCommand, verifyCommand } from './evidence/commands.ts';
import { inventory, renderInventory } from './inventory/index.ts';
import { consoleReporter } from './report/console.ts';
import { runtimes } from './runtimes/index.ts';
import { planDrill } from './run/plan.ts';
import { runDrill } from './run/run.ts';
import { loadDrill, validateDrill } from './spec/load.ts';
import type { RuntimeChoice } from './spec/types.ts';
import { redact, registerSecret } from './util/redact.ts';
import { toolVersion } from './version.ts';

const usage = `restoreproof ${toolVersion}: prove that backups restore

Usage:
  restoreproof validate <drill.yaml...>              check drills against the schema (exit 2 if invalid)
  restoreproof plan <drill.yaml>                     print every step a run would take; touches nothing
  restoreproof run <drill.yaml> [options]            run the drill and write its reports
      --runtime <name>     where stores run (auto, ${Object.keys(runtimes).join(', ')}); default: the drill's spec.runtime, else auto
                           (auto: containers when a Docker engine answers at DOCKER_HOST, else local)
      --image-map <file>   containers: JSON of engine (or engine:version) to image (also RESTOREPROOF_IMAGE_MAP;
                           RESTOREPROOF_IMAGE_<ENGINE> and a store's image: win over it)
      --report-dir <dir>   where reports go (default: spec.report.dir or ./reports)
      --context <name>     kubernetes: the kubeconfig context (KUBECONFIG or ~/.kube/config; in a pod without
                           one, the service account); also RESTOREPROOF_KUBE_CONTEXT
      --keep               leave stores running afterwards and print how to reach them
      --json               print the result document on stdout
  restoreproof baseline capture <drill.yaml> --store <name> --from <postgres-or-mongodb-url> -o <baseline.json>
      [--database <db>]... [--password-env <VAR>]
                           read counts and the schema from a live source in a READ ONLY snapshot
  restoreproof gc [--runtime containers|kubernetes|local] [--context <name>] [--dry-run] [--json]
                           remove containers and networks (kubernetes: namespaces) of past runs whose
                           restoreproof.expires-at has passed
  restoreproof inventory <artefact> [--json]         list what a mongodump archive, pg_dump -Fc file or bucket mirror holds

  restoreproof keygen --out <key> [--force]         write an Ed25519 signing key (<key>, mode 0600) and <key>.pub
  restoreproof verify <report.json|<run-id>.dsse.json> [--key <key.pub>]... [--history <dir>]
  restoreproof verify --history <dir> [--key <key.pub>]...
                           check signature, schema, report digests and the chain; exit 1 naming what fails
  restoreproof review <report.json> --reviewer <name> --key <key> [--corrective-action <text>]...
      [--ticket <id>] [--comment <text>] [--history <dir>]
                           append a signed sign-off record; the report is never edited
  restoreproof report -o <file.html> [--since 90d] [--history reports/history] [--key <key.pub>]...
                           HTML compliance report over the history

Exit codes: 0 passed, 1 drill failed, 2 usage or config error, 130 interrupted.
`;

function parse<const O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message, 'run restoreproof --help');
  }
}

/** Runs the CLI; returns the exit code (the caller sets process.exitCode). */
export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  try {
    switch (verb) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(usage);
        return verb === undefined ? ExitCode.usage : ExitCode.passed;
      case '--version':
      case 'version':
        process.stdout.write(`${toolVersion}\n`);
        return ExitCode.passed;
      case 'validate':
        return await validate(rest);
      case 'plan':
        return await plan(rest);
      case 'run':
        return await run(rest);
      case 'baseline':
        return await baseline(rest);
      case 'keygen':
        return await keygenCommand(parse(rest, { out: { type: 'string', short: 'o' }, force: { type: 'boolean' } }));
      case 'verify':
        return await verifyCommand(parse(rest, { key: { type: 'string', multiple: true }, history: { type: 'string' }, json: { type: 'boolean' } }));
      case 'review':
        return await reviewCommand(parse(rest, { reviewer: { type: 'string' }, key: { type: 'string' }, 'corrective-action': { type: 'string', multiple: true }, ticket: { type: 'string' }, comment: { type: 'string' }, history: { type: 'string' } }));
      case 'report':
        return await reportCommand(parse(rest, { since: { type: 'string' }, history: { type: 'string' }, key: { type: 'string', multiple: true }, out: { type: 'string', short: 'o' } }));
      case 'inventory':
        return await inventoryCommand(rest);
      case 'gc':
        return await gcCommand(rest);
      default:
        throw new UsageError(`unknown command "${verb}"`, 'run restoreproof --help');
    }
  } catch (err) {
    return reportError(err);
  }
}

function reportError(err: unknown): number {
  if (err instanceof RestoreproofError) {
    process.stderr.write(`error ${err.code}: ${redact(err.message)}\n${err.hint ? `  hint: ${err.hint}\n` : ''}`);
    return err.exitCode;
  }
  process.stderr.write(`internal error: ${redact(err instanceof Error ? (err.stack ?? err.message) : String(err))}\n`);
  return ExitCode.failed;
}

async function validate(args: string[]): Promise<number> {
  const { positionals } = parse(args, {});
  if (positionals.length === 0) throw new UsageError('validate needs at least one drill file');
  let invalid = 0;
  for (const file of positionals) {
    const issues = await validateDrill(file);
    if (issues.length === 0) process.stdout.write(`ok ${file}\n`);
    else {
      invalid++;
      for (const issue of issues) process.stderr.write(`${formatIssue(issue)}\n`);
    }
  }
  return invalid ? ExitCode.usage : ExitCode.passed;
}

async function plan(args: string[]): Promise<number> {
  const { positionals, values } = parse(args, { runtime: { type: 'string' } });
  if (positionals.length !== 1) throw new UsageError('plan needs exactly one drill file');
  const drill = await loadDrill(positionals[0]!);
  const lines = await planDrill(drill, values.runtime ? { runtime: runtimeChoice(values.runtime) } : {});
  process.stdout.write(`${lines.join('\n')}\n`);
  return ExitCode.passed;
}

async function run(args: string[]): Promise<number> {
  const { positionals, values } = parse(args, {
    runtime: { type: 'string' },
    'report-dir': { type: 'string' },
    keep: { type: 'boolean' },
    json: { type: 'boolean' },
    'image-map': { type: 'string' },
    context: { type: 'string' },
  });
  if (positionals.length !== 1) throw new UsageError('run needs exactly one drill file');
  if (values.context) process.env.RESTOREPROOF_KUBE_CONTEXT = values.context;
  const runtime = values.runtime ? runtimeChoice(values.runtime) : undefined;
  if (values['image-map']) process.env.RESTOREPROOF_IMAGE_MAP = resolve(values['image-map']);
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      process.stderr.write(`\n${signal}: stopping; tearing down what this run created (press Ctrl-C again to exit at once)\n`);
      controller.abort(signal);
    } else {
      process.stderr.write(`${signal} again: exiting without teardown; sweep leftovers by the run id in their names\n`);
      process.exit(ExitCode.interrupted);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const report = await runDrill(positionals[0]!, {
      ...(runtime ? { runtime } : {}),
      ...(values['report-dir'] ? { reportDir: values['report-dir'] } : {}),
      keep: Boolean(values.keep),
      signal: controller.signal,
      reporters: [consoleReporter()],
    });
    if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    if (report.status === 'aborted' && controller.signal.reason === 'SIGTERM') return 143;
    return report.exitCode;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function runtimeChoice(name: string): RuntimeChoice {
  if (name === 'auto' || name in runtimes) return name as RuntimeChoice;
  throw new UsageError(`unknown runtime "${name}"; available: auto, ${Object.keys(runtimes).join(', ')}`);
}

async function gcCommand(args: string[]): Promise<number> {
  const { positionals, values } = parse(args, { runtime: { type: 'string' }, context: { type: 'string' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' } });
  if (positionals.length) throw new UsageError('gc takes no arguments');
  const runtime = values.runtime ?? 'containers';
  if (runtime === 'kubernetes') return gcKubernetes({ ...(values.context ? { context: values.context } : {}), dryRun: Boolean(values['dry-run']), json: Boolean(values.json) });
  if (runtime === 'local') return gcLocal({ dryRun: Boolean(values['dry-run']), json: Boolean(values.json) });
  if (runtime !== 'containers') throw new UsageError(`gc sweeps local, containers or kubernetes (asked: ${runtime})`);
  const { probeDockerEngine, collectGarbage } = await import('./runtimes/containers/docker.ts');
  const probe = await probeDockerEngine();
  if (!probe.ok) throw new RestoreproofError('E_NO_DOCKER', `gc needs a Docker engine, and none answers at DOCKER_HOST=${probe.host}: ${probe.reason}`, { exitCode: ExitCode.usage });
  const actions = await collectGarbage({ dryRun: Boolean(values['dry-run']) });
  if (values.json) process.stdout.write(`${JSON.stringify(actions, null, 2)}\n`);
  else {
    for (const a of actions) process.stdout.write(`${a.action === 'removed' && values['dry-run'] ? 'would remove' : a.action} ${a.kind} ${a.name} (run ${a.run}): ${a.reason}\n`);
    const removed = actions.filter((a) => a.action === 'removed').length;
    process.stderr.write(`gc: ${removed} ${values['dry-run'] ? 'to remove' : 'removed'}, ${actions.filter((a) => a.action === 'kept').length} not expired, at ${probe.host}\n`);
  }
  return actions.some((a) => a.action === 'failed') ? ExitCode.failed : ExitCode.passed;
}

async function gcLocal(options: { dryRun: boolean; json: boolean }): Promise<number> {
  const { collectLocalLeftovers } = await import('./runtimes/local/gc.ts');
  const actions = await collectLocalLeftovers({ dryRun: options.dryRun });
  if (options.json) process.stdout.write(`${JSON.stringify(actions, null, 2)}\n`);
  else {
    for (const a of actions) process.stdout.write(`${a.action === 'removed' && options.dryRun ? 'would remove' : a.action} ${a.kind} ${a.kind === 'process' ? `${a.id} ${a.name}` : a.name} (run ${a.run}): ${a.reason}\n`);
    process.stderr.write(`gc: ${actions.filter((a) => a.action === 'removed').length} ${options.dryRun ? 'to remove' : 'removed'}, ${actions.filter((a) => a.action === 'kept').length} not expired, in ${(await import('node:os')).tmpdir()}\n`);
  }
  return actions.some((a) => a.action === 'failed') ? ExitCode.failed : ExitCode.passed;
}

async function gcKubernetes(options: { context?: string; dryRun: boolean; json: boolean }): Promise<number> {
  if (options.context) process.env.RESTOREPROOF_KUBE_CONTEXT = options.context;
  const { collectNamespaces } = await import('./runtimes/kubernetes/namespace.ts');
  const { kube } = await import('./runtimes/kubernetes/client.ts');
  const actions = await collectNamespaces({ dryRun: options.dryRun });
  if (options.json) process.stdout.write(`${JSON.stringify(actions, null, 2)}\n`);
  else {
    for (const a of actions) process.stdout.write(`${a.action === 'removed' && options.dryRun ? 'would remove' : a.action} namespace ${a.name} (run ${a.run}): ${a.reason}\n`);
    process.stderr.write(`gc: ${actions.filter((a) => a.action === 'removed').length} ${options.dryRun ? 'to remove' : 'removed'}, ${actions.filter((a) => a.action === 'kept').length} not expired, at ${(await kube()).server}\n`);
  }
  return actions.some((a) => a.action === 'failed') ? ExitCode.failed : ExitCode.passed;
}

async function inventoryCommand(args: string[]): Promise<number> {
  const { positionals, values } = parse(args, { json: { type: 'boolean' } });
  if (positionals.length !== 1) throw new UsageError('inventory needs exactly one artefact (a file or a bucket mirror directory)');
  const result = await inventory(positionals[0]!);
  process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : renderInventory(result));
  return ExitCode.passed;
}

async function baseline(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'capture') throw new UsageError(`unknown baseline command "${sub ?? ''}"`, 'use: restoreproof baseline capture ...');
  const { positionals, values } = parse(rest, {
    store: { type: 'string' },
    from: { type: 'string' },
    out: { type: 'string', short: 'o' },
    database: { type: 'string', multiple: true },
    'password-env': { type: 'string' },
  });
  if (positionals.length !== 1) throw new UsageError('baseline capture needs the drill file');
  if (!values.from) throw new UsageError('--from <postgres://user@host:port/db> is required');
  if (!values.out) throw new UsageError('-o <baseline.json> is required');
  const drill = await loadDrill(positionals[0]!);
  const stores = drill.document.spec.stores;
  const storeName = values.store ?? (Object.keys(stores).length === 1 ? Object.keys(stores)[0] : undefined);
  if (!storeName || !stores[storeName]) throw new UsageError(`--store must name one of: ${Object.keys(stores).join(', ')}`);
  const store = stores[storeName]!;
  if (store.engine !== 'postgres' && store.engine !== 'mongodb') throw new UsageError(`baseline capture supports postgres and mongodb stores; ${storeName} is ${store.engine}`);
  let password: string | undefined;
  if (values['password-env']) {
    password = process.env[values['password-env']];
    if (password === undefined) throw new UsageError(`environment variable ${values['password-env']} is not set`);
  }
  let url: URL;
  try {
    url = new URL(values.from);
  } catch {
    throw new UsageError('--from must be a URL such as postgres://user@host:5432/db');
  }
  if (url.password) registerSecret(decodeURIComponent(url.password));
  const fromDrill = store.engine === 'postgres' ? store.restore.map((s) => s.database).filter((d): d is string => Boolean(d)) : [];
  const databases = values.database?.length ? values.database : fromDrill;
  const result =
    store.engine === 'mongodb'
      ? await captureMongoBaseline({ connectionString: values.from, ...(databases.length ? { databases } : {}) })
      : await capturePostgresBaseline({ connectionString: values.from, ...(password !== undefined ? { password } : {}), ...(databases.length ? { databases } : {}) });
  await writeFile(values.out, `${JSON.stringify({ ...result, store: storeName }, null, 2)}\n`);
  const tables = Object.values(result.databases).reduce((n, d) => n + Object.keys(d.tables).length, 0);
  process.stderr.write(`baseline of ${Object.keys(result.databases).join(', ')} (${tables} tables) written to ${values.out}\n`);
  return ExitCode.passed;
}
