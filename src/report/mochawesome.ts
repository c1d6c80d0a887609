import { AssertionError } from 'node:assert';
import Mocha from 'mocha';
import Mochawesome from 'mochawesome';
import addContext from 'mochawesome/addContext.js';
import type { RunReport } from './types.ts';

/**
 * The detailed per-check HTML view: the drill's results replayed as a Mocha suite through the
 * mochawesome reporter, so each check is a test with its expected and actual values and real duration.
 */
export async function writeMochawesome(report: RunReport, dir: string, baseName: string): Promise<void> {
  /** mochawesome, with the run's start, end and duration in its stats (the page header), not the replay's milliseconds. */
  class DrillReporter extends Mochawesome {
    constructor(runner: Mocha.Runner, options: Mocha.MochaOptions) {
      // Registered after Mocha's stats collector and before mochawesome's own handler reads the stats.
      runner.on('end', () => Object.assign(runner.stats!, { start: new Date(report.startedAt), end: new Date(report.endedAt), duration: Math.round(report.durationMs) }));
      super(runner, options);
    }
  }
  const mocha = new Mocha({
    reporter: DrillReporter,
    reporterOptions: {
      reportDir: dir,
      reportFilename: baseName,
      reportTitle: `restore drill ${report.drill.name}: ${report.status}`,
      reportPageTitle: `restoreproof ${report.runId}`,
      inline: true,
      charts: false,
      code: false,
      quiet: true,
      consoleReporter: 'none',
      html: true,
      json: true,
    },
    timeout: 0,
  });
  const durations = new Map<Mocha.Test, number>();
  const root = Mocha.Suite.create(mocha.suite, `${report.drill.name} (${report.runId})`);

  const restore = Mocha.Suite.create(root, 'restore');
  for (const store of report.stores) {
    for (const step of store.steps) {
      const test = new Mocha.Test(`${store.name}: restore ${step.artefact}`, function (this: Mocha.Context) {
        addContext(this, { title: 'command', value: `${step.tool} ${step.args.join(' ')}` });
        if (step.status === 'skipped') this.skip();
        if (step.status === 'failed') {
          addContext(this, { title: 'stderr', value: step.stderr });
          throw new Error(step.error ?? 'restore failed');
        }
      });
      durations.set(test, step.durationMs);
      restore.addTest(test);
    }
  }
  const checks = Mocha.Suite.create(root, 'checks');
  for (const check of report.checks) {
    const test = new Mocha.Test(`${check.id}: ${check.name}`, function (this: Mocha.Context) {
      addContext(this, { title: 'check', value: { type: check.type, store: check.store, database: check.database, severity: check.severity, expected: check.expected, actual: check.actual, message: check.message } });
      if (check.status === 'skipped') this.skip();
      if (check.status === 'failed') throw new AssertionError({ message: check.message, expected: check.expected, actual: check.actual, operator: check.type });
    });
    durations.set(test, check.durationMs);
    checks.addTest(test);
  }
  if (report.errors.length && report.stores.every((s) => s.steps.length === 0)) {
    root.addTest(new Mocha.Test('drill', () => {
      throw new Error(report.errors.map((e) => `${e.code}: ${e.message}`).join('\n'));
    }));
  }

  await new Promise<void>((resolveRun) => {
    const runner = mocha.run(() => resolveRun());
    runner.on('test end', (test) => {
      const ms = durations.get(test as Mocha.Test);
      if (ms !== undefined) test.duration = Math.round(ms);
    });
  });
  mocha.dispose();
}
