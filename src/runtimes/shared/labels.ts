import { expiresAt, harnessLabels } from './ownership.ts';

/** Labels on every container, network, namespace and pod a run creates; `gc` and the teardown sweep find them by these. */
export const LABEL_RUN = 'restoreproof.run';
export const LABEL_DRILL = 'restoreproof.drill';
export const LABEL_STORE = 'restoreproof.store';
export const LABEL_EXPIRES = 'restoreproof.expires-at';
/** `app` or `migrate`: what an app container or pod runs. */
export const LABEL_ROLE = 'restoreproof.role';

/** Labels of every container and network of a run: the run, the drill, the expiry and the harness (so gc can tell whether it still runs). */
export function runLabels(runId: string, drillName: string): Record<string, string> {
  return { [LABEL_RUN]: runId, [LABEL_DRILL]: drillName, [LABEL_EXPIRES]: expiresAt(), ...harnessLabels() };
}
