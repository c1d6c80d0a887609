import { formatDuration } from '../util/duration.ts';
import { redact } from '../util/redact.ts';
import { scoreLine, survivorLine } from '../mutate/score.ts';
import type { MutationRecord, Reporter } from './types.ts';

const marks: Record<string, string> = { passed: '✓', failed: '✗', warned: '!', skipped: '-' };
const mutantMarks: Record<string, string> = { killed: '✓', survived: '✗', accepted: '~', 'not-run': '-' };

/** The score, each store's, and every survivor with what would notice it. */
export function mutationLines(m: MutationRecord): string[] {
  const lines = [`mutation score: ${scoreLine(m)}`];
  if (m.status === 'stopped' && m.reason) lines.push(`  stopped: ${m.reason}`);
  for (const s of m.stores) lines.push(`  ${s.name}: ${s.score === null ? 'no mutants' : `${s.killed} of ${s.total - s.accepted} killed`}${s.accepted ? ` (${s.accepted} accepted)` : ''}${s.note ? `; ${s.note}` : ''}`);
  for (const survivor of m.mutants.filter((x) => x.status === 'survived' || x.status === 'accepted')) lines.push(`  ${survivor.status === 'accepted' ? 'accepted' : 'survived'}: ${survivorLine(survivor)}`);
  for (const x of m.mutants.filter((x) => x.status === 'not-run')) lines.push(`  not run: ${x.id}: ${x.error ?? ''}`);
  return lines;
}

/**
 * Live progress. On a TTY, the running step's line is redrawn with its elapsed time;
 * otherwise plain lines, one per event, fit for CI logs.
 */
export function consoleReporter(stream: NodeJS.WriteStream = process.stderr): Reporter {
  const tty = Boolean(stream.isTTY) && process.env.CI !== 'true';
  const t0 = Date.now();
  let live: { label: string; since: number } | undefined;
  let timer: NodeJS.Timeout | undefined;
  const stamp = () => `[${formatDuration(Date.now() - t0).padStart(6)}]`;
  const clear = () => {
    if (tty && live) stream.write('\r\x1b[2K');
  };
  const print = (line: string) => {
    clear();
    stream.write(`${redact(line)}\n`);
    if (tty && live) draw();
  };
  const draw = () => {
    if (!live) return;
    stream.write(`\r\x1b[2K… ${live.label} ${formatDuration(Date.now() - live.since)}`);
  };
  const start = (label: string) => {
    if (!tty) return print(`${stamp()} ${label} …`);
    live = { label, since: Date.now() };
    draw();
    timer ??= setInterval(draw, 250);
    timer.unref();
  };
  /** Back to the enclosing phase after a step: redrawn on a TTY, silent in plain mode. */
  const resume = (label: string) => {
    if (tty) start(label);
  };
  const stop = () => {
    clear();
    live = undefined;
    if (timer) clearInterval(timer);
    timer = undefined;
  };
  return {
    onRunStart: (e) => print(`restoreproof run ${e.runId}: ${e.drill}`),
    onRuntimeSelected: (s) => print(`runtime ${s.chosen} (${s.requested}: ${s.reason})`),
    onPhaseStart: (phase) => start(phase),
    onPhaseEnd: (phase) => {
      stop();
      print(`${stamp()} ${marks[phase.status] ?? ' '} ${phase.name} ${formatDuration(phase.durationMs)}`);
    },
    onStepStart: (e) => start(`restore ${e.store}: ${e.description}`),
    onStepEnd: (e) => {
      stop();
      print(`${stamp()}   ${marks[e.result.status]} ${e.store}: ${e.result.tool} ${e.result.artefact} ${formatDuration(e.result.durationMs)}${e.result.error ? `\n      ${e.result.error}` : ''}`);
      resume('restore');
    },
    onCheckStart: (e) => resume(`check ${e.id}`),
    onCheckEnd: (r) => {
      stop();
      print(`${stamp()}   ${marks[r.status]} ${r.id}: ${r.name} (${formatDuration(r.durationMs)})${r.status === 'passed' ? '' : `\n      ${r.message.split('\n').join('\n      ')}`}`);
      resume('checks');
    },
    onMutantEnd: (m) => {
      stop();
      print(`${stamp()}   ${mutantMarks[m.status] ?? ' '} ${m.id}: ${m.status}${m.killedBy ? ` by ${m.killedBy}` : ''}${m.error ? `\n      ${m.error}` : ''}`);
      resume('mutants');
    },
    onRunEnd: (report) => {
      stop();
      if (report.mutation) for (const line of mutationLines(report.mutation)) print(line);
      for (const e of report.errors) print(`error ${e.code}: ${e.file ? `${[e.file, e.line, e.col].filter(Boolean).join(':')}: ` : ''}${e.path ? `${e.path}: ` : ''}${e.message}${e.hint ? `\n  hint: ${e.hint}` : ''}`);
      for (const s of report.stores) if (s.kept) for (const line of s.connection ?? []) print(`kept ${line}`);
      for (const line of report.teardown.keptApp ?? []) print(`kept ${line}`);
      const c = report.summary.checks;
      const weak = report.mutation?.status === 'scored' && report.mutation.verdict === 'failed' ? ` (the mutation score is below ${(report.mutation.minScore * 100).toFixed(0)}%)` : '';
      print(`${report.status.toUpperCase()}${weak}: ${c.passed} passed, ${c.failed} failed, ${c.warned} warned, ${c.skipped} skipped in ${formatDuration(report.durationMs)}`);
      const files = Object.values(report.reports);
      if (files.length) print(`reports: ${files.join(', ')}`);
    },
  };
}
