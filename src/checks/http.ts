import { RestoreproofError } from '../errors.ts';
import { parseDuration } from '../util/duration.ts';
import type { StartedApp } from '../runtimes/types.ts';
import { resolveSecret } from '../drill/secrets.ts';
import type { HttpCheckSpec, JsonFieldExpectation } from '../drill/types.ts';
import { redact } from '../util/redact.ts';
import type { CheckOutcome } from './types.ts';

export interface HttpCheckContext {
  /** The started app, when spec.app is set and it started. */
  app?: StartedApp;
  /** Why there is no app, for checks with a relative path. */
  appProblem?: string;
  drillDir: string;
  signal: AbortSignal;
}

/** `a.b[0].c` and `a.b.0.c` both walk into arrays. */
export function jsonPath(value: unknown, path: string): unknown {
  let current = value;
  for (const part of path.replace(/\[(\d+)\]/g, '.$1').split('.').filter(Boolean)) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

function describeField(e: JsonFieldExpectation): string {
  const parts: string[] = [];
  if (e.exists !== undefined) parts.push(e.exists ? 'exists' : 'absent');
  if ('equals' in e) parts.push(`= ${JSON.stringify(e.equals)}`);
  if (e.matches !== undefined) parts.push(`matches /${e.matches}/`);
  return parts.join(' and ');
}

function fieldProblem(path: string, e: JsonFieldExpectation, value: unknown): string | undefined {
  const shown = value === undefined ? 'absent' : JSON.stringify(value);
  if (e.exists === true && value === undefined) return `${path} is absent`;
  if (e.exists === false && value !== undefined) return `${path} exists (${shown})`;
  if ('equals' in e && value !== e.equals) return `${path} is ${shown}, expected ${JSON.stringify(e.equals)}`;
  if (e.matches !== undefined) {
    const text = typeof value === 'string' ? value : JSON.stringify(value) ?? '';
    if (value === undefined || !new RegExp(e.matches).test(text)) return `${path} is ${shown}, expected to match /${e.matches}/`;
  }
  return undefined;
}

export function describeHttpExpectation(check: HttpCheckSpec): string {
  const e = check.expect ?? {};
  const parts = [`status ${e.status === undefined ? '2xx' : [e.status].flat().join(' or ')}`];
  for (const [path, f] of Object.entries(e.json ?? {})) parts.push(`${path} ${describeField(f)}`);
  if (e.body) parts.push(`body matches /${e.body}/`);
  if (e.latency) parts.push(`latency <= ${e.latency}`);
  if (check.retry) parts.push(`within ${check.retry.until}`);
  return parts.join(', ');
}

interface Attempt {
  ok: boolean;
  problems: string[];
  status?: number;
  latencyMs?: number;
  fields?: Record<string, unknown>;
}

/**
 * One request, or requests until the deadline when `retry` is set (readiness). A relative path goes
 * to the app; the failure message then carries the app's last log lines.
 */
export async function runHttpCheck(check: HttpCheckSpec, context: HttpCheckContext): Promise<CheckOutcome> {
  const expected = describeHttpExpectation(check);
  let url: string;
  if (check.url) url = check.url;
  else if (context.app) url = new URL(check.path!, `${context.app.baseUrl}/`).toString();
  else throw new RestoreproofError('E_CHECK', `no app to send ${check.path} to: ${context.appProblem ?? 'spec.app is not set'}`);

  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(check.headers ?? {})) headers[name] = typeof value === 'string' ? value : await resolveSecret(value, context.drillDir, `header ${name}`);
  let body: string | undefined;
  if (check.body !== undefined) {
    body = typeof check.body === 'string' ? check.body : JSON.stringify(check.body);
    if (typeof check.body !== 'string' && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  }
  const method = check.method ?? 'GET';
  const timeoutMs = parseDuration(check.timeout ?? '10s');
  const e = check.expect ?? {};
  const statuses = e.status === undefined ? undefined : [e.status].flat();
  const maxLatency = e.latency ? parseDuration(e.latency) : undefined;

  const attempt = async (): Promise<Attempt> => {
    const t0 = performance.now();
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}), redirect: 'manual', signal: AbortSignal.any([context.signal, AbortSignal.timeout(timeoutMs)]) });
      text = await response.text();
    } catch (err) {
      context.signal.throwIfAborted();
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = (err as Error).name === 'TimeoutError' ? `no response within ${check.timeout ?? '10s'}` : cause?.code ?? cause?.message ?? (err as Error).message;
      return { ok: false, problems: [`${method} ${url}: ${why}`] };
    }
    const latencyMs = Math.round(performance.now() - t0);
    const problems: string[] = [];
    if (statuses ? !statuses.includes(response.status) : response.status < 200 || response.status > 299) problems.push(`status ${response.status}`);
    const fields: Record<string, unknown> = {};
    if (e.json) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        problems.push(`body is not JSON (${JSON.stringify(text.slice(0, 80))})`);
      }
      if (parsed !== undefined) {
        for (const [path, f] of Object.entries(e.json)) {
          const value = jsonPath(parsed, path);
          fields[path] = value ?? null;
          const p = fieldProblem(path, f, value);
          if (p) problems.push(p);
        }
      }
    }
    if (e.body !== undefined && !new RegExp(e.body).test(text)) problems.push(`body does not match /${e.body}/`);
    if (maxLatency !== undefined && latencyMs > maxLatency) problems.push(`latency ${latencyMs}ms > ${e.latency}`);
    return { ok: problems.length === 0, problems, status: response.status, latencyMs, ...(e.json ? { fields } : {}) };
  };

  const deadline = check.retry ? Date.now() + parseDuration(check.retry.until) : 0;
  const interval = check.retry ? parseDuration(check.retry.interval ?? '1s') : 0;
  let attempts = 0;
  let last: Attempt;
  for (;;) {
    attempts++;
    last = await attempt();
    if (last.ok || Date.now() + interval > deadline) break;
    await new Promise((r) => setTimeout(r, interval));
    context.signal.throwIfAborted();
  }
  const actual = { url, status: last.status ?? null, latencyMs: last.latencyMs ?? null, attempts, ...(last.fields ? { json: last.fields } : {}) };
  if (last.ok) return { passed: true, expected, actual, message: `${method} ${check.url ?? check.path} → ${last.status} in ${last.latencyMs}ms${attempts > 1 ? ` (attempt ${attempts})` : ''}` };
  const toApp = !check.url && context.app;
  const log = toApp ? context.app!.logTail(10) : '';
  return {
    passed: false,
    expected,
    actual,
    message: redact(`${method} ${check.url ?? check.path}: ${last.problems.join('; ')}${check.retry ? ` (after ${attempts} attempts, deadline ${check.retry.until})` : ''}${toApp ? `\napp log (last lines):\n${log || '(no output)'}` : ''}`),
  };
}
