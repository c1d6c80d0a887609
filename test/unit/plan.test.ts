import assert from 'node:assert/strict';
import { join } from 'node:path';
import { planDrill } from '../../src/run/plan.ts';
import { loadDrill } from '../../src/drill/load.ts';
import { repoRoot } from '../support/backends.ts';

describe('plan', () => {
  const restoreLines = async (drill: string) => {
    const lines = await planDrill(await loadDrill(join(repoRoot, 'drills/examples', drill)), { runtime: 'local' });
    assert.ok(!lines.some((l) => l.includes('undefined')), lines.join('\n'));
    return lines.slice(lines.findIndex((l) => l.startsWith('3. restore')) + 1, lines.findIndex((l) => l.startsWith('4. checks')));
  };

  it('a fetched artefact ({source, select}) is restored from its source and selection (postgres and s3 alike)', async () => {
    assert.deepEqual(await restoreLines('gocdnext.yaml'), [
      '   - db: create database "gocdnext"; pg_restore --no-owner --no-privileges --exit-on-error --dbname gocdnext <fetched ../backups/gocdnext/postgres, latest {date:YYYYMMDD}/gocdnext-{date}.dump>',
      '   - artifacts: create bucket gocdnext-artifacts; put every object of <fetched ../backups/gocdnext/artifacts, latest {date:YYYYMMDD}/>, 8 at a time',
    ]);
  });

  it('an unpacked member gives the format: a gzip mongodump archive, a pg_dump file, a folder of objects', async () => {
    const lines = await restoreLines('opencrvs.yaml');
    assert.equal(lines.length, 3, lines.join('\n'));
    assert.match(lines[0]!, /^ {3}- mongo: mongorestore --archive --gzip --drop < <fetched \.\.\/backups\/opencrvs, latest \{date:YYYY-MM-DD\}\/mongo_backup_\{date\}\.tar\.gz\.enc, member hearth\.archive\.gz>$/);
    assert.match(lines[1]!, /^ {3}- postgres: create database "events"; pg_restore .* --dbname events <fetched .*, member events\.dump>$/);
    assert.match(lines[2]!, /^ {3}- minio: create bucket attachments; put every object of <fetched .*, member minio>, 8 at a time$/);
  });
});
