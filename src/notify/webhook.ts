import { RestoreproofError, errorMessage } from '../errors.ts';
import type { RunReport } from '../report/types.ts';
import { resolveSecret } from '../drill/secrets.ts';
import type { SecretRef } from '../drill/types.ts';
import { toolVersion } from '../version.ts';

export interface WebhookSpec {
  url: string;
  headers?: Record<string, SecretRef>;
}

/** Only scheme, host and port: webhook paths and queries often are secrets themselves. */
export function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}

/** POSTs the result document as JSON. Header values are read here, registered as secrets, and never printed. */
export async function postWebhook(spec: WebhookSpec, report: RunReport, baseDir: string, timeoutMs = 15_000): Promise<void> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': `restoreproof/${toolVersion}` };
  for (const [name, ref] of Object.entries(spec.headers ?? {})) headers[name.toLowerCase()] = await resolveSecret(ref, baseDir, `webhook header ${name}`);
  let response: Response;
  try {
    response = await fetch(spec.url, { method: 'POST', headers, body: JSON.stringify(report), signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    throw new RestoreproofError('E_NOTIFY', `webhook to ${origin(spec.url)} failed: ${cause ? errorMessage(cause) : errorMessage(err)}`);
  }
  await response.arrayBuffer().catch(() => undefined);
  if (!response.ok) throw new RestoreproofError('E_NOTIFY', `webhook to ${origin(spec.url)} answered HTTP ${response.status}`, { hint: 'the drill result is unaffected; see the receiver’s logs' });
}
