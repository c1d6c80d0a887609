// The engines × runtimes conformance suite: every engine folder's tiny backup and counting check
// (src/engines/<name>/conformance.ts), restored on one runtime. Shared by test/conformance (local,
// containers) and test/kubernetes (the cluster), so a new engine is tested everywhere it can run.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { EngineConformance } from '../../src/engines/conformance.ts';
import { engines } from '../../src/engines/index.ts';
import type { RunReport } from '../../src/report/types.ts';
import { runtimes } from '../../src/runtimes/index.ts';
import { runDrill } from '../../src/run/run.ts';
import type { RuntimeName } from '../../src/drill/types.ts';
import { assertValidReport } from './fixtures.ts';

const enginesDir = fileURLToPath(new URL('../../src/engines/', import.meta.url));

export const engineNames = Object.keys(engines).sort();

/** The engines a runtime declares it hosts, in name order. */
export const hostedBy = (runtime: RuntimeName): string[] => engineNames.filter((name) => (runtimes[runtime].engines as readonly string[]).includes(name));

export async function conformanceOf(engine: string): Promise<{ conformance: EngineConformance; fixtures: string }> {
  const file = join(enginesDir, engine, 'conformance.ts');
  assert.ok(existsSync(file), `engine ${engine} has no conformance.ts: every engine folder gives the conformance suite a tiny backup and a count check`);
  const { conformance } = (await import(file)) as { conformance: EngineConformance };
  return { conformance, fixtures: join(enginesDir, engine, 'conformance') };
}

/** The test bed backends the engines' servers and tools come from. */
export async function engineBackends(): Promise<string[]> {
  return Promise.all(engineNames.map(async (engine) => (await conformanceOf(engine)).conformance.testbedBackend ?? engine));
}

/**
 * Restores the engine's fixture on `runtime` twice: with the count it holds (must pass), and with
 * one more (must fail, exit 1): a check that cannot fail proves nothing.
 */
export async function runEngineConformance(engine: string, runtime: RuntimeName, work: string, env: Record<string, string | undefined>): Promise<{ passed: RunReport; failed: RunReport }> {
  const { conformance, fixtures } = await conformanceOf(engine);
  const run = async (suffix: string, equals: number) => {
    const name = `conformance-${engine}-${suffix}`;
    const drill = {
      apiVersion: 'restoreproof/v1',
      kind: 'RestoreDrill',
      metadata: { name },
      spec: {
        runtime,
        stores: { store: conformance.store(fixtures) },
        checks: [{ id: 'count', store: 'store', ...conformance.count({ equals }) }],
      },
    };
    const file = join(work, `${name}-${runtime}.yaml`);
    await writeFile(file, stringify(drill));
    const report = await runDrill(file, { runtime, reportDir: join(work, 'reports'), env });
    assertValidReport(report);
    assert.equal(report.runtime, runtime);
    assert.equal(report.teardown.status, 'completed', JSON.stringify({ teardown: report.teardown, errors: report.errors }));
    return report;
  };
  // Engines may add automatic checks (MongoDB's completeness); the suite reads its own.
  const counts = (report: RunReport) => report.checks.filter((c) => c.id === 'count').map((c) => [c.status, conformance.counted ? conformance.counted(c.actual) : c.actual]);
  const passed = await run('holds', conformance.expected);
  assert.equal(passed.exitCode, 0, `${engine} on ${runtime}: ${JSON.stringify(passed.errors)}`);
  assert.equal(passed.stores[0]!.status, 'passed');
  assert.deepEqual(counts(passed), [['passed', conformance.expected]]);
  assert.ok(passed.checks.every((c) => c.status === 'passed'), JSON.stringify(passed.checks));
  const failed = await run('off-by-one', conformance.expected + 1);
  assert.equal(failed.exitCode, 1, `${engine} on ${runtime}: the check must fail when the count differs`);
  assert.deepEqual(counts(failed), [['failed', conformance.expected]]);
  return { passed, failed };
}
