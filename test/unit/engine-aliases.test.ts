import assert from 'node:assert/strict';
import { parseDrill } from '../../src/drill/load.ts';
import { engineAliases } from '../../src/engines/index.ts';
import { DrillConfigError } from '../../src/errors.ts';

const drill = (engine: string, extra = '') => `apiVersion: restoreproof/v1
kind: RestoreDrill
metadata: { name: alias }
spec:
  stores:
    db:
      engine: ${engine}
      restore: [ { artefact: shop.sql, database: shop${extra} } ]
  checks:
    - { type: count, store: db, table: items, expect: { min: 1 } }
`;

describe('engine aliases, declared by the engine', () => {
  it('the registry holds what the engines declare: mysql is mariadb', () => {
    assert.equal(engineAliases.mysql, 'mariadb');
  });

  it('engine: mysql loads as the mariadb engine, and the drill keeps what it said', () => {
    const loaded = parseDrill(drill('mysql'), 'drill.yaml', { env: {} });
    assert.equal(loaded.document.spec.stores.db!.engine, 'mariadb');
    assert.deepEqual(loaded.requestedEngines, { db: 'mysql' });
    const plain = parseDrill(drill('mariadb'), 'drill.yaml', { env: {} });
    assert.equal(plain.requestedEngines, undefined);
  });

  it('an alias gets the engine\'s schema: a field mariadb does not have is refused, naming the line', () => {
    try {
      parseDrill(drill('mysql', ', stanza: main'), 'drill.yaml', { env: {} });
      assert.fail('expected a DrillConfigError');
    } catch (err) {
      assert.ok(err instanceof DrillConfigError, String(err));
      assert.deepEqual(err.issues.map((i) => [i.path, i.line, i.message.split(';')[0]]), [['spec.stores.db.restore[0].stanza', 8, 'unknown key "stanza"']]);
    }
  });
});
