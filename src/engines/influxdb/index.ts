import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ArtefactError, errorMessage } from '../../errors.ts';
import { evaluate } from '../../checks/expectations.ts';
import type { CheckRunner } from '../../checks/types.ts';
import { inspectLocalArtefact } from '../../sources/local.ts';
import type { InfluxRestoreStep, InfluxStoreSpec, PointsCheckSpec } from '../../drill/types.ts';
import type { StoreEndpoint } from '../../runtimes/types.ts';
import type { Engine } from '../types.ts';
import { toolStderrTail } from '../../util/tool-output.ts';
import { influxQuery, quoteIdent } from './client.ts';
import { runRestoreSteps, type StepOutcome } from '../steps.ts';
import { influxLocalServer } from './local.ts';
import { influxContainerServer } from './container.ts';
import { validateInflux } from './validate.ts';
import { influxMutants } from './mutants.ts';

interface PortableManifest {
  meta?: { fileName?: string };
  /** `size` is the shard's size before compression, not the file's. */
  files?: { database?: string; policy?: string; shardID?: number; fileName?: string; size?: number }[];
}

/** The newest `*.manifest` of a portable backup dir (`influxd backup -portable` names it after the backup's time). */
async function readManifest(dir: string, ref: string): Promise<{ name: string; manifest: PortableManifest }> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.manifest')).sort();
  const name = names.at(-1);
  if (!name) throw new ArtefactError(ref, 'is not an InfluxDB portable backup (no *.manifest file)', 'make it with influxd backup -portable <dir>; a legacy backup (without -portable) is not supported');
  try {
    return { name, manifest: JSON.parse(await readFile(join(dir, name), 'utf8')) as PortableManifest };
  } catch (err) {
    throw new ArtefactError(ref, `${name} is not a readable manifest (${errorMessage(err)})`);
  }
}

const restoreArgs = (step: InfluxRestoreStep, rpc: string, path: string) => [
  'restore', '-portable', '-host', rpc, ...(step.database ? ['-db', step.database] : []), ...(step.newDatabase ? ['-newdb', step.newDatabase] : []), path,
];

const points: CheckRunner<PointsCheckSpec> = async (check, context) => {
  const what = check.count ?? 'points';
  let actual: number;
  if (what === 'series') {
    const series = await influxQuery(context.store.endpoint, `SHOW SERIES FROM ${quoteIdent(check.measurement)}`, context.database, context.signal);
    actual = series.reduce((n, s) => n + (s.values?.length ?? 0), 0);
  } else {
    // COUNT(*) counts each field; a point has at least one, so the largest count is the number of points
    // (exact when every point carries its measurement's fields, as line protocol writers usually do).
    const series = await influxQuery(context.store.endpoint, `SELECT COUNT(*) FROM ${quoteIdent(check.measurement)}`, context.database, context.signal);
    const row = series[0]?.values?.[0] ?? [];
    actual = Math.max(0, ...row.slice(1).map((v) => Number(v) || 0));
  }
  const e = evaluate(check.expect, actual);
  return { passed: e.passed, expected: e.expected, actual, message: `${check.database}.${check.measurement} has ${actual} ${what}${e.passed ? '' : `, expected ${e.expected}`}` };
};

/**
 * influxd restore returns before the restored shards are open, and a query meanwhile fails with
 * "shard is disabled": a check run at once would fail a good backup. Waits until one point of every
 * measurement reads, for at most a minute.
 */
async function shardsOpen(endpoint: StoreEndpoint, databases: string[], signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (const database of databases) {
    for (;;) {
      try {
        await influxQuery(endpoint, 'SELECT * FROM /.*/ LIMIT 1', database, signal);
        break;
      } catch (err) {
        if (!/shard is disabled/i.test(errorMessage(err)) || Date.now() > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }
}

export const influxEngine: Engine<InfluxStoreSpec> = {
  name: 'influxdb',
  servers: { local: influxLocalServer, container: influxContainerServer },
  capabilities: { formats: ['portable'], multipleDatabases: true, restoresBeforeStart: false, checksNameDatabase: false },
  checks: { points } as Engine['checks'],
  validate: validateInflux,
  mutants: influxMutants,
  async inspect(spec, step, drillDir, options) {
    const ref = spec.restore[step]!;
    const info = await inspectLocalArtefact(ref.artefact, drillDir, { ...options, directory: true });
    if (info.kind !== 'directory') throw new ArtefactError(ref.artefact, 'is a file; an InfluxDB portable backup is a directory');
    const { name, manifest } = await readManifest(info.path, ref.artefact);
    // influxd restore skips shard files it cannot find and still exits 0: check every one the manifest lists.
    for (const f of [...(manifest.meta?.fileName ? [{ fileName: manifest.meta.fileName }] : []), ...(manifest.files ?? [])]) {
      if (!f.fileName || f.fileName.includes('/')) throw new ArtefactError(ref.artefact, `${name} lists an invalid file name ${JSON.stringify(f.fileName)}`);
      const st = await stat(join(info.path, f.fileName)).catch(() => undefined);
      if (!st?.isFile()) throw new ArtefactError(ref.artefact, `${f.fileName}, listed in ${name}, is missing`, 'copy the whole backup directory');
    }
    const databases = [...new Set((manifest.files ?? []).map((f) => f.database).filter(Boolean))] as string[];
    if (ref.database && !databases.includes(ref.database)) throw new ArtefactError(ref.artefact, `holds no database ${ref.database} (databases: ${databases.join(', ') || 'none'})`);
    // 20260302T140000Z.manifest
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\.manifest$/.exec(name);
    return {
      store: '', step, info, format: `influx portable (${databases.join(', ') || 'no shards'}; ${(manifest.files ?? []).length} shard files)`,
      ...(m ? { pointInTime: { at: new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`).toISOString(), source: `manifest name ${name}` } } : {}),
    };
  },
  describeRestore: (spec, artefacts) => artefacts.map((a) => `influxd ${restoreArgs(spec.restore[a.step]!, '127.0.0.1:<rpc port>', a.info.path).join(' ')}`),
  async restore(store, spec, artefacts, context) {
    // The RPC address where the store's tools run (a loopback port here, 127.0.0.1:8088 in a container).
    const rpc = store.toolUrl();
    return runRestoreSteps(artefacts.map((a) => {
      const step = spec.restore[a.step]!;
      return {
        base: { step: a.step, artefact: step.artefact, format: a.format, ...(step.database ? { database: step.newDatabase ?? step.database } : {}), tool: 'influxd', args: restoreArgs(step, rpc, a.info.path) },
        title: `influxd restore -portable ${step.artefact}`,
        async run(): Promise<StepOutcome> {
          const path = await store.stage(a.info.path, context.signal);
          const run = await store.exec('influxd', restoreArgs(step, rpc, path), { signal: context.signal });
          // influxd restore logs to stdout and stderr alike; an error line also means failure.
          const ok = run.exitCode === 0 && !/^error|restore failed/im.test(run.stderr);
          const outcome: StepOutcome = { status: ok ? 'passed' : 'failed', exitCode: run.exitCode, stderr: toolStderrTail(run.stderr, 20) };
          if (ok) {
            const dbs = await influxQuery(store.endpoint, 'SHOW DATABASES', undefined, context.signal);
            const databases = (dbs[0]?.values ?? []).map((v) => String(v[0])).filter((d) => d !== '_internal');
            outcome.details = { databases };
            await shardsOpen(store.endpoint, step.database ? [step.newDatabase ?? step.database] : databases, context.signal);
          } else {
            const line = run.stderr.trim().split('\n').filter((l) => /error|fail/i.test(l)).at(-1) ?? run.stderr.trim().split('\n').at(-1) ?? '';
            outcome.error = `influxd restore ${run.exitCode === null ? `was killed by ${run.signal}` : `exited with code ${run.exitCode}`} restoring ${step.artefact}${line ? `: ${line.trim()}` : ''}`;
          }
          return outcome;
        },
      };
    }), context);
  },
  defaultDatabase: (spec) => spec.restore.find((s) => s.database)?.newDatabase ?? spec.restore.find((s) => s.database)?.database ?? '',
  plannedFormat: () => 'directory',
};
