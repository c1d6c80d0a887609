import { errorMessage, RestoreproofError } from '../errors.ts';
import type { ReportError, RunReport } from '../report/types.ts';
import type { Drill } from '../drill/types.ts';
import { redact } from '../util/redact.ts';
import { pushMetrics } from './pushgateway.ts';
import { postWebhook } from './webhook.ts';

/**
 * Sends the notifications the drill asks for. A failure is returned as a report error; it never
 * changes the drill's verdict (a run is not less restored because a webhook was down).
 */
export async function sendNotifications(report: RunReport, drill: Drill | undefined): Promise<ReportError[]> {
  const spec = drill?.document.spec.report;
  const errors: ReportError[] = [];
  const attempt = async (fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      const e = err instanceof RestoreproofError ? err : new RestoreproofError('E_NOTIFY', errorMessage(err));
      errors.push({ code: e.code === 'E_SECRET' ? 'E_NOTIFY' : e.code, message: redact(e.message), hint: e.hint ?? 'notification failures do not change the drill result' });
    }
  };
  if (spec?.webhook) await attempt(() => postWebhook(spec.webhook!, report, drill!.dir));
  if (spec?.pushgateway) await attempt(() => pushMetrics(spec.pushgateway!, report, drill!.document.metadata.labels ?? {}));
  return errors;
}
