// COPY text parsed into lazily decoded cells, whatever the chunking, and the audit chain's MAC input
// copied from those cells' bytes: the same MAC as from their text (timestamps of every shape included).
import assert from 'node:assert/strict';
import { createHmac, createSecretKey } from 'node:crypto';
import { ChainVerifier, isoFromText, macFunction } from '../../src/checks/audit-chain-verify.ts';
import type { AuditChainCheckSpec } from '../../src/drill/types.ts';
import { CopyTextParser } from '../../src/engines/postgres/copy-text.ts';
import { utf8Of, type CellValue, type ValueKind } from '../../src/engines/rows.ts';

/** Every row of `text` parsed with the bytes cut into chunks of `size`, each row read with `read` before the next. */
function parse<T>(text: string, kinds: ValueKind[], size: number, read: (row: CellValue[]) => T): T[] {
  const bytes = Buffer.from(text);
  const parser = new CopyTextParser(kinds);
  const out: T[] = [];
  for (let at = 0; at < bytes.length; at += size) for (const row of parser.rows(bytes.subarray(at, at + size))) out.push(read(row));
  parser.end();
  return out;
}

const texts = (row: CellValue[]) => row.map((c) => (c.kind === 'null' ? null : c.text));

describe('CopyTextParser', () => {
  const copy = 'a\tb\\tc\t\\N\t\\\\x0a09\nü€\t\\\\\t\\101\\x41\t\\\\x\n\t\t\t\\\\xff\n';
  const kinds: ValueKind[] = ['text', 'text', 'text', 'bytes'];
  const expected = [
    ['a', 'b\tc', null, '0a09'],
    ['ü€', '\\', 'AA', ''],
    ['', '', '', 'ff'],
  ];

  it('decodes escapes, nulls and bytea the same for every chunk size, a row split anywhere', () => {
    for (let size = 1; size <= Buffer.byteLength(copy); size++) assert.deepEqual(parse(copy, kinds, size, texts), expected, `chunks of ${size} bytes`);
  });

  it('offers a field as UTF-8 bytes only when they are its text', () => {
    const bytes = parse(copy, kinds, 7, (row) => row.map((c) => {
      const cell = utf8Of(c);
      return cell ? Buffer.from(cell.utf8!.subarray(cell.start, cell.end)).toString() : undefined;
    }));
    // Escaped fields, nulls and bytea have no bytes to offer; empty fields offer empty bytes.
    assert.deepEqual(bytes, [
      ['a', undefined, undefined, undefined],
      ['ü€', undefined, undefined, undefined],
      ['', '', '', undefined],
    ]);
  });

  it('rejects rows with too few or too many fields, and output that ends inside a row', () => {
    assert.throws(() => parse('a\tb\n', ['text', 'text', 'text'], 64, texts), /COPY row has 2 fields, expected 3/);
    assert.throws(() => parse('a\tb\tc\n', ['text', 'text'], 64, texts), /COPY row has more than 2 fields/);
    assert.throws(() => parse('a\tb', ['text', 'text'], 64, texts), /ends inside a row/);
  });
});

describe('the MAC input copied from COPY bytes', () => {
  const timestamps = [
    '2026-01-01 00:00:01.001+00', '2026-01-01 00:00:01+00', '2026-01-01 00:00:01.5+00', '2026-01-01 00:00:01.123456+00', '2026-01-01T00:00:01.123456Z',
    '2026-01-01 00:00:01.1+00:00', '2026-01-01 00:00:01', '2026-01-01 00:00:01+02', '2026-01-01 00:00:01.+00', '2026-01-01 00:00:01.12+0', '20260-01-01 00:00:01+00',
    'infinity', '2026-01-01 00:00:01.5 BC', '2026-01-01 00:00:01+00:0', '2026-01-01 00:00:01Z+00',
  ];
  const key = Buffer.from('copy-key');
  const check = { algorithm: 'HMAC-SHA256', input: { template: '{prev}|{id}|{n}|{at}|{flag}' } } as AuditChainCheckSpec;

  it('gives the MAC of the formatted text, for ISO timestamps of every shape and the other kinds', () => {
    const copy = timestamps.map((t, i) => `evt-${i}\t${i * 1.5}\t${t}\t${i % 2 ? 't' : 'f'}\n`).join('');
    const verifies = macFunction(check, createSecretKey(key), ['id', 'n', 'at', 'flag']);
    const results = parse(copy, ['text', 'number', 'timestamp', 'boolean'], 13, (row) => {
      const expected = `prev|${row[0]!.text}|${row[1]!.text}|${isoFromText(row[2]!.text)}|${row[3]!.text === 't' ? 'true' : 'false'}`;
      return verifies('prev', row, createHmac('sha256', key).update(expected).digest('hex'));
    });
    assert.deepEqual(results, timestamps.map(() => true));
  });
});

describe('ChainVerifier over COPY bytes (a range verifier: MACs and links compared without strings)', () => {
  const key = Buffer.from('chain-key');
  const check = { orderBy: 'seq', macColumn: 'mac', linkColumn: 'prev_mac', algorithm: 'HMAC-SHA256', input: { template: '{prev}|{id}|{at}' } } as AuditChainCheckSpec;
  const columns = ['seq', 'id', 'at', 'prev_mac', 'mac'];
  const kinds: ValueKind[] = ['number', 'text', 'timestamp', 'text', 'text'];

  /** COPY text of a valid chain of `n` rows; `upper`: the MACs stored in upper case (both columns). */
  function chainCopy(n: number, upper: (seq: number) => boolean): string[] {
    let prev = '';
    const lines: string[] = [];
    for (let seq = 1; seq <= n; seq++) {
      const at = `2026-01-01 00:00:${String(seq % 60).padStart(2, '0')}.25+00`;
      const mac = createHmac('sha256', key).update(`${prev}|evt-${seq}|${isoFromText(at)}`).digest('hex');
      const show = (m: string) => (upper(seq) ? m.toUpperCase() : m);
      lines.push(`${seq}\tevt-${seq}\t${at}\t${seq === 1 ? '\\N' : show(prev)}\t${show(mac)}\n`);
      prev = mac;
    }
    return lines;
  }

  function verify(lines: string[], classify: boolean) {
    const verifier = new ChainVerifier(columns, check, macFunction(check, createSecretKey(key), columns), { classify });
    parse(lines.join(''), kinds, 97, (row) => verifier.push(row));
    verifier.finish(); // rows still in lanes
    return verifier.result;
  }

  it('verifies a chain with MACs in either case, as the string path does', () => {
    const lines = chainCopy(300, (seq) => seq % 7 === 0);
    const fromBytes = verify(lines, false);
    assert.deepEqual(fromBytes, { rowsRead: 300, rowsVerified: 300, rowsExcluded: 0, breaks: 0, moreBreaks: [] });
    assert.deepEqual(fromBytes, verify(lines, true));
  });

  it('finds a changed field, a changed link and a changed MAC at the same row as the string path', () => {
    const tamper: [string, (line: string) => string][] = [
      ['field', (line) => line.replace('evt-', 'EVT-')],
      ['link', (line) => line.replace(/\t([0-9a-f])/, (_, d: string) => `\t${d === '0' ? '1' : '0'}`)],
      ['mac', (line) => line.replace(/[0-9a-f]\n$/, (d) => `${d[0] === '0' ? '1' : '0'}\n`)],
    ];
    for (const [what, change] of tamper) {
      const lines = chainCopy(120, () => false);
      lines[49] = change(lines[49]!);
      const fromBytes = verify(lines, false);
      assert.equal(fromBytes.firstBreak?.key, '50', `${what} changed`);
      assert.equal(fromBytes.breaks > 0, true);
      assert.equal(fromBytes.firstBreak?.key, verify(lines, true).firstBreak?.key);
    }
  });
});
