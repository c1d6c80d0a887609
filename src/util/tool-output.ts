// A restore tool reads the artefact, and its messages quote what it read: psql echoes the statement
// ("LINE 1: <text>"), the token it choked on (at or near "<token>"), COPY values and unique keys
// (DETAIL: Key (id)=(<value>)). Only a bounded tail of its stderr, with those masked, enters the evidence.

const lineChars = 200;
/** Lines that only repeat the input: psql's statement echo and its caret, plpgsql's QUERY/STATEMENT. */
const echo = /^\s*(LINE \d+:|\^\s*$|QUERY:|STATEMENT:)/;

function maskLine(line: string): string {
  const masked = line
    .replace(/"[^"\n]*"/g, '"…"')
    .replace(/\)=\([^)\n]*\)/g, ')=(…)');
  return masked.length > lineChars ? `${masked.slice(0, lineChars)}…` : masked;
}

function meaningfulLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.trim() && !echo.test(l)).map(maskLine);
}

/** The lines that say what went wrong, masked and bounded: the first few and the last ones. */
export function toolStderrTail(stderr: string, maxLines = 20): string {
  const lines = meaningfulLines(stderr);
  if (lines.length <= maxLines) return lines.join('\n');
  return [...lines.slice(0, 5), `… ${lines.length - maxLines} lines omitted …`, ...lines.slice(-(maxLines - 5))].join('\n');
}

/** The first line matching `pattern` (else the last line), masked and bounded, for an error message. */
export function toolErrorLine(stderr: string, pattern: RegExp): string {
  const lines = meaningfulLines(stderr);
  return (lines.find((l) => pattern.test(l)) ?? lines.at(-1) ?? '').trim();
}
