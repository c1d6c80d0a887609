import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../src/evidence/canonical.ts';
import { keyIdOf, preAuthEncoding, signEnvelope, verifyEnvelope } from '../../src/evidence/dsse.ts';
import { verifyChain, type HistoryRecord } from '../../src/evidence/history.ts';
import { labelName, renderMetrics } from '../../src/notify/pushgateway.ts';
import type { RunReport } from '../../src/report/types.ts';

describe('evidence: DSSE, canonical JSON, chain rules, metrics format', () => {
  it('PAE matches the DSSE specification', () => {
    // The example of the DSSE protocol document.
    assert.equal(preAuthEncoding('http://example.com/HelloWorld', Buffer.from('hello world')).toString(), 'DSSEv1 29 http://example.com/HelloWorld 11 hello world');
    // Lengths are in bytes, not characters.
    assert.equal(preAuthEncoding('t', Buffer.from('é')).toString('hex'), Buffer.concat([Buffer.from('DSSEv1 1 t 2 '), Buffer.from('é')]).toString('hex'));
  });

  it('signs with Ed25519 and rejects a changed payload, a changed type and a foreign key', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const other = generateKeyPairSync('ed25519').publicKey;
    const envelope = signEnvelope('application/vnd.in-toto+json', Buffer.from('{"a":1}'), privateKey);
    assert.equal(envelope.signatures[0]!.keyid, createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex'));
    assert.equal(keyIdOf(privateKey), keyIdOf(publicKey));
    const ok = verifyEnvelope(envelope, [publicKey]);
    assert.ok(ok.ok && ok.payload.toString() === '{"a":1}');
    const changed = { ...envelope, payload: Buffer.from('{"a":2}').toString('base64') };
    assert.match((verifyEnvelope(changed, [publicKey]) as { reason: string }).reason, /altered after signing/);
    assert.equal(verifyEnvelope({ ...envelope, payloadType: 'text/plain' }, [publicKey]).ok, false);
    assert.match((verifyEnvelope(envelope, [other]) as { reason: string }).reason, /not by the given key/);
    assert.match((verifyEnvelope(envelope, []) as { reason: string }).reason, /--key/);
    assert.equal(keyIdOf(createPublicKey(publicKey.export({ type: 'spki', format: 'pem' }))), keyIdOf(publicKey));
  });

  it('canonical JSON sorts keys, drops undefined and is stable', () => {
    assert.equal(canonicalJson({ b: 1, a: [true, null, 'x'], c: undefined, d: { z: 1.5, y: 'é' } }), '{"a":[true,null,"x"],"b":1,"d":{"y":"é","z":1.5}}');
    assert.equal(canonicalJson({ x: 1, y: 2 }), canonicalJson({ y: 2, x: 1 }));
    assert.throws(() => canonicalJson({ n: Number.NaN }));
  });

  it('chain rules name the deleted, reordered and edited run', () => {
    const rec = (runId: string, sequence: number, previous: RunReport['previous'], sha: string, file = runId): HistoryRecord => ({
      file: `/h/${file}.json`, runId: file, bytes: Buffer.from(sha), sha256: sha, report: { runId, sequence, previous } as RunReport,
    });
    const [a, b, c] = ['20260101T000000Z-aaaaaa', '20260102T000000Z-bbbbbb', '20260103T000000Z-cccccc'];
    const A = rec(a, 1, null, '1'.repeat(64));
    const B = rec(b, 2, { runId: a, sha256: '1'.repeat(64) }, '2'.repeat(64));
    const C = rec(c, 3, { runId: b, sha256: '2'.repeat(64) }, '3'.repeat(64));
    assert.deepEqual(verifyChain([A, B, C]), []);
    assert.match(verifyChain([A, C])[0]!.message, new RegExp(`run ${b} \\(sequence 2\\) is missing: deleted`));
    assert.match(verifyChain([B, C])[0]!.message, new RegExp(`run ${a} \\(sequence 1\\) is missing: deleted`));
    assert.match(verifyChain([A, { ...B, sha256: '9'.repeat(64) }, C])[0]!.message, new RegExp(`run ${b} was edited`));
    const swapped = verifyChain([{ ...A, file: `/h/${b}.json`, runId: b }, { ...B, file: `/h/${a}.json`, runId: a }, C]).map((p) => p.message);
    assert.ok(swapped.some((m) => m.includes(`${b}.json holds run ${a}`) && /swapped/.test(m)), swapped.join('\n'));
    assert.match(verifyChain([A, rec(b, 2, null, '2'.repeat(64)), C])[0]!.message, /starts a new chain/);
  });

  it('metrics are valid text exposition with escaped label values and sanitised names', () => {
    const report = {
      drill: { name: 'shop' }, status: 'passed', startedAt: '2026-01-01T00:00:00.000Z', endedAt: '2026-01-01T00:00:10.000Z',
      phases: [{ name: 'restore', durationMs: 1500 }], stores: [{ name: 'app', restoreDurationMs: 1400 }], summary: { checks: { failed: 0 } },
      artefacts: [{ backupTime: '2025-12-31T23:00:00.000Z', modifiedAt: '' }], objectives: {},
    } as unknown as RunReport;
    const text = renderMetrics(report, { 'app.kubernetes.io/team': 'sre "core"\\x', phase: 'p' });
    assert.match(text, /^restoreproof_last_success_timestamp_seconds\{drill="shop",app_kubernetes_io_team="sre \\"core\\"\\\\x",label_phase="p"\} 1767225610$/m);
    assert.match(text, /^restoreproof_phase_duration_seconds\{[^}]*phase="restore"\} 1\.5$/m);
    assert.match(text, /^restoreproof_result\{[^}]*status="passed"\} 1$/m);
    assert.match(text, /^restoreproof_result\{[^}]*status="failed"\} 0$/m);
    assert.match(text, /^restoreproof_data_age_seconds\{[^}]*\} 3600$/m);
    for (const line of text.trim().split('\n')) assert.match(line, /^(# (HELP|TYPE) \w+ .+|\w+\{[^}]*\} -?[\d.e+]+)$/, line);
    assert.equal(labelName('9-lives'), '_9_lives');
    assert.doesNotMatch(renderMetrics({ ...report, status: 'failed' } as RunReport), /last_success/);
  });
});
