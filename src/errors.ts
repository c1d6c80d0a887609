/**
 * Exit codes: 0 the backup restored and every check held, 1 the backup failed (its restore or its
 * checks), 2 usage or config, 3 the drill could not run (the environment lacks something it needs),
 * 130/143 interrupted. CI pages someone on 3 and opens a data-loss incident on 1.
 */
export const ExitCode = { passed: 0, failed: 1, usage: 2, couldNotRun: 3, interrupted: 130, terminated: 143 } as const;

/**
 * Codes that say the drill could not run, not that the backup failed: a tool or runtime is missing
 * or unreachable, an image cannot be had, a source does not answer, a secret cannot be resolved.
 * An error with one of these codes exits 3, whichever class raised it (a restore step keeps only
 * the code of the error that stopped it).
 */
export const couldNotRunCodes: ReadonlySet<string> = new Set([
  'E_TOOL_NOT_FOUND', // a server or client binary is not installed
  'E_PREFLIGHT', // an image lacks the client tools the restore runs, or the preflight found something missing
  'E_NO_DOCKER', // no Docker engine answers at DOCKER_HOST
  'E_DOCKER_GONE', // the engine stopped answering during the run
  'E_IMAGE', // an image is neither present nor pullable
  'E_KUBECONFIG', // no usable kubeconfig or context
  'E_KUBE_UNREACHABLE', // the cluster API does not answer
  'E_KUBE_AUTH', // the cluster refuses the credentials
  'E_KUBE_FORBIDDEN', // RBAC lacks a verb the run needs
  'E_SECRET', // a secret reference cannot be resolved
  'E_SOURCE_UNREACHABLE', // an S3 or SFTP source does not answer, or refuses the credentials
  'E_HOST_KEY', // an SFTP server's host key is not the one the drill trusts
  'E_SIGNING_KEY', // the signing key the drill asks for cannot be read
]);

/** Does this error (or error code) say the drill could not run, rather than that the backup failed? */
export function isCouldNotRun(errOrCode: unknown): boolean {
  const code = typeof errOrCode === 'string' ? errOrCode : errOrCode instanceof RestoreproofError ? errOrCode.code : undefined;
  return code !== undefined && couldNotRunCodes.has(code);
}

export interface SourceLocation {
  file: string;
  line?: number;
  col?: number;
  /** JSON pointer-ish path inside the drill, e.g. `spec.stores.app.engine`. */
  path?: string;
}

/** Base of every error restoreproof raises on purpose: a stable code and a hint on how to fix it. */
export class RestoreproofError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly exitCode: number;
  constructor(code: string, message: string, options: { hint?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? (couldNotRunCodes.has(code) ? ExitCode.couldNotRun : ExitCode.failed);
  }
}

/** The environment lacks something the drill needs (exit 3); the code must be one of couldNotRunCodes. */
export class EnvironmentError extends RestoreproofError {
  constructor(code: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(code, message, { ...options, exitCode: ExitCode.couldNotRun });
  }
}

export interface SpecIssue extends SourceLocation {
  message: string;
}

/** A path inside the drill as issues print it: `spec.stores.app.restore[0].database`. */
export function specPath(path: readonly (string | number)[]): string {
  return path.join('.').replace(/\.(\d+)/g, '[$1]');
}

/** The drill file cannot be used as written: exit 2 before anything is touched. */
export class DrillConfigError extends RestoreproofError {
  readonly issues: SpecIssue[];
  constructor(issues: SpecIssue[], hint?: string) {
    super('E_DRILL_CONFIG', issues.map(formatIssue).join('\n'), { exitCode: ExitCode.usage, ...(hint ? { hint } : {}) });
    this.issues = issues;
  }
}

export class UsageError extends RestoreproofError {
  constructor(message: string, hint?: string) {
    super('E_USAGE', message, { exitCode: ExitCode.usage, ...(hint ? { hint } : {}) });
  }
}

/** A backup artefact is missing, unreadable or malformed. The drill fails (exit 1). */
export class ArtefactError extends RestoreproofError {
  readonly artefact: string;
  constructor(artefact: string, message: string, hint?: string) {
    super('E_ARTEFACT', `${artefact}: ${message}`, hint ? { hint } : {});
    this.artefact = artefact;
  }
}

/**
 * A step's settings contradict what its artefact turned out to be, seen only once the artefact is
 * read (e.g. `database:` on a pg_dumpall file): a config error (exit 2), located at `field` of the step.
 */
export class StepConfigError extends RestoreproofError {
  readonly artefact: string;
  readonly field: string;
  constructor(artefact: string, field: string, message: string, hint?: string) {
    super('E_DRILL_CONFIG', `${artefact}: ${message}`, { exitCode: ExitCode.usage, ...(hint ? { hint } : {}) });
    this.artefact = artefact;
    this.field = field;
  }
}

/** A tool the run needs (initdb, pg_restore, ...) is not installed. */
export class ToolNotFoundError extends EnvironmentError {
  constructor(tool: string, searched: string[], hint: string) {
    super('E_TOOL_NOT_FOUND', `cannot find \`${tool}\` (searched: ${searched.join(', ') || 'PATH'})`, { hint });
  }
}

/** Connecting to a source or target failed because the credentials were refused. */
export class AuthenticationError extends RestoreproofError {
  constructor(target: string, detail: string) {
    super('E_AUTH', `${target}: authentication failed (${detail})`, {
      exitCode: ExitCode.usage,
      hint: 'check the user and password (use PGPASSWORD or --password-env rather than a password in the URL)',
    });
  }
}

/** The run was stopped (SIGINT, SIGTERM, or its AbortSignal): what it was doing did not fail on its own. */
export class InterruptedError extends RestoreproofError {
  constructor(signal: AbortSignal, doing?: string) {
    const cause = interruptionCause(signal);
    super('E_INTERRUPTED', `interrupted by ${cause}${doing ? ` ${doing}` : ''}`, { exitCode: cause === 'SIGTERM' ? ExitCode.terminated : ExitCode.interrupted });
  }
}

/** The signal the CLI aborts with ('SIGINT', 'SIGTERM'), else `an abort` (a caller's own AbortController). */
export function interruptionCause(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  return typeof reason === 'string' && reason.startsWith('SIG') ? reason : 'an abort';
}

export function formatIssue(issue: SpecIssue): string {
  const where = [issue.file, issue.line, issue.col].filter((v) => v !== undefined).join(':');
  return `${where}: ${issue.path ? `${issue.path}: ` : ''}${issue.message}`;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** What a failed restore step records of the error that stopped it: the message, and its stable code when it has one. */
export function stepError(err: unknown): { error: string; errorCode?: string } {
  return { error: errorMessage(err), ...(err instanceof RestoreproofError ? { errorCode: err.code } : {}) };
}
