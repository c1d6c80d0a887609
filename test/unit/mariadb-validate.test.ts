import assert from 'node:assert/strict';
import { parseDrill } from '../../src/drill/load.ts';
import { DrillConfigError } from '../../src/errors.ts';

const drill = (check: string) => `apiVersion: restoreproof/v1
kind: RestoreDrill
metadata: { name: names }
spec:
  objectives: { rpo: 1h }
  stores:
    db:
      engine: mariadb
      restore: [ { artefact: shop.sql, database: shop } ]
  checks:
    - ${check}
`;

const issuesOf = (check: string) => {
  try {
    parseDrill(drill(check), 'drill.yaml', { env: {} });
    return [];
  } catch (err) {
    assert.ok(err instanceof DrillConfigError, String(err));
    return err.issues.map((i) => [i.path, i.message]);
  }
};

describe('mariadb engine: table names of its checks, validated at load', () => {
  it('count and the row-reading checks accept odd names and refuse unbalanced backticks or three parts, naming the field', () => {
    assert.deepEqual(issuesOf('{ type: freshness, store: db, table: "My `odd` Table", column: "Created At" }'), []);
    assert.deepEqual(issuesOf('{ type: count, store: db, table: "`My Shop`.`My ``odd`` Table`", expect: { min: 1 } }'), []);
    assert.deepEqual(issuesOf('{ type: freshness, store: db, table: "`My Shop`.`odd", column: at }'), [['spec.checks[0].table', '"`My Shop`.`odd": unbalanced backticks']]);
    assert.deepEqual(issuesOf('{ type: decrypt, store: db, table: a.b.c, column: v, cipher: aes-256-gcm, key: { env: K } }'), [['spec.checks[0].table', '"a.b.c": write a name with dots in backticks (`a.b`)']]);
    assert.deepEqual(issuesOf('{ type: count, store: db, expect: { min: 1 } }'), [['spec.checks[0]', 'a mariadb count check needs table']]);
  });
});
