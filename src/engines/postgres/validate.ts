// What the schema cannot say about a postgres store and the checks aimed at it.
import type { PostgresStoreSpec } from '../../drill/types.ts';
import type { DrillIssue, EngineValidation } from '../types.ts';
import { parseTargetTime } from './pgbackrest.ts';

export const validatePostgres: EngineValidation<PostgresStoreSpec> = {
  store(spec) {
    const issues: DrillIssue[] = [];
    spec.restore.forEach((step, i) => {
      const at = ['restore', i];
      if (step.format === 'pgbackrest') {
        // The server starts on the restored data dir: the first step, and only one.
        if (i !== 0) issues.push([[...at, 'format'], 'a pgbackrest step restores the whole cluster before the server starts; it must be the first step']);
        if (!step.stanza) issues.push([at, 'a pgbackrest step needs stanza']);
        if (step.database) issues.push([[...at, 'database'], 'a pgbackrest repository restores the whole cluster; remove database']);
        if (step.target !== undefined && Number.isNaN(parseTargetTime(step.target))) issues.push([[...at, 'target'], `target "${step.target}" is not a timestamp with a time zone (e.g. 2026-03-02 14:00:00+00)`]);
        return;
      }
      for (const k of ['stanza', 'target', 'set'] as const) if (step[k] !== undefined) issues.push([[...at, k], `${k} applies to format: pgbackrest only`]);
      if (step.format !== 'dumpall' && !step.database) issues.push([at, 'database is required unless format is dumpall']);
      if (step.format === 'dumpall' && step.database) issues.push([[...at, 'database'], 'a pg_dumpall file creates its own databases; remove database']);
    });
    return issues;
  },
  check(check) {
    if (check.type === 'count' && !check.table) return [[[], 'a postgres count check needs table']];
    if (check.type === 'query' && !check.sql) return [[[], 'a postgres query check needs sql']];
    return [];
  },
};

/** `fetch: pod`: the pod downloads one dump that pg_restore or psql reads as it is. */
export function postgresPodFetchIssues(spec: PostgresStoreSpec, step: number): DrillIssue[] {
  return spec.restore[step]!.format === 'pgbackrest' ? [[['fetch'], 'fetch: pod cannot fetch a pgBackRest repository; use fetch: harness']] : [];
}
