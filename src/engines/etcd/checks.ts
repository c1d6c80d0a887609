import { evaluate } from '../../checks/expectations.ts';
import type { CheckRunner } from '../../checks/types.ts';
import type { EtcdKeyCheck, EtcdKeysCheck, EtcdRevisionCheck, KubeObjectsCheck } from '../../drill/types.generated.ts';
import { countPrefix, getKey } from './client.ts';
import { kubeApi } from './kube-api.ts';

const etcdKeys: CheckRunner<EtcdKeysCheck> = async (check, context) => {
  const { count } = await countPrefix(context.store.endpoint, check.prefix, context.signal);
  const e = evaluate(check.expect, count);
  const what = check.prefix ? `keys under ${JSON.stringify(check.prefix)}` : 'keys';
  return { passed: e.passed, expected: e.expected, actual: count, message: `${count} ${what}${e.passed ? '' : `, expected ${e.expected}`}` };
};

const etcdKey: CheckRunner<EtcdKeyCheck> = async (check, context) => {
  const value = await getKey(context.store.endpoint, check.key, context.signal);
  const text = value?.toString('utf8');
  const expected = check.value === undefined ? `${check.key} exists` : `${check.key} = ${JSON.stringify(check.value)}`;
  const problem = value === undefined ? `${check.key} does not exist` : check.value !== undefined && text !== check.value ? `${check.key} is ${JSON.stringify(text!.slice(0, 80))}, not ${JSON.stringify(check.value)}` : '';
  const actual = value === undefined ? null : { size: value.length, ...(check.value !== undefined ? { value: text!.slice(0, 200) } : {}) };
  return { passed: !problem, expected, actual, message: problem || `${check.key} exists (${value!.length} bytes)` };
};

const etcdRevision: CheckRunner<EtcdRevisionCheck> = async (check, context) => {
  const { revision } = await countPrefix(context.store.endpoint, '', context.signal);
  const passed = revision >= check.min;
  return { passed, expected: `>= ${check.min}`, actual: revision, message: `revision ${revision}${passed ? '' : `, older than ${check.min}`}` };
};

/** The API server keeps each object at /registry/<resource>/<namespace>/<name> (cluster-scoped: /registry/<resource>/<name>). */
const kubeObjects: CheckRunner<KubeObjectsCheck> = async (check, context) => {
  const prefix = `/registry/${check.resource}/${check.namespace ? `${check.namespace}/` : ''}`;
  const { count } = await countPrefix(context.store.endpoint, prefix, context.signal);
  const e = evaluate(check.expect, count);
  const what = `${check.resource}${check.namespace ? ` in namespace ${check.namespace}` : ''}`;
  return { passed: e.passed, expected: e.expected, actual: count, message: `${count} ${what} (keys under ${prefix})${e.passed ? '' : `, expected ${e.expected}`}` };
};

export const etcdChecks = { etcdKeys, etcdKey, etcdRevision, kubeObjects, kubeApi };
