// COPY text parsed into lazily decoded cells, whatever the chunking, and the audit chain's MAC input
// copied from those cells' bytes: the same MAC as from their text (timestamps of every shape included).
import assert from 'node:assert/strict';
import { createHmac, createSecretKey } from 'node:crypto';
import { isoFromText, macFunction } from '../../src/checks/audit-chain-verify.ts';
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
