import { dirname, resolve, basename } from 'node:path';
import type { ErrorObject } from 'ajv';
import { isMap, isScalar, isSeq, LineCounter, parse, parseDocument, visit, type Document, type Node } from 'yaml';
import { DrillConfigError, specPath, type SpecIssue } from '../errors.ts';
import { sha256 } from '../util/hash.ts';
import { validate as validateDrillSchema } from './drill-validator.generated.ts';
import { interpolate } from './interpolate.ts';
import { appIssues, extraCheckIssues } from './validate-app.ts';
import type { ArtefactSourceSpec, Drill, DrillDocument, Expectation, StoreSpec } from './types.ts';
import { answers, aStoreOf, either, enginesAnswering, enginesWith } from '../engines/capabilities.ts';
import { engineAliases, engineFor } from '../engines/index.ts';
import { runtimes } from '../runtimes/index.ts';
import { drillLimits, readDrillBytes, tooDeep } from './read.ts';
import { artefactSourceOf } from '../sources/artefact-source.ts';

export const drillSchemaPath = new URL('../../schemas/drill.schema.json', import.meta.url);

/** schemas/drill.schema.json, compiled by Ajv when it was generated (npm run generate). */
const validateSchema = validateDrillSchema as unknown as ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

export interface LoadOptions {
  /** Variables for `${VAR}` interpolation. Defaults to process.env. */
  env?: Record<string, string | undefined>;
  /** Stops loading between phases (parse, interpolate, schema) when aborted. */
  signal?: AbortSignal;
}

/** Reads, interpolates and validates a drill file. Throws DrillConfigError listing the problems with file:line:col. */
export async function loadDrill(file: string, options: LoadOptions = {}): Promise<Drill> {
  const bytes = await readDrillBytes(file, resolve(file));
  const steps = parseSteps(bytes.toString('utf8'), file, sha256(bytes), options);
  // Each phase is linear in the input; between phases the event loop runs, so a signal is heard.
  for (let step = steps.next(); ; step = steps.next()) {
    if (step.done) return step.value;
    await new Promise(setImmediate);
    options.signal?.throwIfAborted();
  }
}

/** Like loadDrill, for text already in memory. `file` is used in messages and to resolve relative paths. */
export function parseDrill(text: string, file: string, options: LoadOptions = {}): Drill {
  const steps = parseSteps(text, file, sha256(text), options);
  for (let step = steps.next(); ; step = steps.next()) if (step.done) return step.value;
}

function* parseSteps(text: string, file: string, digest: string, options: LoadOptions): Generator<void, Drill> {
  const lineCounter = new LineCounter();
  const deep = tooDeep(text);
  if (deep !== undefined) {
    lineCounter.addNewLine(0);
    for (let i = text.indexOf('\n'); i !== -1 && i < deep; i = text.indexOf('\n', i + 1)) lineCounter.addNewLine(i + 1);
    throw new DrillConfigError([{ file, ...lineCounter.linePos(deep), message: `flow collections nested more than ${drillLimits.flowDepth} deep` }]);
  }
  // uniqueKeys: false because the library's check is quadratic in a map's size; nodeIssues does it linearly.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const at = (offset: number | undefined) => {
    if (offset === undefined) return {};
    const { line, col } = lineCounter.linePos(offset);
    return { line, col };
  };
  const issues: SpecIssue[] = [];
  for (const e of doc.errors) issues.push({ file, ...at(e.pos[0]), message: `YAML syntax error: ${e.message.split('\n')[0]}` });
  if (issues.length) throw new DrillConfigError(limitIssues(issues, 0, file), 'fix the YAML syntax first; a YAML linter or the schema modeline helps');
  yield;

  const walked = nodeIssues(doc, options.env ?? process.env, file, at);
  issues.push(...walked.issues);
  let uncounted = walked.more;
  let document: unknown;
  try {
    document = doc.toJS({ maxAliasCount: 100 }) as unknown;
  } catch (err) {
    if (!(err instanceof ReferenceError)) throw err;
    const alias = aliasBomb(doc);
    throw new DrillConfigError([{ file, ...at(alias?.range?.[0]), message: `YAML aliases expand too far (${err.message}); use fewer aliases, and no aliases of aliases` }]);
  }
  const locate = (path: readonly (string | number)[]) => {
    const found = nodeAt(doc, path);
    return found ? (at(found.range?.[0]) as { line: number; col: number }) : undefined;
  };
  yield;

  // An oversized list is reported at the list; the schema is not run over a hundred thousand items.
  if (!walked.oversized && !validateSchema(document)) {
    // Locating an error walks the document: only as many as will be shown (a 64k key flood stays linear).
    const errors = validateSchema.errors ?? [];
    const shown = Math.max(0, drillLimits.issues * 2 - issues.length);
    for (const err of errors.slice(0, shown)) issues.push(ajvIssue(err, doc, file, at));
    uncounted += Math.max(0, errors.length - shown);
  }
  const requestedEngines = issues.length === 0 ? resolveEngineAliases(document as DrillDocument) : {};
  if (issues.length === 0) issues.push(...semanticIssues(document as DrillDocument, file, locate));
  if (issues.length) throw new DrillConfigError(limitIssues(issues, uncounted, file));

  return { file, dir: dirname(resolve(file)), sha256: digest, document: document as DrillDocument, locate, ...(Object.keys(requestedEngines).length ? { requestedEngines } : {}) };
}

/** A store that names its engine by an alias (the schema accepted it) gets the engine's own name; returns what such stores said. */
function resolveEngineAliases(drill: DrillDocument): Record<string, string> {
  const said: Record<string, string> = {};
  for (const [name, store] of Object.entries(drill.spec.stores)) {
    const engine = engineAliases[store.engine as string];
    if (!engine) continue;
    said[name] = store.engine;
    (store as { engine: string }).engine = engine;
  }
  return said;
}

/** At most drillLimits.issues problems, each message bounded, then "and 63,990 more". */
function limitIssues(issues: SpecIssue[], uncounted: number, file: string): SpecIssue[] {
  const unique = dedupe(issues);
  const bound = (i: SpecIssue) => (i.message.length > drillLimits.messageChars ? { ...i, message: `${i.message.slice(0, drillLimits.messageChars)}…` } : i);
  const shown = unique.slice(0, drillLimits.issues).map(bound);
  const more = unique.length - shown.length + uncounted;
  return more > 0 ? [...shown, { file, message: `and ${more.toLocaleString('en-US')} more` }] : shown;
}

/** Validates without throwing; returns the issues (empty when the drill is valid). */
export async function validateDrill(file: string, options: LoadOptions = {}): Promise<SpecIssue[]> {
  try {
    await loadDrill(file, options);
    return [];
  } catch (err) {
    if (err instanceof DrillConfigError) return err.issues;
    throw err;
  }
}

type At = (offset: number | undefined) => { line?: number; col?: number };

/**
 * One linear walk: interpolation, duplicate and non-scalar keys, the size of keys, values and lists.
 * Keeps as many problems as could be shown and counts the rest.
 */
function nodeIssues(doc: Document, env: Record<string, string | undefined>, file: string, at: At): { issues: SpecIssue[]; more: number; oversized: boolean } {
  const issues: SpecIssue[] = [];
  let more = 0;
  let oversized = false;
  const add = (node: Node | null | undefined, message: string) => {
    if (issues.length < drillLimits.issues * 2) issues.push({ file, ...at(node?.range?.[0]), message });
    else more++;
  };
  visit(doc, {
    Seq(_key, seq) {
      if (seq.items.length <= drillLimits.listItems) return;
      oversized = true;
      add(seq, `a list of ${seq.items.length.toLocaleString('en-US')} items; a list may hold at most ${drillLimits.listItems.toLocaleString('en-US')}`);
    },
    Map(_key, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) {
          add(pair.key as Node, 'a key must be a plain string, not a collection or an alias');
          continue;
        }
        if (seen.has(pair.key.value)) add(pair.key, `duplicate key "${String(pair.key.value).slice(0, drillLimits.keyChars)}"`);
        seen.add(pair.key.value);
      }
    },
    Scalar(_key, node, path) {
      if (typeof node.value !== 'string') return;
      // Keys are never interpolated: only values.
      const parent = path.at(-1);
      if (parent && 'key' in parent && parent.key === node) {
        if (node.value.length > drillLimits.keyChars) add(node, `a key of ${node.value.length.toLocaleString('en-US')} characters; keys may be at most ${drillLimits.keyChars}`);
        return;
      }
      if (node.value.includes('${')) {
        const { value, missing } = interpolate(node.value, env);
        for (const name of missing) add(node, `environment variable ${name} is not set (use \${${name}:-default} for a default)`);
        // An unquoted value that is one whole ${...} takes the YAML type of what it expands to,
        // so `jobs: ${JOBS:-4}` is a number and `indexes: ${IDX:-false}` a boolean.
        const whole = /^\$\{[^}]*\}$/.test(node.value) && node.type === 'PLAIN';
        node.value = whole && missing.length === 0 ? retype(value) : value;
      }
      const value = node.value;
      if (typeof value !== 'string') return;
      if (value.length > drillLimits.valueChars) add(node, `a value of ${value.length.toLocaleString('en-US')} characters; a value may be at most ${drillLimits.valueChars.toLocaleString('en-US')}`);
      else if (value.includes('\0')) add(node, 'a value holds a NUL character');
    },
  });
  return { issues, more, oversized };
}

/** The alias to blame when aliases expand too far: the first whose anchor holds aliases itself, else the first. */
function aliasBomb(doc: Document): Node | undefined {
  // Anchors are collected on the way (Alias.resolve would walk the document once per alias).
  const anchors = new Map<string, Node>();
  const holdsAlias = new Map<Node, boolean>();
  let first: Node | undefined;
  let nested: Node | undefined;
  visit(doc, {
    Node(_key, node) {
      if (node.anchor) anchors.set(node.anchor, node);
    },
    Alias(_key, alias) {
      first ??= alias;
      const target = anchors.get(alias.source);
      if (!target) return undefined;
      if (!holdsAlias.has(target)) {
        let found = false;
        visit(target, { Alias: () => ((found = true), visit.BREAK) });
        holdsAlias.set(target, found);
      }
      if (holdsAlias.get(target)) return ((nested = alias), visit.BREAK);
      return undefined;
    },
  });
  return nested ?? first;
}

function retype(text: string): unknown {
  try {
    const parsed: unknown = parse(text);
    return parsed === null || typeof parsed === 'object' ? text : parsed;
  } catch {
    return text;
  }
}

function pointerToPath(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function nodeAt(doc: Document, path: readonly (string | number)[]): Node | undefined {
  let node: unknown = doc.contents;
  for (const key of path) {
    if (isMap(node)) node = node.items.find((p) => isScalar(p.key) && p.key.value === key)?.value;
    else if (isSeq(node) && typeof key === 'number') node = node.items[key];
    else return undefined;
  }
  return (node ?? undefined) as Node | undefined;
}

function keyNodeAt(doc: Document, path: readonly (string | number)[], key: string): Node | undefined {
  const parent = nodeAt(doc, path);
  if (!isMap(parent)) return undefined;
  const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === key);
  return (pair?.key ?? undefined) as Node | undefined;
}

function ajvIssue(err: ErrorObject, doc: Document, file: string, at: At): SpecIssue {
  const path = pointerToPath(err.instancePath);
  const dotted = (p: (string | number)[]) => p.map((s) => (typeof s === 'number' ? `[${s}]` : s)).join('.').replace(/\.\[/g, '[');
  if (err.keyword === 'additionalProperties') {
    const key = (err.params as { additionalProperty: string }).additionalProperty;
    const allowed = Object.keys(((err.parentSchema as { properties?: object })?.properties) ?? {});
    const suggestion = closest(key, allowed);
    const node = keyNodeAt(doc, path, key);
    return {
      file,
      ...at(node?.range?.[0]),
      path: dotted([...path, key]),
      message: `unknown key "${key}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}; allowed: ${allowed.join(', ')}`,
    };
  }
  const node = nodeAt(doc, path);
  let message = err.message ?? 'is invalid';
  if (err.keyword === 'enum') message += `: ${((err.params as { allowedValues: unknown[] }).allowedValues).map((v) => JSON.stringify(v)).join(', ')}`;
  if (err.keyword === 'const') message += `: ${JSON.stringify((err.params as { allowedValue: unknown }).allowedValue)}`;
  if (err.keyword === 'discriminator') {
    const { tag } = err.params as { tag: string };
    const values = ((err.parentSchema as { oneOf?: { $ref: string }[] }).oneOf ?? []).map((r) => r.$ref.split('/').pop()?.replace(/(Store|Check)$/, '')).filter(Boolean);
    message = `unknown ${tag}; expected one of: ${values.join(', ')}`;
    const tagNode = nodeAt(doc, [...path, tag]);
    return { file, ...at((tagNode ?? node)?.range?.[0]), path: dotted([...path, tag]), message };
  }
  // The root of an empty document has no node: its problems are at the start of the file.
  return { file, ...at(node?.range?.[0] ?? (path.length === 0 ? 0 : undefined)), path: dotted(path) || '(root)', message };
}

function semanticIssues(drill: DrillDocument, file: string, locate: Drill['locate']): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const add = (path: (string | number)[], message: string) => issues.push({ file, ...locate(path), path: specPath(path), message });
  const stores = drill.spec.stores;
  for (const [name, store] of Object.entries(stores)) {
    const engine = engineFor(store);
    store.restore.forEach((step, i) => {
      const artefact = artefactSourceOf(step);
      if (artefact?.fetch === 'pod') {
        for (const [path, message] of podFetchIssues(store, i, artefact)) add(['spec', 'stores', name, 'restore', i, 'artefact', ...path], message);
        const runtime = drill.spec.runtime;
        if (runtime && runtime !== 'auto' && !runtimes[runtime].fetchesInPod) add(['spec', 'stores', name, 'restore', i, 'artefact', 'fetch'], `fetch: pod needs the ${either(podFetchRuntimes())} runtime (its store pods download artefacts themselves); this drill runs on ${runtime}`);
      }
    });
    for (const [path, message] of engine.validate?.store?.(store, dirname(resolve(file))) ?? []) add(['spec', 'stores', name, ...path], message);
  }
  const ids = new Set<string>();
  (drill.spec.checks ?? []).forEach((check, i) => {
    const refs: [string, (string | number)[]][] =
      check.type === 'reachability'
        ? [[check.references.store, ['spec', 'checks', i, 'references', 'store']], [check.objects.store, ['spec', 'checks', i, 'objects', 'store']]]
        : check.type === 'http' ? [] : [[check.store, ['spec', 'checks', i, 'store']]];
    for (const [storeName, path] of refs) {
      const store = stores[storeName];
      if (!store) add(path, `unknown store "${storeName}"; stores: ${Object.keys(stores).join(', ')}`);
      else if (check.type !== 'reachability' && check.type !== 'http' && !answers(engineFor(store), check.type)) {
        add(['spec', 'checks', i, 'type'], `${/^[aeiou]/.test(check.type) ? 'an' : 'a'} ${check.type} check needs ${aStoreOf(enginesAnswering(check.type))}; ${storeName} is ${store.engine}, which has no ${check.type} check`);
      }
    }
    if (check.type === 'reachability') {
      const refStore = stores[check.references.store];
      const references = refStore && engineFor(refStore).references;
      if (refStore && !references) add(['spec', 'checks', i, 'references', 'store'], `references come from ${aStoreOf(enginesWith('references'))}; ${check.references.store} is ${refStore.engine}`);
      for (const [path, message] of references?.issues(check.references) ?? []) add(['spec', 'checks', i, 'references', ...path], message);
      const objStore = stores[check.objects.store];
      if (objStore && !engineFor(objStore).objects) add(['spec', 'checks', i, 'objects', 'store'], `objects come from ${aStoreOf(enginesWith('objects'))}; ${check.objects.store} is ${objStore.engine}`);
    }
    for (const [path, message] of extraCheckIssues(drill, check)) add(['spec', 'checks', i, ...path], message);
    const store = check.type === 'reachability' || check.type === 'http' ? undefined : stores[check.store];
    if (store && check.type !== 'reachability' && check.type !== 'http') for (const [path, message] of engineFor(store).validate?.check?.(check) ?? []) add(['spec', 'checks', i, ...path], message);
    const id = check.id ?? `${check.type}-${i + 1}`;
    if (ids.has(id)) add(['spec', 'checks', i, 'id'], `duplicate check id "${id}"`);
    ids.add(id);
    const expectations: [Expectation, (string | number)[]][] =
      check.type === 'objects'
        ? Object.entries(check.expect).map(([k, e]) => [e!, ['spec', 'checks', i, 'expect', k]])
        : 'expect' in check && check.type !== 'http' ? [[check.expect, ['spec', 'checks', i, 'expect']]] : [];
    for (const [expect, path] of expectations) {
      if (expect.matches !== undefined) {
        try {
          new RegExp(expect.matches);
        } catch (err) {
          add([...path, 'matches'], `invalid regular expression: ${(err as Error).message}`);
        }
      }
      if (expect.between && expect.between[0] > expect.between[1]) add([...path, 'between'], 'between must be [low, high]');
    }
  });
  for (const [path, message] of appIssues(drill)) add(['spec', 'app', ...path], message);
  return issues;
}

const podFetchRuntimes = () => Object.values(runtimes).filter((r) => r.fetchesInPod).map((r) => r.name);

/** What `fetch: pod` can do: the pod downloads one S3 object that the restore tool reads as it is. */
function podFetchIssues(store: StoreSpec, step: number, artefact: ArtefactSourceSpec): [(string | number)[], string][] {
  const issues: [(string | number)[], string][] = [];
  if (!/^s3:\/\//i.test(artefact.source)) issues.push([['source'], 'fetch: pod needs an s3:// source (the pod downloads it through a presigned URL); use fetch: harness for local and SFTP sources']);
  if (artefact.decrypt) issues.push([['decrypt'], 'fetch: pod cannot decrypt: the key would have to enter the cluster; use fetch: harness']);
  if (artefact.unpack) issues.push([['unpack'], 'fetch: pod cannot unpack archives; use fetch: harness']);
  const engine = engineFor(store);
  if (!engine.podFetchIssues) issues.push([['fetch'], `fetch: pod restores ${either(enginesWith('podFetchIssues'))} dumps only; this store is ${store.engine} (use fetch: harness)`]);
  else issues.push(...engine.podFetchIssues(store, step));
  return issues;
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = levenshtein(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

function dedupe(issues: SpecIssue[]): SpecIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.line}:${i.col}:${i.path}:${i.message}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
}

export function drillDisplayName(file: string): string {
  return basename(file).replace(/\.ya?ml$/, '');
}
