// Semantic validation of spec.app and the http, auditChain, decrypt and freshness checks: what the
// schema cannot say, found at load time so a bad drill exits 2 before any restore.
import { parseAppTemplate } from '../app/env.ts';
import { auditChainIssues } from '../checks/audit-chain.ts';
import { rowRelations } from '../engines/capabilities.ts';
import { engineFor } from '../engines/index.ts';
import type { AppSpec, CheckSpec, DrillDocument, JsonFieldExpectation } from './types.ts';

type Issue = [(string | number)[], string];

export function appIssues(drill: DrillDocument): Issue[] {
  const app = drill.spec.app;
  if (!app) return [];
  const issues: Issue[] = [];
  const stores = Object.keys(drill.spec.stores);
  const envIssues = (env: Record<string, unknown> | undefined, at: (string | number)[]) => {
    for (const [name, value] of Object.entries(env ?? {})) {
      if (typeof value !== 'string') continue;
      try {
        parseAppTemplate(value, stores);
      } catch (err) {
        issues.push([[...at, 'env', name], (err as Error).message]);
      }
    }
  };
  envIssues(app.env, []);
  if (app.migrate) envIssues(app.migrate.env, ['migrate']);
  const runtime = drill.spec.runtime;
  if (runtime && runtime !== 'auto') for (const [path, message] of appRuntimeIssues(runtime, app)) issues.push([path, message]);
  return issues;
}

/**
 * What spec.app needs from the runtime that hosts it: `local` runs a command on this machine;
 * `containers` and `kubernetes` run an image, or a command in the default app image, where a path
 * relative to the drill (a file on this machine) does not exist. Checked at load for a drill that names its
 * runtime, and again once `auto` or --runtime has chosen one.
 */
export function appRuntimeIssues(runtime: string, app: AppSpec): Issue[] {
  const issues: Issue[] = [];
  if (runtime === 'local') {
    if (!app.command) issues.push([['command'], `the local runtime runs spec.app as a command on this machine and needs command${app.image ? ` (image ${app.image} is for --runtime containers)` : ''}`]);
    return issues;
  }
  if (runtime === 'containers' || runtime === 'kubernetes') {
    const hostPath = (argv: string[] | undefined) => argv?.[0] !== undefined && argv[0].includes('/') && !argv[0].startsWith('/');
    if (!app.image && hostPath(app.command)) {
      issues.push([['command', 0], `without image, the command runs in the default app image, where ${app.command![0]} (a path relative to the drill on this machine) does not exist; give spec.app.image, or a command on the image's PATH (e.g. node) with the sources in cwd`]);
    }
    // An argument such as ../app/server.ts names a file next to the drill; only cwd is copied in.
    const relative = app.image || app.cwd ? -1 : (app.command ?? []).findIndex((a, i) => i > 0 && /^\.\.?\//.test(a));
    if (relative > 0) {
      issues.push([['command', relative], `${app.command![relative]} is a path relative to the drill on this machine; without image, only cwd is copied into the container (/srv/app): set cwd to the app's directory and name the file relative to it (e.g. cwd: ../app, command: [node, server.ts])`]);
    }
    if (app.migrate && !app.migrate.image && !app.image && hostPath(app.migrate.command)) {
      issues.push([['migrate', 'command', 0], `without image, the migration runs in the default app image, where ${app.migrate.command[0]} (a path relative to the drill on this machine) does not exist; give image`]);
    }
  }
  return issues;
}

function regexIssue(pattern: string | undefined, path: (string | number)[], issues: Issue[]) {
  if (pattern === undefined) return;
  try {
    new RegExp(pattern);
  } catch (err) {
    issues.push([path, `invalid regular expression: ${(err as Error).message}`]);
  }
}

export function extraCheckIssues(drill: DrillDocument, check: CheckSpec): Issue[] {
  const issues: Issue[] = [];
  const store = 'store' in check ? drill.spec.stores[check.store] : undefined;
  switch (check.type) {
    case 'http': {
      if (!check.url === !check.path) issues.push([[], 'an http check needs exactly one of path (relative to the app) and url']);
      if (check.path && !drill.spec.app) issues.push([['path'], 'a relative path goes to the app, but spec.app is not set; use url']);
      if (check.path && !check.path.startsWith('/')) issues.push([['path'], 'path must start with /']);
      if (check.url && !/^https?:\/\//.test(check.url)) issues.push([['url'], 'url must start with http:// or https://']);
      for (const [path, e] of Object.entries(check.expect?.json ?? {}) as [string, JsonFieldExpectation][]) regexIssue(e.matches, ['expect', 'json', path, 'matches'], issues);
      regexIssue(check.expect?.body, ['expect', 'body'], issues);
      break;
    }
    case 'auditChain':
    case 'decrypt':
    case 'freshness': {
      const rows = store && engineFor(store).rows;
      if (rows && !check[rows.relation]) issues.push([[], `a ${store.engine} ${check.type} check needs ${rows.relation}`]);
      if (check.table && check.collection) issues.push([[], `give ${rowRelations()}, not both`]);
      if (check.type === 'auditChain') for (const [path, message] of auditChainIssues(check)) issues.push([path, message]);
      if (check.type === 'freshness' && !check.maxAge && !drill.spec.objectives?.rpo) issues.push([[], 'a freshness check needs maxAge or spec.objectives.rpo']);
      break;
    }
  }
  return issues;
}
