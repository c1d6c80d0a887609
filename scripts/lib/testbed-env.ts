// The environment that points restoreproof at what `scripts/testbed up` provided, read from
// .testbed/env.json. The test suites set it (test/support/backends.ts) and `scripts/testbed env`
// prints it as shell exports, so a user runs the reference drills exactly as the suites do.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What `scripts/testbed` provided, as recorded in `.testbed/env.json`. */
export interface TestbedEnv {
  version: number;
  DOCKER_HOST?: string;
  KUBECONFIG?: string;
  backends: Record<string, Record<string, unknown> | undefined>;
}

const field = (env: TestbedEnv, backend: string, name: string) => {
  const value = env.backends[backend]?.[name];
  return typeof value === 'string' ? value : undefined;
};

/** The product's binary lookups (local runtime) pointed at the test bed's binaries. */
export function testbedBinaryVars(env: TestbedEnv): Record<string, string> {
  const vars: Record<string, string> = {};
  const set = (name: string, value: string | undefined) => value && (vars[name] = value);
  set('RESTOREPROOF_PG_BINDIR', field(env, 'postgres', 'binDir'));
  set('RESTOREPROOF_MONGOD', field(env, 'mongo', 'server'));
  const mongorestore = field(env, 'mongo', 'mongorestore');
  set('RESTOREPROOF_MONGO_TOOLS', mongorestore && join(mongorestore, '..'));
  set('RESTOREPROOF_MINIO', field(env, 'minio', 'server'));
  set('RESTOREPROOF_REDIS_SERVER', field(env, 'redis', 'server'));
  set('RESTOREPROOF_INFLUXD', field(env, 'influxdb', 'server'));
  set('RESTOREPROOF_ETCD', field(env, 'etcd', 'server'));
  set('RESTOREPROOF_ETCDCTL', field(env, 'etcd', 'ctl'));
  set('RESTOREPROOF_KUBE_APISERVER', field(env, 'kube-apiserver', 'server'));
  set('RESTOREPROOF_MARIADBD', field(env, 'mariadb', 'server'));
  return vars;
}

/** The test bed image of each engine, by the variable the containers runtime reads. */
const imageVariables: Record<string, string> = {
  postgres: 'RESTOREPROOF_IMAGE_POSTGRES',
  mongo: 'RESTOREPROOF_IMAGE_MONGODB',
  minio: 'RESTOREPROOF_IMAGE_S3',
  redis: 'RESTOREPROOF_IMAGE_REDIS',
  influxdb: 'RESTOREPROOF_IMAGE_INFLUXDB',
  etcd: 'RESTOREPROOF_IMAGE_ETCD',
  mariadb: 'RESTOREPROOF_IMAGE_MARIADB',
  app: 'RESTOREPROOF_IMAGE_APP',
};

/** The test bed's Docker engine and images, as the containers runtime reads them. */
export function testbedImageVars(env: TestbedEnv): Record<string, string> {
  const docker = env.backends.docker as { host?: string; images?: Record<string, string> } | undefined;
  const images = docker?.images ?? {};
  const vars: Record<string, string> = {};
  const host = env.DOCKER_HOST ?? docker?.host;
  if (host) vars.DOCKER_HOST = host;
  for (const [name, variable] of Object.entries(imageVariables)) if (images[name]) vars[variable] = images[name];
  // Every test bed image carries sh, curl and sha256sum (the base rootfs): the app image will do for fetch: pod.
  if (images.app) vars.RESTOREPROOF_IMAGE_FETCH = images.app;
  return vars;
}

/** The test bed cluster's kubeconfig. */
export function testbedClusterVars(env: TestbedEnv): Record<string, string> {
  const kubeconfig = env.KUBECONFIG ?? field(env, 'kubernetes', 'kubeconfig');
  return kubeconfig ? { KUBECONFIG: kubeconfig } : {};
}

/**
 * The test bed's MongoDB-wire server (FerretDB) rejects the index options real dumps carry; the
 * reference drills read `<NAME>_MONGO_INDEXES` for that (the suites set it to false).
 */
export function testbedDrillVars(env: TestbedEnv, drillsDir: string): Record<string, string> {
  if (field(env, 'mongo', 'kind') !== 'ferretdb') return {};
  const names = readdirSync(drillsDir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => [...readFileSync(join(drillsDir, f), 'utf8').matchAll(/\$\{([A-Z0-9_]+_MONGO_INDEXES)\b/g)].map((m) => m[1]!));
  return Object.fromEntries([...new Set(names)].sort().map((name) => [name, 'false']));
}

const shellQuote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;

/** `scripts/testbed env`: the exports, grouped and commented, for `eval "$(scripts/testbed env)"`. */
export function renderTestbedExports(env: TestbedEnv, envFile: string, drillsDir: string): string {
  const groups: [string, Record<string, string>][] = [
    ['local runtime: the test bed binaries', testbedBinaryVars(env)],
    ['the reference drills name no runtime; the suites run them on local (unset this, or pass --runtime, to use the engine below)', { RESTOREPROOF_RUNTIME: 'local' }],
    ['containers runtime: the test bed Docker engine and images', testbedImageVars(env)],
    ['kubernetes runtime: the test bed cluster', testbedClusterVars(env)],
    ['reference drills: FerretDB, the test bed\'s MongoDB-wire server, rejects the index options of real dumps', testbedDrillVars(env, drillsDir)],
  ];
  const lines = [`# restoreproof test bed, from ${envFile}; use: eval "$(scripts/testbed env)"`];
  for (const [comment, vars] of groups) {
    if (Object.keys(vars).length === 0) continue;
    lines.push(`# ${comment}`, ...Object.entries(vars).map(([name, value]) => `export ${name}=${shellQuote(value)}`));
  }
  const missing = ['postgres', 'mongo', 'minio', 'redis', 'docker'].filter((b) => !env.backends[b]);
  if (missing.length) lines.push(`# not provided: ${missing.join(', ')} (scripts/testbed up ${missing.join(' ')})`);
  return `${lines.join('\n')}\n`;
}
