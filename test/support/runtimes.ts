import type { RuntimeName } from '../../src/drill/types.ts';
import { requireBackends, useTestbedBinaries, useTestbedImages } from './backends.ts';

/** The runtimes a suite runs on, in order. */
export const testRuntimes = ['local', 'containers'] as const satisfies readonly RuntimeName[];
export type TestRuntime = (typeof testRuntimes)[number];

export interface ForEachRuntimeOptions {
  /** Test bed backends the suite needs on every runtime (`docker` is added on containers). */
  backends: string[];
  /**
   * Runtimes this suite cannot run on, each with the reason (e.g. `{ containers: 'the containers
   * runtime hosts no influxdb stores' }`). The reason is recorded as a pending test, so the report
   * says why, instead of the runtime silently missing.
   */
  unsupported?: Partial<Record<TestRuntime, string>>;
}

/**
 * Declares `body` once per runtime, as `describe('<title> [<runtime>]')`. Its first `before` hook
 * requires the backends (a loud skip locally, a failure under CI=true), points the local runtime at
 * the test bed's binaries and, on containers, at the test bed's Docker engine and images
 * (DOCKER_HOST, RESTOREPROOF_IMAGE_*), which its `after` hook puts back. Pass `runtime` to runDrill:
 * the drills themselves do not name one.
 *
 *   forEachRuntime('reference drill: x', { backends: ['postgres'] }, (runtime) => {
 *     it('passes', async () => { await runDrill(file, { runtime, ... }) });
 *   });
 */
export function forEachRuntime(title: string, options: ForEachRuntimeOptions, body: (runtime: TestRuntime) => void): void {
  for (const runtime of testRuntimes) {
    const reason = options.unsupported?.[runtime];
    if (reason) {
      describe(`${title} [${runtime}]`, () => {
        it.skip(`does not run on ${runtime}: ${reason}`);
      });
      continue;
    }
    describe(`${title} [${runtime}]`, function () {
      let restore: (() => void) | undefined;
      before(function () {
        requireBackends(this, ...options.backends, ...(runtime === 'containers' ? ['docker'] : []));
        useTestbedBinaries();
        if (runtime === 'containers') restore = useTestbedImages();
      });
      after(() => {
        restore?.();
        restore = undefined;
      });
      body(runtime);
    });
  }
}
