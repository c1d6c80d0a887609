// The integrity check of a Redis store: redis-check-rdb (or redis-check-aof) on the artefact itself.
// It reads only the artefact, so it runs whether or not the server started on it: a truncated RDB
// that redis-server refuses still gets this verdict in the report.
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ArtefactCheckRunner } from '../../checks/types.ts';
import type { RedisStoreSpec, StoreCheckSpec } from '../../drill/types.ts';
import type { VerifiedArtefact } from '../types.ts';
import type { LocalTool } from '../../runtimes/servers.ts';
import { runTool } from '../../util/process.ts';
import { isExecutable, resolveBinary } from '../../util/tools.ts';
import { redisServerBinary } from './local.ts';

type IntegrityCheckSpec = Extract<StoreCheckSpec, { type: 'integrity' }>;
type Checker = 'redis-check-rdb' | 'redis-check-aof';

/** The checker beside the store's redis-server (the same build), else $RESTOREPROOF_<NAME>, else PATH. */
async function checkerBinary(name: Checker, spec: RedisStoreSpec): Promise<string> {
  const server = await redisServerBinary(spec).catch(() => undefined);
  const beside = server && join(dirname(server), name);
  if (beside && (await isExecutable(beside))) return beside;
  return resolveBinary({ envVar: `RESTOREPROOF_${name.toUpperCase().replaceAll('-', '_')}`, names: [name] }, name, 'install Redis (Debian: apt-get install redis-tools), which ships it beside redis-server');
}

const checkerOf = (a: VerifiedArtefact): Checker => (a.format.startsWith('rdb') ? 'redis-check-rdb' : 'redis-check-aof');

/** What the checker reads: the RDB file, or an AOF directory's manifest (Redis 7), else its single .aof file. */
async function checkedFile(a: VerifiedArtefact): Promise<string> {
  if (checkerOf(a) === 'redis-check-rdb') return a.info.path;
  const inside = async (dir: string) => (await readdir(dir).catch(() => [] as string[])).sort();
  for (const dir of [a.info.path, join(a.info.path, 'appendonlydir')]) {
    const names = await inside(dir);
    const manifest = names.find((n) => n.endsWith('.manifest'));
    if (manifest) return join(dir, manifest);
    const aof = names.filter((n) => n.endsWith('.aof'));
    if (aof.length === 1) return join(dir, aof[0]!);
  }
  throw new Error(`${a.info.path} holds no AOF manifest and not exactly one .aof file`);
}

/** The checker's own words: the error it found (the line after its ERROR banner), else what it read. */
function verdictLine(output: string, ok: boolean): string {
  const lines = output.split(/\r?\n/).map((l) => l.replace(/^\[(offset \d+|info)\]\s*/, '').trim()).filter(Boolean);
  if (ok) {
    // A multi-part AOF's summary over its parts' verdicts (stdout and stderr interleave, so by what
    // it says, not where); the keys read belong to an RDB only.
    const verdict = (lines.find((l) => /^All AOF files .*valid/i.test(l)) ?? lines.find((l) => /looks OK|is valid/i.test(l)))?.replace(/\\o\/\s*/g, '').trim();
    return [verdict, verdict && /RDB looks OK/.test(verdict) ? lines.find((l) => /keys read/.test(l)) : undefined].filter(Boolean).join(', ') || (lines.at(-1) ?? 'OK');
  }
  const banner = lines.findIndex((l) => /ERROR DETECTED/.test(l));
  return (banner >= 0 ? lines[banner + 1] : lines.find((l) => /error|unexpected|bad|invalid/i.test(l))) ?? lines.at(-1) ?? '(no output)';
}

export const redisIntegrity: ArtefactCheckRunner<IntegrityCheckSpec> = async (check, context) => {
  const spec = context.drill.document.spec.stores[check.store] as RedisStoreSpec;
  if (context.artefacts.length === 0) return { passed: false, expected: 'every artefact checked', actual: null, message: `store ${check.store} has no verified artefact to check` };
  const verdicts: { artefact: string; checker: Checker; ok: boolean; line: string }[] = [];
  for (const a of context.artefacts) {
    const checker = checkerOf(a);
    const artefact = spec.restore[a.step]?.artefact ?? a.info.path;
    if (a.info.fetchedInPod) {
      verdicts.push({ artefact, checker, ok: false, line: 'fetched in the store pod, so not on this machine to check' });
      continue;
    }
    const run = await runTool({ command: await checkerBinary(checker, spec), args: [await checkedFile(a)], captureStdout: true, signal: context.signal });
    verdicts.push({ artefact, checker, ok: run.exitCode === 0, line: verdictLine(`${run.stdout}\n${run.stderr}`, run.exitCode === 0) });
  }
  const bad = verdicts.filter((v) => !v.ok);
  return {
    passed: bad.length === 0,
    expected: 'every artefact passes redis-check-rdb/redis-check-aof',
    actual: verdicts.map(({ artefact, checker, ok }) => ({ artefact, checker, ok })),
    message: bad.length === 0
      ? verdicts.map((v) => `${v.checker} ${v.artefact}: ${v.line}`).join('; ')
      : bad.map((v) => `${v.checker} found ${v.artefact} damaged: ${v.line}`).join('; '),
  };
};

/** The checkers an integrity check runs, for preflight (exit 3 when one is missing). */
export function redisIntegrityTools(check: StoreCheckSpec, spec: RedisStoreSpec): LocalTool[] {
  if (check.type !== 'integrity') return [];
  const checkers = new Set(spec.restore.map((step) => (step.format === 'aof' ? 'redis-check-aof' : 'redis-check-rdb') as Checker));
  // redis-check-aof has no --version; run bare, its first line is its usage.
  return [...checkers].map((name) => ({ name, find: () => checkerBinary(name, spec), versionArgs: name === 'redis-check-rdb' ? ['--version'] : [] }));
}
