import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const moduleUrl = new URL('../../src/util/tool-version.ts', import.meta.url).href;

/** A fresh process each time, so only the cache on disk can carry an answer from one run to the next. */
async function askInNewProcess(binary: string, env: Record<string, string>): Promise<{ stdout: string; exitCode: number }> {
  const script = `const { askVersion } = await import(${JSON.stringify(moduleUrl)}); const r = await askVersion(${JSON.stringify(binary)}, ['--version']); console.log(JSON.stringify({ stdout: r.stdout.trim(), exitCode: r.exitCode }));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...env } });
  return JSON.parse(stdout) as { stdout: string; exitCode: number };
}

describe("a tool's version, kept between runs", () => {
  let dir: string;
  let tool: string;
  let calls: string;
  const writeTool = async (version: string, exitCode = 0) => {
    // A new file (rename over the old one): a new inode and change time, as an upgrade gives.
    await writeFile(`${tool}.new`, `#!/bin/sh\necho called >> ${calls}\necho "tool ${version}"\nexit ${exitCode}\n`);
    await chmod(`${tool}.new`, 0o755);
    await promisify(execFile)('mv', [`${tool}.new`, tool]);
  };
  const callCount = async () => (await readFile(calls, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tool-version-'));
    tool = join(dir, 'tool');
    calls = join(dir, 'calls');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('asks the binary once, then reads its answer from the cache in later processes', async () => {
    const env = { XDG_CACHE_HOME: join(dir, 'cache') };
    await writeTool('1.0');
    assert.deepEqual(await askInNewProcess(tool, env), { stdout: 'tool 1.0', exitCode: 0 });
    assert.deepEqual(await askInNewProcess(tool, env), { stdout: 'tool 1.0', exitCode: 0 });
    assert.equal(await callCount(), 1);
    assert.match(await readFile(join(dir, 'cache', 'restoreproof', 'tool-versions.json'), 'utf8'), /tool 1\.0/);
  });

  it('asks again once the binary is replaced', async () => {
    const env = { XDG_CACHE_HOME: join(dir, 'cache') };
    await writeTool('1.0');
    await askInNewProcess(tool, env);
    await writeTool('2.0');
    assert.deepEqual(await askInNewProcess(tool, env), { stdout: 'tool 2.0', exitCode: 0 });
    assert.equal(await callCount(), 2);
  });

  it('never keeps an answer that failed, and keeps none when turned off', async () => {
    await writeTool('1.0', 3);
    const env = { XDG_CACHE_HOME: join(dir, 'cache') };
    assert.equal((await askInNewProcess(tool, env)).exitCode, 3);
    assert.equal((await askInNewProcess(tool, env)).exitCode, 3);
    await writeTool('1.0');
    const off = { ...env, RESTOREPROOF_TOOL_VERSION_CACHE: 'off' };
    await askInNewProcess(tool, off);
    await askInNewProcess(tool, off);
    assert.equal(await callCount(), 4);
  });
});
