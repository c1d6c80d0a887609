/** Exit codes, as knip and most linters use them. */
export const ExitCode = { passed: 0, failed: 1, usage: 2, interrupted: 130 } as const;

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
    this.exitCode = options.exitCode ?? ExitCode.failed;
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
export class ToolNotFoundError extends RestoreproofError {
  constructor(tool: string, searched: string[], hint: string) {
    super('E_TOOL_NOT_FOUND', `cannot find \`${tool}\` (searched: ${searched.join(', ') || 'PATH'})`, { hint, exitCode: ExitCode.usage });
  }
}

/** An external restore tool exited non-zero. */
export class RestoreToolError extends RestoreproofError {
  readonly tool: string;
  readonly toolExitCode: number | null;
  readonly stderr: string;
  constructor(tool: string, exitCode: number | null, signal: string | null, stderr: string) {
    const how = exitCode === null ? `was killed by ${signal}` : `exited with code ${exitCode}`;
    super('E_RESTORE_TOOL', `${tool} ${how}${stderr ? `: ${lastLine(stderr)}` : ''}`);
    this.tool = tool;
    this.toolExitCode = exitCode;
    this.stderr = stderr;
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

export class InterruptedError extends RestoreproofError {
  constructor(signal: string) {
    super('E_INTERRUPTED', `interrupted by ${signal}`, { exitCode: ExitCode.interrupted });
  }
}

export function formatIssue(issue: SpecIssue): string {
  const where = [issue.file, issue.line, issue.col].filter((v) => v !== undefined).join(':');
  return `${where}: ${issue.path ? `${issue.path}: ` : ''}${issue.message}`;
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n').filter((l) => l.trim() !== '');
  return lines.at(-1) ?? '';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** What a failed restore step records of the error that stopped it: the message, and its stable code when it has one. */
export function stepError(err: unknown): { error: string; errorCode?: string } {
  return { error: errorMessage(err), ...(err instanceof RestoreproofError ? { errorCode: err.code } : {}) };
}
