import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBackends } from '../support/backends.ts';
import { demoBackups } from '../support/fixtures.ts';
import { filesUnder, runAndRead, shopVariant } from './helpers.ts';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A real HTTP server on 127.0.0.1 that records every request and answers with `status`. */
async function recorder(status: number): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      received.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'receiver is down for maintenance');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, server };
}

describe('evidence: webhook and Pushgateway notifications (local HTTP servers)', function () {
  let work: string;
  let env: Record<string, string>;
  const servers: Server[] = [];
  const token = `Bearer s3cret-${randomBytes(8).toString('hex')}`;

  before(async function () {
    requireBackends(this, 'postgres');
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-notify-'));
    env = { RESTOREPROOF_FIXTURES: (await demoBackups()).dir, HOOK_TOKEN: token };
  });
  after(async () => {
    for (const s of servers) await new Promise((resolve) => s.close(resolve));
    if (work) await rm(work, { recursive: true, force: true });
  });

  const notifyingDrill = (name: string, hook: string, push: string) =>
    shopVariant(work, name, {
      metadata: ['  labels:', '    team: platform-sre', '    app.kubernetes.io/tier: "1"'],
      spec: [
        '  objectives: { rto: 1h }',
        '  report:',
        '    webhook:',
        `      url: ${hook}/hooks/restore?channel=ops`,
        '      headers:',
        '        Authorization: { env: HOOK_TOKEN }',
        `    pushgateway: { url: "${push}/", job: nightly-drills }`,
      ],
    });

  it('POSTs the result document to the webhook with headers from the environment, and pushes metrics', async () => {
    const hook = await recorder(200);
    const push = await recorder(200);
    servers.push(hook.server, push.server);
    const reportDir = join(work, 'ok');
    const { result, report } = await runAndRead(await notifyingDrill('notify-ok', hook.url, push.url), reportDir, env);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(report.errors, []);

    assert.equal(hook.received.length, 1);
    const [call] = hook.received as [Received];
    assert.equal(call.method, 'POST');
    assert.equal(call.url, '/hooks/restore?channel=ops');
    assert.equal(call.headers.authorization, token);
    assert.match(call.headers['content-type']!, /^application\/json/);
    const posted = JSON.parse(call.body);
    assert.equal(posted.runId, report.runId);
    assert.equal(posted.status, 'passed');
    assert.deepEqual(posted.result, report.result);
    assert.equal(posted.reports.json, `${report.runId}.json`);

    assert.equal(push.received.length, 1);
    const [metrics] = push.received as [Received];
    assert.equal(metrics.method, 'POST');
    assert.equal(metrics.url, '/metrics/job/nightly-drills/drill/notify-ok');
    assert.match(metrics.headers['content-type']!, /^text\/plain; version=0\.0\.4/);
    const labels = 'drill="notify-ok",team="platform-sre",app_kubernetes_io_tier="1"';
    const end = Date.parse(report.endedAt) / 1000;
    assert.match(metrics.body, new RegExp(`^restoreproof_last_success_timestamp_seconds\\{${labels}\\} ${end}$`, 'm'));
    for (const phase of ['load', 'verify', 'provision', 'restore', 'checks', 'teardown']) {
      assert.match(metrics.body, new RegExp(`^restoreproof_phase_duration_seconds\\{${labels},phase="${phase}"\\} [\\d.]+$`, 'm'));
    }
    assert.match(metrics.body, new RegExp(`^restoreproof_result\\{${labels},status="passed"\\} 1$`, 'm'));
    assert.match(metrics.body, new RegExp(`^restoreproof_result\\{${labels},status="failed"\\} 0$`, 'm'));
    assert.match(metrics.body, new RegExp(`^restoreproof_checks_failed\\{${labels}\\} 0$`, 'm'));
    assert.match(metrics.body, new RegExp(`^restoreproof_data_age_seconds\\{${labels}\\} [\\d.]+$`, 'm'));
    assert.match(metrics.body, /^# TYPE restoreproof_data_age_seconds gauge$/m);

    // The header value is a secret: in no output and no file the run wrote.
    const secret = token.split(' ')[1]!;
    assert.equal(result.stdout.includes(secret) || result.stderr.includes(secret), false);
    for (const file of await filesUnder(reportDir)) assert.equal((await readFile(file, 'utf8')).includes(secret), false, file);
  });

  it('a failed notification is recorded in the report errors and does not change the verdict', async () => {
    const hook = await recorder(503);
    servers.push(hook.server);
    // Nothing listens on the closed server's port: the Pushgateway is unreachable.
    const gone = await recorder(200);
    await new Promise((resolve) => gone.server.close(resolve));
    const reportDir = join(work, 'failing');
    const { result, report } = await runAndRead(await notifyingDrill('notify-down', hook.url, gone.url), reportDir, env);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(report.status, 'passed');
    assert.equal(report.result!.status, 'passed');
    assert.equal(hook.received.length, 1);
    assert.deepEqual(report.errors.map((e) => e.code), ['E_NOTIFY', 'E_NOTIFY']);
    assert.match(report.errors[0]!.message, new RegExp(`^webhook to ${hook.url} answered HTTP 503$`));
    assert.match(report.errors[1]!.message, new RegExp(`^pushgateway ${gone.url} failed: .*ECONNREFUSED`));
    assert.match(result.stderr, /error E_NOTIFY: webhook to .* answered HTTP 503/);
    assert.equal(result.stderr.includes(token.split(' ')[1]!), false);
    // The webhook's path and query can be secrets too: errors name only its origin.
    assert.equal(JSON.stringify(report.errors).includes('channel=ops'), false);
  });

  it('a header whose variable is not set fails the notification, naming the variable, not a value', async () => {
    const hook = await recorder(200);
    servers.push(hook.server);
    const drill = await shopVariant(work, 'notify-unset', { spec: ['  report:', `    webhook: { url: "${hook.url}", headers: { X-Token: { env: RESTOREPROOF_TEST_UNSET_TOKEN } } }`] });
    const { result, report } = await runAndRead(drill, join(work, 'unset'), env);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(hook.received.length, 0);
    assert.match(report.errors[0]!.message, /webhook header X-Token: environment variable RESTOREPROOF_TEST_UNSET_TOKEN is not set/);
    assert.equal(report.errors[0]!.code, 'E_NOTIFY');
  });
});
