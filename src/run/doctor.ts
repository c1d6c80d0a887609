import { resolve } from 'node:path';
import { ExitCode, UsageError } from '../errors.ts';
import type { PreflightItem } from '../report/types.ts';
import { runtimes } from '../runtimes/index.ts';
import { defaultRuntime, selectRuntime } from '../runtimes/select.ts';
import { loadDrill } from '../drill/load.ts';
import type { Drill, RuntimeChoice, RuntimeName } from '../drill/types.ts';
import { newRunId } from './identity.ts';
import { preflight, renderPreflight } from './preflight.ts';

/** What `restoreproof doctor --help` says after the options. */
export const doctorDetails = `Checks, without touching any data or creating anything, that a run has what it needs: each tool
with its version (local runtime), the runtime (Docker answers; the cluster API answers and RBAC
allows every verb a run uses, by SelfSubjectAccessReview), the images (present, or pullable),
every secret the drill references (resolved, never printed), every source (listed, and the
artefact selected as a run would: the newest dated folder included), local artefacts and the
signing key. One line per item, with the fix for what is missing. Without a drill it checks the
general environment. \`run\` performs the same preflight before it provisions anything.

Exit codes: 0 ready, 3 something the run needs is missing, 1 the backup itself is missing
(a source or artefact with nothing to restore), 2 usage or config.`;

interface DoctorOptions {
  drill?: string;
  runtime?: RuntimeChoice;
  json?: boolean;
  out?: NodeJS.WritableStream;
}

/** `restoreproof doctor [drill.yaml]`: the preflight alone, printed; returns the exit code. */
export async function doctor(options: DoctorOptions): Promise<number> {
  const out = options.out ?? process.stdout;
  const drill: Drill | undefined = options.drill ? await loadDrill(options.drill) : undefined;
  const requested = options.runtime ?? drill?.document.spec.runtime ?? defaultRuntime();
  if (requested !== 'auto' && !(requested in runtimes)) throw new UsageError(`unknown runtime "${requested}"; available: auto, ${Object.keys(runtimes).join(', ')}`);
  let runtime = requested as RuntimeName;
  let chosen = '';
  if (requested === 'auto') {
    const selection = await selectRuntime('auto');
    runtime = selection.chosen;
    chosen = ` (auto: ${selection.reason})`;
  }
  const items = await preflight(drill, { runtime, runId: newRunId(), signal: AbortSignal.timeout(10 * 60_000) });
  const code = doctorExitCode(items);
  if (options.json) {
    out.write(`${JSON.stringify({ drill: drill ? resolve(drill.file) : null, runtime, exitCode: code, items }, null, 2)}\n`);
    return code;
  }
  out.write(`restoreproof doctor: ${drill ? drill.file : 'general environment'}, runtime ${runtime}${chosen}\n`);
  out.write(renderPreflight(items));
  out.write(`${summary(items, code)}\n`);
  return code;
}

/** The backup itself is not there: what a run reports as the backup failing (exit 1). */
const backupMissing = (i: PreflightItem) => i.code === 'E_ARTEFACT';

/** 3 when something the run needs is missing, else 1 when the backup itself is, else 0. */
function doctorExitCode(items: PreflightItem[]): number {
  const missing = items.filter((i) => i.status === 'missing');
  if (missing.some((i) => !backupMissing(i))) return ExitCode.couldNotRun;
  return missing.length ? ExitCode.failed : ExitCode.passed;
}

function summary(items: PreflightItem[], code: number): string {
  const missing = items.filter((i) => i.status === 'missing');
  const okCount = items.filter((i) => i.status === 'ok').length;
  if (code === ExitCode.passed) return `READY: ${okCount} ok${items.length > okCount ? `, ${items.length - okCount} not checked` : ''}`;
  const named = (list: PreflightItem[]) => list.map((i) => `${i.kind} ${i.name}${i.hint ? ` (fix: ${i.hint})` : ''}`).join('; ');
  const blocking = missing.filter((i) => !backupMissing(i));
  const backup = missing.filter(backupMissing);
  if (code === ExitCode.couldNotRun) return `NOT READY: ${blocking.length} missing: ${named(blocking)}${backup.length ? `; and the backup: ${backup.map((i) => i.name).join('; ')}` : ''}`;
  return `BACKUP MISSING: ${named(backup)}`;
}
