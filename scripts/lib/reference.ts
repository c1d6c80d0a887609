// Renders docs/reference.md from schemas/drill.schema.json: every field of the drill document, of
// each store engine and of each check type, with its type, default, description and the schema's
// examples. The schema is the source; scripts/gen-reference.ts writes the file and
// test/unit/reference.test.ts fails when the committed file is not what this renders.
import { stringify } from 'yaml';

export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  default?: unknown;
  description?: string;
  examples?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  $defs?: Record<string, JsonSchema>;
}

/** Definitions with a section of their own; a field of one of these types links to it. */
const sharedSections: Record<string, { title: string; label: string; anchor: string; exampleUnder?: (example: unknown) => unknown }> = {
  store: { title: 'Stores', label: 'store', anchor: 'stores' },
  check: { title: 'Checks', label: 'check', anchor: 'checks' },
  artefactSource: { title: 'Artefact sources', label: 'artefact source', anchor: 'artefact-source', exampleUnder: (e) => ({ artefact: e }) },
  secretRef: { title: 'Secrets', label: 'secret', anchor: 'secret', exampleUnder: (e) => ({ passphrase: e }) },
  duration: { title: 'Durations', label: 'duration', anchor: 'duration' },
  expectation: { title: 'Expectations', label: 'expectation', anchor: 'expectation', exampleUnder: (e) => ({ expect: e }) },
  jsonFieldExpectation: { title: 'JSON field expectations', label: 'JSON field expectation', anchor: 'json-field-expectation', exampleUnder: (e) => ({ json: { 'license.edition': e } }) },
  kubernetesOptions: { title: 'Kubernetes pod options', label: 'kubernetes pod options', anchor: 'kubernetes-options', exampleUnder: (e) => ({ kubernetes: e }) },
  app: { title: 'App', label: 'app', anchor: 'app', exampleUnder: (e) => ({ app: e }) },
  appEnv: { title: 'App environment', label: 'app environment', anchor: 'app-env', exampleUnder: (e) => ({ env: e }) },
};
/** The store name the examples use for each engine, matching the check examples. */
const exampleStoreName: Record<string, string> = { postgres: 'db', mongodb: 'mongo', s3: 'files', redis: 'cache', influxdb: 'influx' };

interface Row {
  field: string;
  type: string;
  required: string;
  default: string;
  description: string;
}

export function renderReference(schema: JsonSchema): string {
  const defs = schema.$defs ?? {};
  const refName = (ref: string) => ref.replace('#/$defs/', '');
  const resolve = (s: JsonSchema): JsonSchema => (s.$ref ? resolve(defs[refName(s.$ref)] ?? {}) : s);
  const isShared = (s: JsonSchema) => Boolean(s.$ref && sharedSections[refName(s.$ref)]);
  const link = (name: string) => `[${sharedSections[name]!.label}](#${sharedSections[name]!.anchor})`;

  function typeText(s: JsonSchema): string {
    if (s.$ref) return sharedSections[refName(s.$ref)] ? link(refName(s.$ref)) : typeText(resolve(s));
    if (s.const !== undefined) return code(s.const);
    if (s.enum) return s.enum.map(code).join(' \\| ');
    const alternatives = s.oneOf ?? s.anyOf;
    if (alternatives && !s.type) return [...new Set(alternatives.map(typeText))].join(' or ');
    const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
    if (types.length === 0) return 'any';
    return types
      .map((t) => {
        if (t === 'array') return s.items ? `list of ${resolve(s.items).properties && !isShared(s.items) ? 'objects (fields below)' : typeText(s.items)}` : 'list';
        if (t === 'object' && !s.properties && typeof s.additionalProperties === 'object') return `map of ${typeText(s.additionalProperties)}`;
        if (s.minimum !== undefined && s.maximum !== undefined) return `${t} (${s.minimum}–${s.maximum})`;
        if (s.minimum !== undefined) return `${t} ≥ ${s.minimum}`;
        if (s.maximum !== undefined) return `${t} ≤ ${s.maximum}`;
        return t;
      })
      .join(' or ');
  }

  function rows(s: JsonSchema, prefix: string, requiredLabel = 'yes'): Row[] {
    const required = new Set(s.required ?? []);
    return Object.entries(s.properties ?? {}).flatMap(([name, property]) => {
      const path = `${prefix}${name}`;
      const target = resolve(property);
      const row: Row = {
        field: path,
        type: typeText(property),
        required: required.has(name) ? requiredLabel : '',
        default: property.default !== undefined ? code(property.default) : target.default !== undefined && !isShared(property) ? code(target.default) : '',
        description: property.description ?? (isShared(property) ? '' : (target.description ?? '')),
      };
      return [row, ...(isShared(property) ? [] : children(target, path))];
    });
  }

  function children(s: JsonSchema, path: string): Row[] {
    if (s.properties) return rows(s, `${path}.`);
    if (s.items && !isShared(s.items)) {
      const item = resolve(s.items);
      if (item.properties) return rows(item, `${path}[].`);
    }
    const alternatives = s.oneOf ?? s.anyOf;
    if (alternatives) {
      const seen = new Set<string>();
      return alternatives
        .filter((a) => !isShared(a))
        .flatMap((a) => (resolve(a).properties ? rows(resolve(a), `${path}.`, 'one of') : []))
        .filter((r) => !seen.has(r.field) && seen.add(r.field));
    }
    return [];
  }

  const table = (r: Row[]) =>
    ['| field | type | required | default | description |', '|---|---|---|---|---|', ...r.map((x) => `| \`${x.field}\` | ${x.type} | ${x.required} | ${x.default} | ${cell(x.description)} |`)].join('\n');
  const yamlBlock = (value: unknown) => `\`\`\`yaml\n${stringify(value, { lineWidth: 0 }).trimEnd()}\n\`\`\``;
  const examples = (name: string, wrap: (example: unknown) => unknown) => {
    const list = defs[name]?.examples ?? [];
    if (list.length === 0) return '';
    return `\n\n${list.length > 1 ? 'Examples' : 'Example'}:\n\n${list.map((e) => yamlBlock(wrap(e))).join('\n\n')}`;
  };
  // A tag is a const, or an enum whose first value is the name and the rest aliases (an engine's).
  const tagOf = (tag: JsonSchema | undefined) => tag?.const ?? tag?.enum?.[0];
  const variants = (name: string, discriminator: string) => (defs[name]?.oneOf ?? []).map((v) => ({ def: refName(v.$ref!), key: String(tagOf(resolve(v).properties?.[discriminator])) }));

  const out: string[] = [];
  out.push(
    '# Drill reference',
    '',
    '<!-- Generated from schemas/drill.schema.json by `npm run gen:reference` (scripts/gen-reference.ts). Do not edit by hand: change the schema\'s descriptions and examples, then run `npm run gen:reference`. -->',
    '',
    `${schema.description ?? ''} A drill is one YAML file; editors complete and check it through the \`yaml-language-server\` modeline and [schemas/drill.schema.json](../schemas/drill.schema.json). Values may use \`\${VAR}\` and \`\${VAR:-default}\` (environment variables, interpolated when the drill is loaded; \`$\${\` for a literal). Paths are relative to the drill file unless a field says otherwise. \`restoreproof validate <drill.yaml>\` checks a drill against this schema.`,
    '',
    'Reference drills to start from: [drills.md](drills.md).',
    '',
    '- [The drill document](#the-drill-document)',
    `- [Stores](#stores): ${variants('store', 'engine').map((v) => `[${v.key}](#store-${v.key})`).join(', ')}`,
    `- [Checks](#checks): ${variants('check', 'type').map((v) => `[${v.key}](#check-${v.key})`).join(', ')}`,
    `- Shared types: ${Object.entries(sharedSections).filter(([n]) => n !== 'store' && n !== 'check').map(([, s]) => `[${s.title.toLowerCase()}](#${s.anchor})`).join(', ')}`,
    '',
    '## The drill document',
    '',
    table(rows(schema, '')),
    '',
    '<a id="stores"></a>',
    '',
    '## Stores',
    '',
    "`spec.stores` maps a name (used by checks as `store:`) to one ephemeral store. Its `engine` picks the fields below. Each store's `restore` lists what is restored into it, in order; a step's `artefact` is a path or an [artefact source](#artefact-source).",
  );
  for (const { def, key } of variants('store', 'engine')) {
    const store = defs[def]!;
    out.push('', `<a id="store-${key}"></a>`, '', `### \`${key}\``, '');
    if (store.description) out.push(cell(store.description), '');
    out.push(table(rows(store, '')) + examples(def, (e) => ({ stores: { [exampleStoreName[key] ?? key]: e } })));
  }
  out.push('', '<a id="checks"></a>', '', '## Checks', '', '`spec.checks` is a list; each check\'s `type` picks the fields below. Every check has an `id` (stable in reports), an optional `name` and a `severity` (`error` fails the drill, `warn` only reports).');
  for (const { def, key } of variants('check', 'type')) {
    const check = defs[def]!;
    out.push('', `<a id="check-${key}"></a>`, '', `### \`${key}\``, '');
    if (check.description) out.push(cell(check.description), '');
    out.push(table(rows(check, '')) + examples(def, (e) => ({ checks: [e] })));
  }
  out.push('', '## Shared types');
  for (const [name, section] of Object.entries(sharedSections)) {
    if (!section.exampleUnder && name !== 'duration') continue;
    const def = defs[name]!;
    out.push('', `<a id="${section.anchor}"></a>`, '', `### ${section.title}`, '');
    if (def.description) out.push(cell(def.description), '');
    if (name === 'duration') {
      out.push(`A string of numbers with units (\`ms\`, \`s\`, \`m\`, \`h\`, \`d\`), e.g. ${(def.examples ?? []).map(code).join(', ')}.`);
      continue;
    }
    const fields = def.properties ? rows(def, '') : children(def, '').map((r) => ({ ...r, field: r.field.replace(/^\./, '') }));
    out.push((fields.length ? table(fields) : `Type: ${typeText(def)}.`) + examples(name, section.exampleUnder!));
  }
  return `${out.join('\n')}\n`;
}

function code(value: unknown): string {
  const text = typeof value === 'string' ? (value === '' ? '""' : value) : JSON.stringify(value);
  return `\`${text.replaceAll('|', '\\|')}\``;
}

/** Table-cell text: one line, pipes escaped, angle brackets outside code spans shown as text. */
function cell(text: string): string {
  return text
    .replaceAll('\n', ' ')
    .split('`')
    .map((part, i) => (i % 2 === 0 ? part.replaceAll('<', '&lt;').replaceAll('>', '&gt;') : part))
    .join('`')
    .replaceAll('|', '\\|');
}

const root = new URL('../..', import.meta.url).pathname;
export const referencePaths = { schema: `${root}schemas/drill.schema.json`, reference: `${root}docs/reference.md` };
