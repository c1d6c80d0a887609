import { ArtefactError } from '../../errors.ts';
import { evaluate } from '../../checks/expectations.ts';
import type { CheckRunner } from '../../checks/types.ts';
import { inspectLocalArtefact } from '../../sources/local.ts';
import type { InfoCheckSpec, KeyCheckSpec, KeysCheckSpec, RedisStoreSpec } from '../../drill/types.ts';
import type { Engine } from '../types.ts';
import { redisClient } from './client.ts';
import { parseRdbHeader } from './rdb.ts';
import { redisLocalServer } from './local.ts';
import { redisContainerServer } from './container.ts';
import { redisIntegrity, redisIntegrityTools } from './integrity.ts';
import { redisMutants } from './mutants.ts';

const withRedis = async <T>(context: Parameters<CheckRunner>[1], db: number, fn: (c: Awaited<ReturnType<typeof redisClient>>) => Promise<T>) => {
  const client = await redisClient(context.store.endpoint, db);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
};

const keys: CheckRunner<KeysCheckSpec> = async (check, context) => {
  const actual = await withRedis(context, check.db ?? 0, async (client) => {
    if (!check.pattern) return Number(await client.sendCommand(['DBSIZE']));
    let cursor = '0';
    let n = 0;
    do {
      const [next, found] = (await client.sendCommand(['SCAN', cursor, 'MATCH', check.pattern, 'COUNT', '1000'])) as [string, string[]];
      cursor = String(next);
      n += found.length;
    } while (cursor !== '0');
    return n;
  });
  const e = evaluate(check.expect, actual);
  const what = check.pattern ? `keys matching ${check.pattern}` : 'keys';
  return { passed: e.passed, expected: e.expected, actual, message: `db ${check.db ?? 0} has ${actual} ${what}${e.passed ? '' : `, expected ${e.expected}`}` };
};

const key: CheckRunner<KeyCheckSpec> = async (check, context) => {
  const { type, value } = await withRedis(context, check.db ?? 0, async (client) => {
    const type = String(await client.sendCommand(['TYPE', check.key]));
    const value = type === 'string' && check.value !== undefined ? String(await client.sendCommand(['GET', check.key])) : undefined;
    return { type, value };
  });
  const expected = [`${check.key} exists`, check.keyType ? `type ${check.keyType}` : '', check.value !== undefined ? `value ${JSON.stringify(check.value)}` : ''].filter(Boolean).join(', ');
  const problems = [
    type === 'none' ? `${check.key} does not exist` : '',
    type !== 'none' && check.keyType && type !== check.keyType ? `type is ${type}, not ${check.keyType}` : '',
    type !== 'none' && check.value !== undefined && value !== check.value ? `value differs (${value === undefined ? `a ${type}` : JSON.stringify(value.slice(0, 80))})` : '',
  ].filter(Boolean);
  return { passed: problems.length === 0, expected, actual: { type, ...(value !== undefined ? { value: value.slice(0, 200) } : {}) }, message: problems.join('; ') || `${check.key} is a ${type}` };
};

const info: CheckRunner<InfoCheckSpec> = async (check, context) => {
  const section = check.section ?? 'keyspace';
  const text = await withRedis(context, 0, async (client) => String(await client.sendCommand(['INFO', section])));
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const [k, v] = [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1)];
    if (!k || line.startsWith('#')) continue;
    fields.set(k, v);
    // keyspace lines: db0:keys=3,expires=0,avg_ttl=0 → db0.keys
    if (/=/.test(v)) for (const part of v.split(',')) fields.set(`${k}.${part.split('=')[0]}`, part.split('=')[1] ?? '');
  }
  const raw = fields.get(check.field);
  const actual = raw === undefined ? null : /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
  const e = evaluate(check.expect, actual);
  return { passed: e.passed, expected: e.expected, actual, message: raw === undefined ? `INFO ${section} has no field ${check.field}` : `${check.field} = ${raw}${e.passed ? '' : `: ${e.reason}`}` };
};

export const redisEngine: Engine<RedisStoreSpec> = {
  name: 'redis',
  servers: { local: redisLocalServer, container: redisContainerServer },
  capabilities: { formats: ['rdb', 'aof'], multipleDatabases: true, restoresBeforeStart: true, checksNameDatabase: false },
  checks: { keys, key, info } as Engine['checks'],
  // redis-check-rdb reads the artefact alone: its verdict is reported even when the server refused to start on it.
  artefactChecks: { integrity: redisIntegrity } as Engine['artefactChecks'],
  checkTools: (check, spec) => redisIntegrityTools(check, spec),
  mutants: redisMutants,
  async inspect(spec, step, drillDir, options) {
    const ref = spec.restore[step]!;
    const info = await inspectLocalArtefact(ref.artefact, drillDir, { ...options, directory: true });
    const declared = ref.format ?? 'auto';
    if (info.kind === 'directory') {
      if (declared === 'rdb') throw new ArtefactError(ref.artefact, 'is a directory, not an RDB file');
      return { store: '', step, info, format: 'aof' };
    }
    const header = parseRdbHeader(info.head);
    if (!header) throw new ArtefactError(ref.artefact, 'is not an RDB snapshot (no REDIS header)', 'point artefact at dump.rdb, or at an appendonlydir directory for AOF');
    if (declared === 'aof') throw new ArtefactError(ref.artefact, 'is an RDB file, not an AOF directory');
    const ctime = Number(header.aux.ctime);
    return {
      store: '',
      step,
      info,
      format: `rdb v${header.rdbVersion}${header.aux['redis-ver'] ? ` (redis ${header.aux['redis-ver']})` : ''}`,
      ...(ctime > 0 ? { pointInTime: { at: new Date(ctime * 1000).toISOString(), source: 'RDB ctime aux field' } } : {}),
    };
  },
  describeRestore: (spec, artefacts) => artefacts.map((a) => `copy ${a.info.path} into the server's fresh dir, then start redis-server on it (${a.format})`),
  async restore(store, spec, artefacts) {
    // The snapshot was loaded when the server started; record what it holds.
    const t0 = performance.now();
    const startedAt = new Date().toISOString();
    const client = await redisClient(store.endpoint);
    try {
      const keyspace = String(await client.sendCommand(['INFO', 'keyspace'])).trim().split(/\r?\n/).filter((l) => l.startsWith('db')).join(' ');
      return artefacts.map((a) => ({
        step: a.step, artefact: spec.restore[a.step]!.artefact, format: a.format, tool: 'redis-server', args: [a.format.startsWith('rdb') ? '--dbfilename dump.rdb' : '--appendonly yes'],
        status: 'passed' as const, exitCode: 0, stderr: '', startedAt, durationMs: performance.now() - t0, details: { keyspace: keyspace || 'empty' },
      }));
    } finally {
      await client.close();
    }
  },
  defaultDatabase: () => '0',
  plannedFormat: (_name, folder) => (folder ? 'aof' : 'rdb'),
};
