import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { declaring, either, enginesWith } from './engines/capabilities.ts';
import { engineFor } from './engines/index.ts';
import { defineCommand, renderCommandHelp, renderOverview, parseCommandArgs, wantsHelp, type Command, type ParsedArgs } from './cli-command.ts';
import { ExitCode, RestoreproofError, UsageError, formatIssue } from './errors.ts';
import { keygenCommand, reportCommand, reviewCommand, verifyCommand } from './evidence/commands.ts';
import { inventory, renderInventory } from './inventory/index.ts';
import { consoleReporter } from './report/console.ts';
import { runtimes } from './runtimes/index.ts';
import type { GcAction } from './runtimes/types.ts';
import { doctor, doctorDetails } from './run/doctor.ts';
import { planDrill } from './run/plan.ts';
import { runDrill } from './run/run.ts';
import { loadDrill, validateDrill } from './drill/load.ts';
import type { RuntimeChoice } from './drill/types.ts';
import { redact, registerSecret } from './util/redact.ts';
import { toolVersion } from './version.ts';

const imageMapHelp = 'containers: JSON of engine (or engine:version) to image (also RESTOREPROOF_IMAGE_MAP; RESTOREPROOF_IMAGE_<ENGINE> and a store\'s image: win over it)';
const contextHelp = 'kubernetes: the kubeconfig context (KUBECONFIG or ~/.kube/config; in a pod without one, the service account); also RESTOREPROOF_KUBE_CONTEXT';
const runtimeNames = `auto, ${Object.keys(runtimes).join(', ')}`;

const runOptions = {
  runtime: { type: 'string', value: '<name>', help: `where stores run (${runtimeNames}); default: the drill's spec.runtime, else auto\n(auto: containers when a Docker engine answers at DOCKER_HOST, else local)` },
  'image-map': { type: 'string', value: '<file>', help: imageMapHelp },
  'report-dir': { type: 'string', value: '<dir>', help: 'where reports go (default: spec.report.dir or ./reports)' },
  context: { type: 'string', value: '<name>', help: contextHelp },
  keep: { type: 'boolean', help: 'leave stores running afterwards and print how to reach them' },
  json: { type: 'boolean', help: 'print the result document on stdout' },
} as const;

const mutateDetails = `Restores once and runs the checks; only a drill that passes as it is gets a score. Then, for each
store whose engine declares state mutants, each mutant damages the restored store, the checks that can
see it run again (the first that fails kills it) and the damage is undone. Artefact mutants damage
run-owned copies of the artefacts (truncated at half, one byte flipped, decrypted with a wrong key)
and restore them once per kind;
the source artefacts are only read. The score is killed / mutants, leaving out survivors the drill
accepts in spec.mutation.accept; exit 0 when it reaches spec.mutation.minScore (default 0.9), else 1.
See docs/mutation.md.`;

/** Every verb: its help and its flags come from this table (src/cli-command.ts renders and parses them). */
export const commands: readonly Command[] = [
  defineCommand({
    name: 'validate',
    summary: 'check drills against the schema (exit 2 if invalid)',
    usage: ['validate <drill.yaml...>'],
    options: {},
    run: ({ positionals }) => validate(positionals),
  }),
  defineCommand({
    name: 'plan',
    summary: 'print every step a run would take; touches nothing',
    usage: ['plan <drill.yaml> [--runtime <name>]'],
    options: { runtime: { type: 'string', value: '<name>', help: `the runtime to plan for (${runtimeNames}); default: the drill's spec.runtime, else auto` } },
    run: plan,
  }),
  defineCommand({
    name: 'run',
    summary: 'run the drill and write its reports',
    usage: ['run <drill.yaml> [options]'],
    options: { ...runOptions, mutants: { type: 'boolean', help: 'then score the drill against damaged stores and artefacts, as restoreproof mutate does' } },
    details: 'The drill file format: docs/reference.md (every store option and check type) and docs/drills.md (reference drills).',
    run,
  }),
  defineCommand({
    name: 'mutate',
    summary: 'run the drill, then damage its restored stores and copies of its artefacts and score what its checks notice',
    usage: ['mutate <drill.yaml> [options]'],
    options: runOptions,
    details: mutateDetails,
    run: (args) => run({ ...args, values: { ...args.values, mutants: true } }),
  }),
  defineCommand({
    name: 'doctor',
    summary: 'check what a run needs (tools, runtime, images, secrets, sources, key); touches no data',
    usage: ['doctor [drill.yaml] [options]'],
    options: {
      runtime: { type: 'string', value: '<name>', help: `the runtime to check (${runtimeNames}); default: the drill's spec.runtime, else auto` },
      'image-map': { type: 'string', value: '<file>', help: imageMapHelp },
      context: { type: 'string', value: '<name>', help: contextHelp },
      json: { type: 'boolean', help: 'print the items as JSON' },
    },
    details: doctorDetails,
    run: doctorCommand,
  }),
  defineCommand({
    name: 'baseline',
    summary: 'read counts, the schema and (--content) row digests from a live source in a READ ONLY snapshot',
    usage: [`baseline capture <drill.yaml> --from <${enginesWith('baseline').join('-or-')}-url> -o <baseline.json> [options]`],
    options: {
      store: { type: 'string', value: '<name>', help: "the drill's store the baseline is for (default: the only store)" },
      from: { type: 'string', value: '<url>', help: `the live source, e.g. ${either(declaring('baseline').map((e) => e.baseline.exampleUrl))}` },
      out: { type: 'string', short: 'o', value: '<baseline.json>', help: 'where the baseline is written' },
      database: { type: 'string', multiple: true, value: '<db>', help: "a database to read (default: the store's restore databases)" },
      'password-env': { type: 'string', value: '<VAR>', help: 'the environment variable holding the password (never put it in --from)' },
      content: { type: 'boolean', help: "also a digest of every table's rows (one streaming pass each), so the baseline check proves each row came back unchanged" },
    },
    run: baseline,
  }),
  defineCommand({
    name: 'inventory',
    summary: 'list what a mongodump archive, pg_dump -Fc file or bucket mirror holds',
    usage: ['inventory <artefact> [--json]'],
    options: { json: { type: 'boolean', help: 'print the inventory as JSON' } },
    run: inventoryCommand,
  }),
  defineCommand({
    name: 'gc',
    summary: 'remove what past runs left behind once their restoreproof.expires-at has passed (or --older-than); never while their harness runs',
    usage: ['gc [--runtime containers|kubernetes|local] [--context <name>] [--older-than <duration>] [--dry-run] [--json]'],
    options: {
      runtime: { type: 'string', value: '<name>', help: 'what to sweep: containers (containers, networks and volumes, the default), kubernetes (namespaces) or local (processes and temp dirs)' },
      context: { type: 'string', value: '<name>', help: contextHelp },
      'older-than': { type: 'string', value: '<duration>', help: 'also remove runs started longer ago than this (e.g. 30m, 2h), expired or not, once their harness is gone' },
      'dry-run': { type: 'boolean', help: 'print what would be removed; remove nothing' },
      json: { type: 'boolean', help: 'print the actions as JSON' },
    },
    run: gcCommand,
  }),
  defineCommand({
    name: 'keygen',
    summary: 'write an Ed25519 signing key (mode 0600) and its .pub',
    usage: ['keygen --out <key> [--force]'],
    options: {
      out: { type: 'string', short: 'o', value: '<key>', help: 'the private key file; the public key goes to <key>.pub' },
      force: { type: 'boolean', help: 'overwrite an existing key' },
    },
    run: keygenCommand,
  }),
  defineCommand({
    name: 'verify',
    summary: 'check signature, schema, report digests and the chain; exit 1 naming what fails',
    usage: ['verify <report.json|<run-id>.dsse.json> [--key <key.pub>]... [--history <dir>]', 'verify --history <dir> [--key <key.pub>]...'],
    options: {
      key: { type: 'string', multiple: true, value: '<key.pub>', help: 'a trusted public key (also RESTOREPROOF_VERIFY_KEYS)' },
      history: { type: 'string', value: '<dir>', help: 'the history directory whose chain is checked (also RESTOREPROOF_HISTORY)' },
      json: { type: 'boolean', help: 'print the verification result as JSON' },
    },
    run: verifyCommand,
  }),
  defineCommand({
    name: 'review',
    summary: 'append a signed sign-off record; the report is never edited',
    usage: ['review <report.json> --reviewer <name> --key <key> [options]'],
    options: {
      reviewer: { type: 'string', value: '<name>', help: 'who signs off (required)' },
      key: { type: 'string', value: '<key>', help: "the reviewer's private signing key (required)" },
      'corrective-action': { type: 'string', multiple: true, value: '<text>', help: 'an action taken after a failed drill' },
      ticket: { type: 'string', value: '<id>', help: 'the ticket the review belongs to' },
      comment: { type: 'string', value: '<text>', help: 'free text' },
      history: { type: 'string', value: '<dir>', help: 'the history directory the record is appended to' },
    },
    run: reviewCommand,
  }),
  defineCommand({
    name: 'report',
    summary: 'HTML compliance report over the history',
    usage: ['report -o <file.html> [--since 90d] [--history reports/history] [--key <key.pub>]...'],
    options: {
      out: { type: 'string', short: 'o', value: '<file.html>', help: 'where the HTML report is written (required)' },
      since: { type: 'string', value: '<age>', help: 'only runs newer than this, e.g. 90d' },
      history: { type: 'string', value: '<dir>', help: 'the history directory (default: reports/history)' },
      key: { type: 'string', multiple: true, value: '<key.pub>', help: 'a trusted public key' },
    },
    run: reportCommand,
  }),
  defineCommand({
    name: 'version',
    summary: 'print the version',
    usage: ['version'],
    options: {},
    run: async () => {
      process.stdout.write(`${toolVersion}\n`);
      return ExitCode.passed;
    },
  }),
];

const exitCodes = 'Exit codes: 0 passed, 1 the backup failed (restore or checks), 2 usage or config error,\n3 the drill could not run (a tool, runtime, image, source or secret missing), 130 interrupted (143 on SIGTERM).';
const overview = () => renderOverview(commands, `restoreproof ${toolVersion}: prove that backups restore`, exitCodes);

function findCommand(name: string): Command {
  const command = commands.find((c) => c.name === name);
  if (!command) throw new UsageError(`unknown command "${name}"`, `verbs: ${commands.map((c) => c.name).join(', ')}; run restoreproof --help`);
  return command;
}

/** Runs the CLI; returns the exit code (the caller sets process.exitCode). */
export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  try {
    switch (verb) {
      case undefined:
        process.stderr.write(overview());
        return ExitCode.usage;
      case '--help':
      case '-h':
        process.stdout.write(overview());
        return ExitCode.passed;
      case 'help':
        process.stdout.write(rest[0] ? renderCommandHelp(findCommand(rest[0])) : overview());
        return ExitCode.passed;
      case '--version':
        process.stdout.write(`${toolVersion}\n`);
        return ExitCode.passed;
    }
    const command = findCommand(verb);
    if (wantsHelp(rest)) {
      process.stdout.write(renderCommandHelp(command));
      return ExitCode.passed;
    }
    return await command.run(parseCommandArgs(command, rest));
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

async function validate(positionals: string[]): Promise<number> {
  if (positionals.length === 0) throw new UsageError('validate needs at least one drill file');
  // Validation touches nothing: an interrupt exits at once (loading yields between its phases).
  const onSignal = () => process.exit(ExitCode.interrupted);
  process.once('SIGINT', onSignal);
  let invalid = 0;
  try {
    for (const file of positionals) {
      const issues = await validateDrill(file);
      if (issues.length === 0) process.stdout.write(`ok ${file}\n`);
      else {
        invalid++;
        for (const issue of issues) process.stderr.write(`${formatIssue(issue)}\n`);
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
  }
  return invalid ? ExitCode.usage : ExitCode.passed;
}

async function plan({ positionals, values }: ParsedArgs<{ runtime?: string }>): Promise<number> {
  if (positionals.length !== 1) throw new UsageError('plan needs exactly one drill file');
  const drill = await loadDrill(positionals[0]!);
  const lines = await planDrill(drill, values.runtime ? { runtime: runtimeChoice(values.runtime) } : {});
  process.stdout.write(`${lines.join('\n')}\n`);
  return ExitCode.passed;
}

async function run({ positionals, values }: ParsedArgs<{ runtime?: string; 'report-dir'?: string; keep?: boolean; json?: boolean; 'image-map'?: string; context?: string; mutants?: boolean }>): Promise<number> {
  if (positionals.length !== 1) throw new UsageError(`${values.mutants ? 'mutate' : 'run'} needs exactly one drill file`);
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
      ...(values.mutants ? { mutants: true } : {}),
      signal: controller.signal,
      reporters: [consoleReporter()],
    });
    if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return report.exitCode;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function doctorCommand({ positionals, values }: ParsedArgs<{ runtime?: string; 'image-map'?: string; context?: string; json?: boolean }>): Promise<number> {
  if (positionals.length > 1) throw new UsageError('doctor takes at most one drill file');
  if (values.context) process.env.RESTOREPROOF_KUBE_CONTEXT = values.context;
  if (values['image-map']) process.env.RESTOREPROOF_IMAGE_MAP = resolve(values['image-map']);
  return doctor({ ...(positionals[0] ? { drill: positionals[0] } : {}), ...(values.runtime ? { runtime: runtimeChoice(values.runtime) } : {}), json: Boolean(values.json) });
}

function runtimeChoice(name: string): RuntimeChoice {
  if (name === 'auto' || name in runtimes) return name as RuntimeChoice;
  throw new UsageError(`unknown runtime "${name}"; available: auto, ${Object.keys(runtimes).join(', ')}`);
}

async function gcCommand({ positionals, values }: ParsedArgs<{ runtime?: string; context?: string; 'dry-run'?: boolean; json?: boolean; 'older-than'?: string }>): Promise<number> {
  if (positionals.length) throw new UsageError('gc takes no arguments');
  const { parseOlderThan } = await import('./runtimes/shared/ownership.ts');
  const olderThanMs = values['older-than'] === undefined ? undefined : parseOlderThan(values['older-than']);
  if (values['older-than'] !== undefined && olderThanMs === undefined) throw new UsageError(`--older-than "${values['older-than']}" is not a duration such as 30m, 2h or 1h30m`);
  const options = { dryRun: Boolean(values['dry-run']), ...(olderThanMs !== undefined ? { olderThanMs } : {}) };
  const runtime = values.runtime ?? 'containers';
  let actions: GcAction[];
  let where: string;
  if (runtime === 'kubernetes') {
    if (values.context) process.env.RESTOREPROOF_KUBE_CONTEXT = values.context;
    const { collectNamespaces } = await import('./runtimes/kubernetes/namespace.ts');
    const { kube } = await import('./runtimes/kubernetes/client.ts');
    actions = await collectNamespaces(options);
    where = `at ${(await kube()).server}`;
  } else if (runtime === 'local') {
    const { collectLocalLeftovers } = await import('./runtimes/local/gc.ts');
    actions = await collectLocalLeftovers(options);
    where = `in ${(await (await import('./runtimes/local/data-root.ts')).localRunRoots()).join(' and ')}`;
  } else if (runtime === 'containers') {
    const { probeDockerEngine, collectGarbage } = await import('./runtimes/containers/docker.ts');
    const probe = await probeDockerEngine();
    if (!probe.ok) throw new RestoreproofError('E_NO_DOCKER', `gc needs a Docker engine, and none answers at DOCKER_HOST=${probe.host}: ${probe.reason}`, { exitCode: ExitCode.usage });
    actions = await collectGarbage(options);
    where = `at ${probe.host}`;
  } else throw new UsageError(`gc sweeps local, containers or kubernetes (asked: ${runtime})`);
  if (values.json) process.stdout.write(`${JSON.stringify(actions, null, 2)}\n`);
  else {
    for (const a of actions) process.stdout.write(`${a.action === 'removed' && options.dryRun ? 'would remove' : a.action} ${a.kind} ${a.kind === 'process' ? `${a.id} ${a.name}` : a.name} (run ${a.run}): ${a.reason}\n`);
    process.stderr.write(`gc: ${actions.filter((a) => a.action === 'removed').length} ${options.dryRun ? 'to remove' : 'removed'}, ${actions.filter((a) => a.action === 'kept').length} kept, ${where}\n`);
  }
  return actions.some((a) => a.action === 'failed') ? ExitCode.failed : ExitCode.passed;
}

async function inventoryCommand({ positionals, values }: ParsedArgs<{ json?: boolean }>): Promise<number> {
  if (positionals.length !== 1) throw new UsageError('inventory needs exactly one artefact (a file or a bucket mirror directory)');
  const result = await inventory(positionals[0]!);
  process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : renderInventory(result));
  return ExitCode.passed;
}

async function baseline({ positionals: [sub, ...positionals], values }: ParsedArgs<{ store?: string; from?: string; out?: string; database?: string[]; 'password-env'?: string; content?: boolean }>): Promise<number> {
  if (sub !== 'capture') throw new UsageError(`unknown baseline command "${sub ?? ''}"`, 'use: restoreproof baseline capture ... (restoreproof baseline --help)');
  if (positionals.length !== 1) throw new UsageError('baseline capture needs the drill file');
  if (!values.from) throw new UsageError(`--from <url> is required: the live source, e.g. ${either(declaring('baseline').map((e) => e.baseline.exampleUrl))}`);
  if (!values.out) throw new UsageError('-o <baseline.json> is required');
  const drill = await loadDrill(positionals[0]!);
  const stores = drill.document.spec.stores;
  const storeName = values.store ?? (Object.keys(stores).length === 1 ? Object.keys(stores)[0] : undefined);
  if (!storeName || !stores[storeName]) throw new UsageError(`--store must name one of: ${Object.keys(stores).join(', ')}`);
  const store = stores[storeName]!;
  const capture = engineFor(store).baseline;
  if (!capture) throw new UsageError(`baseline capture supports ${enginesWith('baseline').join(' and ')} stores; ${storeName} is ${store.engine}`);
  let password: string | undefined;
  if (values['password-env']) {
    password = process.env[values['password-env']];
    if (password === undefined) throw new UsageError(`environment variable ${values['password-env']} is not set`);
  }
  let url: URL;
  try {
    url = new URL(values.from);
  } catch {
    throw new UsageError(`--from must be a URL such as ${capture.exampleUrl}`);
  }
  if (url.password) registerSecret(decodeURIComponent(url.password));
  const databases = values.database?.length ? values.database : capture.databases(store);
  const result = await capture.capture({ connectionString: values.from, ...(password !== undefined ? { password } : {}), ...(databases.length ? { databases } : {}), content: values.content === true });
  await writeFile(values.out, `${JSON.stringify({ ...result, store: storeName }, null, 2)}\n`);
  const tables = Object.values(result.databases).reduce((n, d) => n + Object.keys(d.tables).length, 0);
  process.stderr.write(`baseline of ${Object.keys(result.databases).join(', ')} (${tables} tables${values.content ? ', with content digests' : ''}) written to ${values.out}\n`);
  return ExitCode.passed;
}
