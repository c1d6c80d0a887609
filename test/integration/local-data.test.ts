// Where a local PostgreSQL store keeps its data (RESTOREPROOF_LOCAL_DATA), and what that changes in
// the server: in memory, its dynamic shared memory lives in its data dir (mmap), so a server that
// dies unclean leaves no /dev/shm/PostgreSQL.* segment behind; on disk, PostgreSQL's default.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startLocalPostgres } from '../../src/engines/postgres/local.ts';
import { MEMORY_ROOT } from '../../src/runtimes/local/data-root.ts';
import { requireBackends, useTestbedBinaries } from '../support/backends.ts';

describe('local runtime: a PostgreSQL store in memory or on disk (real PostgreSQL)', function () {
  before(function () {
    requireBackends(this, 'postgres');
    useTestbedBinaries();
  });
  afterEach(() => {
    delete process.env.RESTOREPROOF_LOCAL_DATA;
  });

  for (const [placement, inMemory, sharedMemory] of [['memory', true, 'mmap'], ['disk', false, 'posix']] as const) {
    it(`${placement}: its dir is ${inMemory ? '' : 'not '}under ${MEMORY_ROOT}, and dynamic_shared_memory_type is ${sharedMemory}`, async () => {
      process.env.RESTOREPROOF_LOCAL_DATA = placement;
      const store = await startLocalPostgres({ runId: `data-${randomBytes(3).toString('hex')}`, drillName: 't', storeName: 'db', spec: { engine: 'postgres', restore: [] }, drillDir: '/', signal: new AbortController().signal });
      try {
        const dir = store.resources.find((r) => r.kind === 'directory')!.id;
        assert.equal(dir.startsWith(`${MEMORY_ROOT}/`), inMemory, dir);
        const client = new pg.Client({ ...store.endpoint, database: 'postgres' });
        await client.connect();
        try {
          assert.equal((await client.query<{ dynamic_shared_memory_type: string }>('show dynamic_shared_memory_type')).rows[0]!.dynamic_shared_memory_type, sharedMemory);
        } finally {
          await client.end();
        }
      } finally {
        await store.stop();
      }
    });
  }
});
