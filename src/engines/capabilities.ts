// What the engines declare, read by validation, checks and the CLI: none of them names an engine.
import type { CheckType } from '../drill/types.ts';
import { engines } from './index.ts';
import { rowCheckTypes } from './rows.ts';
import type { Engine } from './types.ts';

const all: readonly Engine[] = Object.values(engines);

/** The check types an engine answers: its own checks, and the row-reading ones when it streams rows. */
export function checkTypesOf(engine: Engine): CheckType[] {
  return [...(Object.keys(engine.checks) as CheckType[]), ...(Object.keys(engine.artefactChecks ?? {}) as CheckType[]), ...(engine.rows ? rowCheckTypes : [])];
}

export function answers(engine: Engine, type: CheckType): boolean {
  return checkTypesOf(engine).includes(type);
}

/** Names of the engines that answer a check type, for messages ("a postgres or mongodb store"). */
export function enginesAnswering(type: CheckType): string[] {
  return all.filter((e) => answers(e, type)).map((e) => e.name);
}

type Capability = 'rows' | 'references' | 'objects' | 'baseline' | 'podFetchIssues' | 'mutants';

/** The engines that declare a capability. */
export function declaring<C extends Capability>(capability: C): (Engine & Required<Pick<Engine, C>>)[] {
  return all.filter((e): e is Engine & Required<Pick<Engine, C>> => e[capability] !== undefined);
}

/** Names of the engines that declare a capability, for messages. */
export function enginesWith(capability: Capability): string[] {
  return declaring(capability).map((e) => e.name);
}

/** The check field that names what a row-reading check reads, per engine: "table (postgres) or collection (mongodb)". */
export function rowRelations(): string {
  return either(declaring('rows').map((e) => `${e.rows.relation} (${e.name})`));
}

/** "postgres or mongodb" */
export const either = (names: readonly string[]): string => names.join(' or ');

/**
 * "a mongodb or postgres store", "an s3 store", "an etcd store": the article as the first name is
 * said, a vowel sound for a vowel or for a spelled-out letter (s3) that starts with one.
 */
export function aStoreOf(names: readonly string[]): string {
  const first = names[0] ?? '';
  const vowelSound = /^[aeiou]/i.test(first) || /^[fhlmnrsx]\d/i.test(first);
  return `${vowelSound ? 'an' : 'a'} ${either(names)} store`;
}
