import assert from 'node:assert/strict';
import { resolveBinary } from '../../src/util/tools.ts';

describe('resolveBinary: the binary a store names', () => {
  it('a named path that is not executable stops the run, even when PATH has the tool', async () => {
    await assert.rejects(
      resolveBinary({ explicit: '/nonexistent/bin/sh', envVar: 'RESTOREPROOF_TEST_SH', names: ['sh'] }, 'sh', 'install it'),
      (err: Error & { code?: string; hint?: string }) => {
        assert.equal(err.code, 'E_TOOL_NOT_FOUND');
        assert.match(err.message, /\/nonexistent\/bin\/sh/);
        assert.match(err.hint ?? '', /is named for it but is not an executable file/);
        return true;
      },
    );
  });

  it('without a named path, the environment variable and then PATH are used', async () => {
    const found = await resolveBinary({ envVar: 'RESTOREPROOF_TEST_SH', names: ['sh'] }, 'sh', 'install it');
    assert.match(found, /\/sh$/);
  });
});
