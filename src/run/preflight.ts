import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { EnvironmentError, RestoreproofError, errorMessage } from '../errors.ts';
import { signingKeyFile } from '../evidence/index.ts';
import { readPrivateKey, keyIdOf } from '../evidence/dsse.ts';
import type { PreflightItem } from '../report/types.ts';
import { resolveSecret } from '../drill/secrets.ts';
import type { AppSpec, Drill, RuntimeName, SecretRef, StoreCheckSpec, StoreSpec } from '../drill/types.ts';
import { fetchJobsOf } from '../sources/fetch.ts';
import { locateArtefact } from '../sources/locate.ts';
import { engineFor, engines } from '../engines/index.ts';
import type { LocalTool } from '../runtimes/servers.ts';
import { askVersion } from '../util/tool-version.ts';
import { findOnPath, isExecutable } from '../util/tools.ts';

export interface PreflightOptions {
  runtime: RuntimeName;
  runId: string;
  signal: AbortSignal;
  env?: Record<string, string | undefined>;
}

const ok = (kind: PreflightItem['kind'], name: string, detail: string): PreflightItem => ({ kind, name, status: 'ok', detail });

function missing(kind: PreflightItem['kind'], name: string, err: unknown): PreflightItem {
  const code = err instanceof RestoreproofError ? err.code : 'E_PREFLIGHT';
  return { kind, name, status: 'missing', detail: errorMessage(err), code, ...(err instanceof RestoreproofError && err.hint ? { hint: err.hint } : {}) };
}

/** Runs `check`, turning what it throws into a `missing` item. */
async function item(kind: PreflightItem['kind'], name: string, check: () => Promise<string | PreflightItem>): Promise<PreflightItem> {
  try {
    const result = await check();
    return typeof result === 'string' ? ok(kind, name, result) : result;
  } catch (err) {
    return missing(kind, name, err);
  }
}

/**
 * Everything a run of `drill` on `runtime` needs, checked without touching data or creating
 * anything: tools (with their versions), the runtime, images, permissions, secrets, sources (listed,
 * the artefact selected, nothing downloaded), local artefacts (present, not read) and the signing key.
 * Without a drill: the runtime and every engine's tools, as far as they are installed.
 */
export async function preflight(drill: Drill | undefined, options: PreflightOptions): Promise<PreflightItem[]> {
  const items: PreflightItem[] = [];
  const stores = Object.entries(drill?.document.spec.stores ?? {});
  const app = drill?.document.spec.app;
  if (!drill && options.runtime === 'local') {
    // No drill: what is installed; an absent engine is only needed by drills that have such a store.
    for (const engine of Object.values(engines).filter((e) => e.servers.local)) {
      for (const found of await localTools({ engine: engine.name, restore: [] } as unknown as StoreSpec, engine.name)) {
        items.push(found.status === 'missing' ? { ...found, name: found.name.replace(/ \(store \w+\)$/, ''), status: 'unchecked', detail: `not installed; needed by drills with ${engine.name} stores on the local runtime` } : { ...found, name: found.name.replace(/ \(store \w+\)$/, '') });
      }
    }
  } else if (options.runtime === 'local') {
    items.push(...(await Promise.all(stores.map(([name, spec]) => localTools(spec, name)))).flat());
    if (app && drill) items.push(...(await appCommands(app, drill.dir)));
  } else if (options.runtime === 'containers') {
    items.push(...(await containerItems(stores.map(([, s]) => s), app)));
  } else {
    items.push(...(await kubernetesItems(stores.map(([, s]) => s), app, options.signal)));
  }
  if (drill) {
    items.push(...(await checkTools(drill)));
    items.push(...(await secretItems(drill)));
    items.push(...(await sourceItems(drill, options)));
  }
  const keyFile = signingKeyFile(drill, options.env ?? process.env);
  if (keyFile) {
    items.push(await item('signing-key', keyFile, async () => {
      try {
        return `Ed25519 key ${keyIdOf(await readPrivateKey(keyFile)).slice(0, 12)}… readable`;
      } catch (err) {
        throw new EnvironmentError('E_SIGNING_KEY', errorMessage(err), err instanceof RestoreproofError && err.hint ? { hint: err.hint } : {});
      }
    }));
  }
  return items;
}

/** One line per item: status, kind, name, what was found (or what is missing), and the fix. */
export function renderPreflight(items: PreflightItem[]): string {
  const width = Math.min(48, Math.max(0, ...items.map((i) => i.name.length)));
  return items
    .map((i) => {
      const mark = i.status === 'ok' ? 'ok     ' : i.status === 'missing' ? 'MISSING' : '--     ';
      const fix = i.status === 'missing' && i.hint ? `\n          fix: ${i.hint}` : '';
      return `  ${mark} ${i.kind.padEnd(11)} ${i.name.padEnd(width)}  ${i.detail.split('\n')[0]}${fix}\n`;
    })
    .join('');
}

// --- tools (local runtime) ---

/** The first line a tool prints about its version; a tool that does not answer in 10s says so. */
async function versionOf(binary: string, args = ['--version']): Promise<string> {
  try {
    const run = await askVersion(binary, args);
    const line = `${run.stdout}\n${run.stderr}`.split('\n').map((l) => l.trim()).find(Boolean);
    return line ?? `exit code ${run.exitCode ?? run.signal}`;
  } catch (err) {
    return `version unknown (${errorMessage(err)})`;
  }
}

async function binaryItem(name: string, find: () => Promise<string>, versionArgs?: string[]): Promise<PreflightItem> {
  return item('tool', name, async () => {
    const binary = await find();
    return `${binary} (${await versionOf(binary, versionArgs)})`;
  });
}

/** Every binary the local runtime runs for a store, as its engine declares them. */
async function localTools(spec: StoreSpec, store: string): Promise<PreflightItem[]> {
  const server = engineFor(spec).servers.local;
  if (!server) return [missing('runtime', `local (store ${store})`, new EnvironmentError('E_RUNTIME', `the local runtime does not host ${spec.engine} stores`))];
  const tools = await server.tools(spec);
  return Promise.all(tools.map((tool) => binaryItem(`${tool.name} (store ${store})`, tool.find, tool.versionArgs)));
}

/** Binaries the harness runs for the drill's checks (any runtime), as the stores' engines declare them; each once. */
async function checkTools(drill: Drill): Promise<PreflightItem[]> {
  const { stores, checks } = drill.document.spec;
  const tools = new Map<string, LocalTool>();
  for (const check of checks ?? []) {
    const store = 'store' in check && typeof check.store === 'string' ? check.store : undefined;
    const spec = store ? stores[store] : undefined;
    if (!spec) continue;
    for (const tool of engineFor(spec).checkTools?.(check as StoreCheckSpec, spec) ?? []) tools.set(`${tool.name} (checks of store ${store})`, tool);
  }
  return Promise.all([...tools].map(([name, tool]) => binaryItem(name, tool.find, tool.versionArgs)));
}

/** spec.app on the local runtime: its command (and the migration's) must be found. */
async function appCommands(app: AppSpec, drillDir: string): Promise<PreflightItem[]> {
  const commands = [['spec.app.command', app.command], ['spec.app.migrate.command', app.migrate?.command]] as const;
  const items: PreflightItem[] = [];
  for (const [name, command] of commands) {
    const program = command?.[0];
    if (!program) continue;
    items.push(await item('tool', `${name} ${program}`, async () => {
      const path = program.includes('/') ? (isAbsolute(program) ? program : resolve(drillDir, program)) : await findOnPath(program);
      if (path && (await isExecutable(path))) return `${path} is executable`;
      throw new EnvironmentError('E_TOOL_NOT_FOUND', `cannot find \`${program}\` (${program.includes('/') ? path : 'searched PATH'})`, { hint: program.includes('/') ? 'the path is relative to the drill file; check it and its execute bit' : `install ${program} or put it on PATH` });
    }));
  }
  return items;
}

// --- containers ---

async function containerItems(stores: StoreSpec[], app: AppSpec | undefined): Promise<PreflightItem[]> {
  const { probeDockerEngine, docker } = await import('../runtimes/containers/docker.ts');
  const { resolveImage, resolveAppImage } = await import('../runtimes/shared/images.ts');
  const probe = await probeDockerEngine();
  const items: PreflightItem[] = [
    probe.ok
      ? ok('runtime', 'containers', `Docker ${probe.version} answers at ${probe.host}`)
      : missing('runtime', 'containers', new EnvironmentError('E_NO_DOCKER', `no Docker engine answers at DOCKER_HOST=${probe.host}: ${probe.reason}`, { hint: 'start Docker or set DOCKER_HOST to a running engine, or use --runtime local' })),
  ];
  const wanted = new Map<string, string>();
  const problems: PreflightItem[] = [];
  for (const spec of stores) {
    try {
      const { image, source } = resolveImage(spec);
      if (!wanted.has(image)) wanted.set(image, `${spec.engine} image from ${source}`);
    } catch (err) {
      problems.push(missing('image', `${spec.engine} image`, err));
    }
  }
  if (app) {
    try {
      const image = resolveAppImage(app);
      wanted.set(image.image, `app image from ${image.source}`);
    } catch (err) {
      problems.push(missing('image', 'app image', err));
    }
    if (app.migrate?.image && !wanted.has(app.migrate.image)) wanted.set(app.migrate.image, 'migration image from the drill');
  }
  items.push(...problems);
  for (const [image, role] of wanted) {
    if (!probe.ok) {
      items.push({ kind: 'image', name: image, status: 'unchecked', detail: `${role}: not checked, no Docker engine` });
      continue;
    }
    items.push(await item('image', image, async () => {
      const api = docker().getImage(image);
      try {
        const info = await api.inspect();
        return `${role}: present (${String(info.Id).replace(/^sha256:/, '').slice(0, 12)})`;
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      }
      try {
        const found = (await withTimeout(api.distribution(), 20_000, 'the registry did not answer')) as { Descriptor?: { digest?: string } };
        return `${role}: not present; a run would pull it (${found.Descriptor?.digest?.slice(0, 19) ?? 'the registry has it'})`;
      } catch (err) {
        throw new EnvironmentError('E_IMAGE', `${role}: not present at ${probe.host}, and it cannot be pulled: ${errorMessage(err).split("\n")[0]!.trim()}`, {
          hint: `pull or load it (docker pull ${image}), or name another image (image: in the drill, RESTOREPROOF_IMAGE_<ENGINE>, or --image-map)`,
        });
      }
    }));
  }
  return items;
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]).finally(() => clearTimeout(timer));
}

// --- kubernetes ---

/** What a run does in the cluster (deploy/rbac.yaml grants exactly this). */
const clusterVerbs: { group: string; resource: string; subresource?: string; verbs: string[]; app?: boolean }[] = [
  { group: '', resource: 'namespaces', verbs: ['create', 'delete', 'get', 'list'] },
  { group: '', resource: 'pods', verbs: ['create', 'get', 'list', 'delete'] },
  { group: '', resource: 'services', verbs: ['create', 'get', 'list', 'delete'] },
  { group: '', resource: 'secrets', verbs: ['create', 'get', 'list', 'delete'] },
  { group: '', resource: 'pods', subresource: 'log', verbs: ['get'] },
  { group: '', resource: 'pods', subresource: 'exec', verbs: ['create', 'get'] },
  { group: '', resource: 'pods', subresource: 'portforward', verbs: ['create', 'get'] },
  { group: 'networking.k8s.io', resource: 'networkpolicies', verbs: ['create', 'get', 'list', 'delete'] },
  { group: 'apps', resource: 'deployments', verbs: ['create', 'get', 'list', 'delete'], app: true },
];

async function kubernetesItems(stores: StoreSpec[], app: AppSpec | undefined, signal: AbortSignal): Promise<PreflightItem[]> {
  const { kube, kubeError, clientNode, statusOf } = await import('../runtimes/kubernetes/client.ts');
  let k: Awaited<ReturnType<typeof kube>>;
  try {
    k = await kube();
  } catch (err) {
    return [missing('runtime', 'kubernetes', err)];
  }
  const k8s = await clientNode();
  const items: PreflightItem[] = [];
  try {
    const version = await withTimeout(k.config.makeApiClient(k8s.VersionApi).getCode(), 15_000, 'no answer within 15s');
    items.push(ok('runtime', 'kubernetes', `Kubernetes ${version.gitVersion} answers at ${k.server} (context ${k.context})`));
  } catch (err) {
    if (statusOf(err)) return [missing('runtime', 'kubernetes', kubeError(err, 'reading its version', k.server))];
    // fetch says only "fetch failed"; its cause says why (ECONNREFUSED, a certificate, a timeout).
    const cause = (err as { cause?: unknown }).cause;
    return [missing('runtime', 'kubernetes', new EnvironmentError('E_KUBE_UNREACHABLE', `the Kubernetes API ${k.server} does not answer (context ${k.context}): ${errorMessage(err)}${cause ? ` (${errorMessage(cause)})` : ''}`, { hint: 'check KUBECONFIG and --context, and that the cluster is up' }))];
  }
  // Who the cluster takes us for (SelfSubjectReview, GA since 1.28), so a refusal names the identity.
  const identity = await withTimeout(k.config.makeApiClient(k8s.AuthenticationV1Api).createSelfSubjectReview({ body: {} }), 15_000, 'no answer')
    .then((r) => r.status?.userInfo?.username, () => undefined);
  // RBAC cannot be scoped to namespaces that do not exist yet: the run needs these cluster-wide.
  const authz = k.config.makeApiClient(k8s.AuthorizationV1Api);
  for (const rule of clusterVerbs.filter((r) => !r.app || app)) {
    signal.throwIfAborted();
    const resource = rule.subresource ? `${rule.resource}/${rule.subresource}` : rule.resource;
    items.push(await item('permission', `${rule.group ? `${rule.group}/` : ''}${resource}`, async () => {
      const allowed = await Promise.all(rule.verbs.map(async (verb) => {
        const review = await withTimeout(authz.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: { group: rule.group, resource: rule.resource, ...(rule.subresource ? { subresource: rule.subresource } : {}), verb } } } }), 15_000, 'no answer within 15s')
          .catch((err: unknown) => { throw kubeError(err, 'asking for a SelfSubjectAccessReview', k.server); });
        return review.status?.allowed === true;
      }));
      const denied = rule.verbs.filter((_, i) => !allowed[i]);
      if (denied.length === 0) return `allowed: ${rule.verbs.join(', ')}`;
      throw new EnvironmentError('E_KUBE_FORBIDDEN', `not allowed: ${denied.join(', ')} (cluster-wide, for ${identity ?? 'the kubeconfig\'s identity'}, context ${k.context})`, { hint: 'grant the identity of the kubeconfig the ClusterRole in deploy/rbac.yaml' });
    }));
  }
  const { resolveImage, resolveAppImage } = await import('../runtimes/shared/images.ts');
  const images = new Set<string>();
  for (const spec of stores) {
    try {
      images.add(resolveImage(spec).image);
    } catch (err) {
      items.push(missing('image', `${spec.engine} image`, err));
    }
  }
  if (app) {
    try {
      images.add(resolveAppImage(app).image);
    } catch (err) {
      items.push(missing('image', 'app image', err));
    }
  }
  for (const image of images) items.push({ kind: 'image', name: image, status: 'unchecked', detail: "pulled by the cluster's nodes; not checked from here" });
  return items;
}

// --- secrets ---

/** Every secret reference in the drill, with its path (spec.report.webhook.headers.X-Token, …). */
function secretRefsOf(drill: Drill): { path: (string | number)[]; ref: SecretRef }[] {
  const found: { path: (string | number)[]; ref: SecretRef }[] = [];
  const walk = (node: unknown, path: (string | number)[]) => {
    if (Array.isArray(node)) node.forEach((v, i) => walk(v, [...path, i]));
    else if (node && typeof node === 'object') {
      if (isSecretRef(node)) found.push({ path, ref: node });
      else for (const [k, v] of Object.entries(node)) walk(v, [...path, k]);
    }
  };
  walk(drill.document.spec, ['spec']);
  return found;
}

function isSecretRef(node: object): node is SecretRef {
  const keys = Object.keys(node);
  if (keys.length !== 1) return false;
  const value = (node as Record<string, unknown>)[keys[0]!];
  if (keys[0] === 'env' || keys[0] === 'file') return typeof value === 'string';
  return keys[0] === 'kubernetesSecret' && !!value && typeof value === 'object' && 'name' in value && 'key' in value;
}

const pathText = (path: (string | number)[]) => path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${p}` : p)).join('');

async function secretItems(drill: Drill): Promise<PreflightItem[]> {
  const items: PreflightItem[] = [];
  for (const { path, ref } of secretRefsOf(drill)) {
    const name = pathText(path);
    const found = await item('secret', name, async () => {
      await resolveSecret(ref, drill.dir, name); // the value is registered for redaction and dropped
      if ('env' in ref) return `environment variable ${ref.env} is set`;
      if ('file' in ref) return `file ${resolve(drill.dir, ref.file)} is readable`;
      return `Kubernetes Secret ${ref.kubernetesSecret.namespace ?? '(context namespace)'}/${ref.kubernetesSecret.name} has key ${ref.kubernetesSecret.key}`;
    });
    // A notification's secret never stops a drill (notifications do not change its result): the run
    // goes on and the notification fails with E_NOTIFY; doctor still lists it as missing.
    if (found.status === 'missing' && path[1] === 'report') Object.assign(found, { code: 'E_NOTIFY', detail: `${found.detail} (a run goes on; its notification would fail)` });
    items.push(found);
  }
  return items;
}

// --- sources and artefacts ---

async function sourceItems(drill: Drill, options: PreflightOptions): Promise<PreflightItem[]> {
  const items: PreflightItem[] = [];
  const stores = drill.document.spec.stores;
  for (const job of fetchJobsOf(stores)) {
    items.push(await item('source', `${job.store}: ${job.spec.source.replace(/^([a-z0-9]+:\/\/[^:@/]*):[^@/]*@/i, '$1@')}`, async () => {
      const found = await locateArtefact(job, { runId: options.runId, drillDir: drill.dir, signal: options.signal });
      return `reachable; ${found.kind} ${found.key || found.ref} (${found.reason})`;
    }));
  }
  // Remote data a restore reads besides artefacts (an s3 store mirrored from another bucket): listed, nothing copied.
  for (const [store, spec] of Object.entries(stores)) {
    for (const source of engineFor(spec).remoteSources?.(spec, store, drill.dir) ?? []) items.push(await item('source', source.name, source.check));
  }
  for (const [store, spec] of Object.entries(stores)) {
    spec.restore.forEach((step: { artefact?: unknown }) => {
      if (typeof step.artefact === 'string') items.push({ kind: 'artefact', name: `${store}: ${step.artefact}`, status: 'ok', detail: '' });
    });
  }
  // Local artefacts: present and readable (their content is read by the verify phase, not here).
  for (const entry of items.filter((i) => i.kind === 'artefact')) {
    const ref = entry.name.slice(entry.name.indexOf(': ') + 2);
    const path = resolve(drill.dir, ref);
    try {
      await access(path, constants.R_OK);
      const info = await stat(path);
      entry.detail = info.isDirectory() ? `directory ${path}` : `${path} (${info.size} bytes)`;
    } catch (err) {
      Object.assign(entry, { status: 'missing', code: 'E_ARTEFACT', detail: `${path}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`, hint: 'check the artefact path; relative paths are resolved from the drill file' });
    }
  }
  return items;
}
