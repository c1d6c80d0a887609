import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { Ajv } from 'ajv';
import { renderReference, referencePaths, type JsonSchema } from '../../scripts/lib/reference.ts';

describe('docs/reference.md', () => {
  let schema: JsonSchema & { $id: string };
  let reference: string;
  before(async () => {
    schema = JSON.parse(await readFile(referencePaths.schema, 'utf8'));
    reference = await readFile(referencePaths.reference, 'utf8');
  });

  it('is what schemas/drill.schema.json renders (else run npm run gen:reference)', () => {
    if (reference !== renderReference(schema)) assert.fail('docs/reference.md is out of date with schemas/drill.schema.json: run `npm run gen:reference` and commit docs/reference.md');
  });

  it('describes every field', () => {
    const undocumented = reference.split('\n').filter((line) => /^\| `[^`]+` \|.*\| {2}\|$/.test(line)).map((line) => line.split('`')[1]);
    assert.deepEqual(undocumented, [], 'add a description to these fields in src/drill/schema.base.json or the engine\'s src/engines/<name>/schema.json, then npm run generate');
  });

  it('has a section with fields and an example for every store engine and check type, decrypt, freshness and auditChain included', () => {
    // A tag is a const, or an enum of the engine's name and its aliases.
    const tag = (t: { const?: unknown; enum?: unknown[] }) => t.const ?? t.enum?.[0];
    const variants = (name: string, key: string) => schema.$defs![name]!.oneOf!.map((v) => String(tag(schema.$defs![v.$ref!.replace('#/$defs/', '')]!.properties![key]!)));
    const engines = variants('store', 'engine');
    const types = variants('check', 'type');
    assert.ok(types.includes('decrypt') && types.includes('freshness') && types.includes('auditChain'));
    for (const [kind, name] of [...engines.map((e) => ['store', e]), ...types.map((t) => ['check', t])]) {
      const section = reference.split(`<a id="${kind}-${name}"></a>`)[1]?.split('<a id=')[0];
      assert.ok(section, `no section for ${kind} ${name}`);
      assert.match(section, /\| field \| type \| required \| default \| description \|/, `${kind} ${name}: no field table`);
      assert.match(section, /Examples?:\n\n```yaml\n/, `${kind} ${name}: no example (add "examples" to its schema definition)`);
    }
    assert.match(reference, /\| `format\.timestamp` \| `iso` \\\| `epochSeconds` \\\| `epochMillis` \\\| `text` \|  \| `iso` \| iso: JavaScript toISOString/);
  });

  it('every example in the schema is valid where it stands', () => {
    const ajv = new Ajv({ strict: true, strictRequired: false, allowUnionTypes: true, discriminator: true }).addSchema(schema);
    let examples = 0;
    for (const [name, def] of Object.entries(schema.$defs!)) {
      const validate = ajv.getSchema(`${schema.$id}#/$defs/${name}`)!;
      for (const example of def.examples ?? []) {
        examples++;
        assert.ok(validate(example), `${name} example ${JSON.stringify(example)}: ${ajv.errorsText(validate.errors)}`);
      }
    }
    assert.ok(examples >= 20, `${examples} examples`);
  });
});
