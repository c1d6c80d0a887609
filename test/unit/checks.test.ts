import assert from 'node:assert/strict';
import { evaluate } from '../../src/checks/expectations.ts';
import { parseQualifiedName, quoteQualifiedName } from '../../src/engines/postgres/identifiers.ts';
import { interpolate } from '../../src/drill/interpolate.ts';
import { redact, registerSecret } from '../../src/util/redact.ts';
import { parseDuration } from '../../src/util/duration.ts';

describe('expectations', () => {
  it('compares numbers numerically whatever the driver returned', () => {
    assert.equal(evaluate({ equals: 3 }, '3').passed, true);
    assert.equal(evaluate({ equals: 3 }, 4).passed, false);
    assert.equal(evaluate({ min: 1, max: 5 }, 5).passed, true);
    assert.equal(evaluate({ min: 1 }, 0).passed, false);
    assert.equal(evaluate({ between: [1, 2] }, 3).passed, false);
    assert.equal(evaluate({ min: 1 }, 'abc').passed, false);
  });
  it('handles null, text and patterns', () => {
    assert.equal(evaluate({ notNull: true }, null).passed, false);
    assert.equal(evaluate({ equals: null }, null).passed, true);
    assert.equal(evaluate({ equals: 'enterprise' }, 'enterprise').passed, true);
    assert.equal(evaluate({ matches: '^v\\d+' }, 'v15').passed, true);
    assert.equal(evaluate({ matches: '^v\\d+' }, 'x').passed, false);
  });
  it('describes what was expected and why it failed', () => {
    const e = evaluate({ min: 10, matches: '^1' }, 5);
    assert.equal(e.expected, '>= 10 and matches /^1/');
    assert.equal(e.reason, '5 is not >= 10; 5 does not match /^1/');
  });
});

describe('identifiers', () => {
  it('parses qualified and quoted names as PostgreSQL does', () => {
    assert.deepEqual(parseQualifiedName('Users'), ['users']);
    assert.deepEqual(parseQualifiedName('public.users'), ['public', 'users']);
    assert.deepEqual(parseQualifiedName('"My Schema"."Order.Items"'), ['My Schema', 'Order.Items']);
    assert.deepEqual(parseQualifiedName('"a""b"'), ['a"b']);
    assert.equal(quoteQualifiedName('billing."Invoice Lines"'), '"billing"."Invoice Lines"');
    assert.throws(() => parseQualifiedName('a.b.c.d'));
    assert.throws(() => parseQualifiedName('"open'));
  });
});

describe('interpolation', () => {
  it('substitutes, defaults and escapes', () => {
    assert.deepEqual(interpolate('${A}/${B:-x}/$${C}', { A: '1' }), { value: '1/x/${C}', missing: [] });
    assert.deepEqual(interpolate('${NOPE}', {}).missing, ['NOPE']);
  });
});

describe('redaction', () => {
  it('removes registered secrets and URL passwords', () => {
    registerSecret('s3cr3t-value');
    assert.equal(redact('password s3cr3t-value here'), 'password *** here');
    assert.equal(redact('postgres://bob:hunter2@db:5432/x'), 'postgres://bob:***@db:5432/x');
  });
});

describe('durations', () => {
  it('parses compound durations', () => {
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('90s'), 90_000);
    assert.equal(parseDuration('7d'), 604_800_000);
  });
});
