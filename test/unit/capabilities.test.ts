// Validation reads what the engines declare: the messages name the engines that answer, taken
// from the registry, and no rule in drill/ or checks/ names an engine.
import assert from 'node:assert/strict';
import { parseDrill } from '../../src/drill/load.ts';
import { answers, aStoreOf } from '../../src/engines/capabilities.ts';
import { engines } from '../../src/engines/index.ts';
import { DrillConfigError } from '../../src/errors.ts';

const head = `apiVersion: restoreproof/v1
kind: RestoreDrill
metadata:
  name: caps
spec:
`;
const stores = `  stores:
    db:
      engine: postgres
      restore:
        - { artefact: /backups/app.dump, database: app }
    docs:
      engine: mongodb
      restore:
        - { artefact: /backups/docs.archive }
    cache:
      engine: redis
      restore:
        - { artefact: /backups/dump.rdb }
    files:
      engine: s3
      restore:
        - { artefact: /backups/files, bucket: files }
`;

function issuesOf(checks: string, runtime = ''): { path?: string | undefined; message: string }[] {
  try {
    parseDrill(`${head}${runtime}${stores}  checks:\n${checks}`, 'caps.yaml', { env: {} });
  } catch (err) {
    assert.ok(err instanceof DrillConfigError, String(err));
    return err.issues;
  }
  return [];
}

const named = (filter: (e: (typeof engines)[keyof typeof engines]) => boolean) => Object.values(engines).filter(filter).map((e) => e.name);

describe('engine capabilities, as validation reads them', () => {
  it('a check aimed at an engine that does not answer it names the engines whose checks map has it', () => {
    const answering = named((e) => 'count' in e.checks);
    assert.ok(answering.length >= 2 && !answering.includes('redis'));
    const [issue] = issuesOf('    - { type: count, store: cache, table: t, expect: { min: 1 } }\n');
    assert.equal(issue?.path, 'spec.checks[0].type');
    assert.equal(issue?.message, `a count check needs ${aStoreOf(answering)}; cache is redis, which has no count check`);
  });

  it('an integrity check on an engine without one names the engines that have one', () => {
    // Its own checks or its artefact checks (redis-check-rdb reads the RDB, not the store).
    const answering = named((e) => answers(e, 'integrity'));
    assert.ok(answering.includes('mariadb') && !answering.includes('etcd') && !answering.includes('influxdb'));
    const etcd = `    cluster:\n      engine: etcd\n      restore:\n        - { artefact: /backups/snapshot.db }\n`;
    let issues: { path?: string | undefined; message: string }[] = [];
    try {
      parseDrill(`${head}${stores}${etcd}  checks:\n    - { type: integrity, store: cluster }\n`, 'caps.yaml', { env: {} });
    } catch (err) {
      assert.ok(err instanceof DrillConfigError, String(err));
      issues = err.issues;
    }
    assert.deepEqual(issues.map((i) => [i.path, i.message]), [['spec.checks[0].type', `an integrity check needs ${aStoreOf(answering)}; cluster is etcd, which has no integrity check`]]);
    assert.match(issues[0]!.message, /^an integrity check needs an? (\w+, )*(\w+ or )?mariadb( or \w+)* store; /);
  });

  it('the row-reading checks go to the engines that stream rows, which say which field names what is read', () => {
    const streaming = named((e) => e.rows !== undefined);
    assert.ok(streaming.includes('postgres') && streaming.includes('mongodb') && !streaming.includes('s3'));
    const freshness = (target: string) => `    - { type: freshness, ${target}, column: at, maxAge: 1h }\n`;
    assert.deepEqual(issuesOf(freshness('store: files, table: t')).map((i) => i.message), [`a freshness check needs ${aStoreOf(streaming)}; files is s3, which has no freshness check`]);
    assert.deepEqual(issuesOf(freshness('store: db, collection: c')).map((i) => i.message), ['a postgres freshness check needs table']);
    assert.deepEqual(issuesOf(freshness('store: docs, table: t')).map((i) => i.message), ['a mongodb freshness check needs collection']);
    // Every streaming engine with the field it reads, e.g. "give collection (mongodb) or table (postgres), not both".
    const both = issuesOf(freshness('store: docs, table: t, collection: c'))[0]!.message;
    assert.equal(both, `give ${streaming.map((name) => `${engines[name as keyof typeof engines].rows!.relation} (${name})`).join(' or ')}, not both`);
    assert.match(both, /table \(postgres\)/);
    assert.match(both, /collection \(mongodb\)/);
    assert.deepEqual(issuesOf(freshness('store: docs, collection: c')), []);
  });

  it('each engine validates the checks aimed at it: a postgres count needs table, a mongodb one collection', () => {
    assert.deepEqual(issuesOf('    - { type: count, store: db, collection: c, expect: { min: 1 } }\n').map((i) => [i.path, i.message]), [['spec.checks[0]', 'a postgres count check needs table']]);
    assert.deepEqual(issuesOf('    - { type: count, store: docs, table: t, expect: { min: 1 } }\n').map((i) => [i.path, i.message]), [['spec.checks[0]', 'a mongodb count check needs collection']]);
  });

  it('reachability reads references from engines that declare them and objects from engines that hold them', () => {
    const check = (references: string, objects: string) => `    - type: reachability\n      references: ${references}\n      objects: ${objects}\n`;
    const wrong = issuesOf(check('{ store: cache, sql: select 1 as key }', '{ store: db }'));
    assert.deepEqual(wrong.map((i) => [i.path, i.message]), [
      ['spec.checks[0].references.store', `references come from ${aStoreOf(named((e) => e.references !== undefined))}; cache is redis`],
      ['spec.checks[0].objects.store', `objects come from ${aStoreOf(named((e) => e.objects !== undefined))}; db is postgres`],
    ]);
    assert.deepEqual(issuesOf(check('{ store: docs, collection: files }', '{ store: files }')).map((i) => [i.path, i.message]), [['spec.checks[0].references', 'a mongodb reference source needs collection and field']]);
    assert.deepEqual(issuesOf(check('{ store: db, sql: select key from files }', '{ store: files }')), []);
  });

  it('messages name stores with the article their first engine is said with', () => {
    assert.equal(aStoreOf(['mongodb', 'postgres']), 'a mongodb or postgres store');
    assert.equal(aStoreOf(['s3']), 'an s3 store');
    assert.equal(aStoreOf(['etcd']), 'an etcd store');
    assert.equal(aStoreOf(['influxdb']), 'an influxdb store');
    assert.equal(aStoreOf(['redis']), 'a redis store');
  });
});
