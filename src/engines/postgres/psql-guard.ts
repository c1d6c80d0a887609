import { Transform, type TransformCallback } from 'node:stream';
import { ArtefactError } from '../../errors.ts';

/**
 * psql runs the meta-commands it finds in its input (`\!` starts a shell, `\o` writes files,
 * `\copy` reads them): a plain SQL backup is a script for the machine psql runs on. This guard
 * sits between the artefact and psql's stdin. It follows psql's own lexer (comments, quoted
 * strings and identifiers, dollar quotes, parentheses, `BEGIN ATOMIC` bodies, `COPY … FROM stdin`
 * data up to its `\.` line) in one pass over the bytes, with bounded memory, and lets through
 * only what pg_dump and pg_dumpall write:
 *
 * - `\connect <database>` / `\c`, rewritten to `\connect -reuse-previous=on "dbname='…'"`, so it
 *   can only name a database on the same server as the same user;
 * - `\encoding <name>` (pg_dump and pg_dumpall write it before a database of another encoding);
 * - `\restrict <key>` and `\unrestrict <key>` (CVE-2025-8714), dropped: the guard (and, where
 *   psql has it, our own `\restrict` with a key the backup cannot know) does their work.
 *
 * Anything else psql would take as a meta-command fails the restore, naming the line. So do the
 * few spellings where psql's reading depends on session state the guard cannot see
 * (`standard_conforming_strings`, a client encoding whose multi-byte characters can end in a
 * backslash or a semicolon): a backslash-quote in a '…' string, a non-ASCII byte right before a
 * backslash or before a semicolon outside strings, a NUL byte, and a psql variable (`:NAME`) that
 * opens a statement or sits in a COPY statement (it could turn it into COPY … FROM stdin).
 *
 * Line numbers are kept (every input line is one output line), except for the `\restrict` lines
 * below; `inputLine` maps them back.
 */
export interface PsqlGuardOptions {
  /** How the artefact is named in errors. */
  artefact: string;
  /**
   * psql understands `\restrict`: the output starts with a `\restrict <key>` line and each allowed
   * command is put between an `\unrestrict <key>` line and a `\restrict <key>` line (psql reads the
   * rest of an `\unrestrict` line as the key), so psql itself refuses any other meta-command even
   * where this guard misread the input. Those lines are extra: `inputLine` maps psql's line
   * numbers back to the artefact's.
   */
  restrictKey?: string;
}

/** Longest meta-command line kept to be checked (pg_dumpall's longest is a quoted database name). */
const maxCommandBytes = 8 * 1024;
/** Errors quote a meta-command's or a variable's name from the artefact: at most this much of it. */
const shortToken = (text: string) => (text.length > 20 ? `${text.slice(0, 20)}…` : text);

/** Longest dollar-quote tag or psql variable name followed before deciding. */
const maxTagBytes = 1024;

const S = {
  Normal: 0,
  LineComment: 1,
  BlockComment: 2,
  BlockCommentStar: 3,
  BlockCommentSlash: 4,
  Quote: 5,
  QuoteStop: 6,
  QuoteStopNewline: 7,
  QuoteStopDash: 8,
  QuoteStopComment: 9,
  Ident: 10,
  DoubleQuote: 11,
  DollarOpen: 12,
  Dollar: 13,
  DollarClose: 14,
  Colon: 15,
  ColonQuoted: 16,
  ColonName: 17,
  Dash: 18,
  Slash: 19,
  Command: 20,
  CopyData: 21,
} as const;
type S = (typeof S)[keyof typeof S];

const B = {
  nl: 0x0a, cr: 0x0d, sp: 0x20, tab: 0x09, ff: 0x0c, vt: 0x0b,
  quote: 0x27, dquote: 0x22, dollar: 0x24, backslash: 0x5c, semicolon: 0x3b, colon: 0x3a, equals: 0x3d,
  lparen: 0x28, rparen: 0x29, dash: 0x2d, slash: 0x2f, star: 0x2a, dot: 0x2e, nul: 0,
};

/** Byte classes, as bit flags in a table: the guard looks at every byte outside strings and data. */
const SPACE = 1;
const IDENT_START = 2;
const DIGIT = 4;
const DOLLAR = 8;
const classes = new Uint8Array(256);
/** The words psql's `BEGIN ATOMIC` heuristic looks for among a statement's first four identifiers. */
const headWords = new Set(['create', 'function', 'procedure', 'or', 'replace']);
for (const c of [B.sp, B.tab, B.nl, B.cr, B.ff, B.vt]) classes[c] = SPACE;
for (let c = 0; c < 256; c++) {
  if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c >= 0x80) classes[c] = IDENT_START;
  if (c >= 0x30 && c <= 0x39) classes[c] = DIGIT;
}
classes[B.dollar] = DOLLAR;
const isSpace = (c: number) => classes[c] === SPACE;
const isIdentStart = (c: number) => classes[c] === IDENT_START;
const isIdentCont = (c: number) => (classes[c]! & (IDENT_START | DIGIT | DOLLAR)) !== 0;
const isTagChar = (c: number) => (classes[c]! & (IDENT_START | DIGIT)) !== 0;

export class PsqlGuard {
  private readonly artefact: string;
  private readonly restrictKey: string | undefined;
  private state: S = S.Normal;
  private line = 1;
  /** Bytes of the current line seen so far that are not whitespace (an allowed meta-command must open its line). */
  private lineHasText = false;
  private prev = -1;
  private out: Buffer[] = [];
  private outStart = 0;
  private chunk: Buffer = Buffer.alloc(0);
  /** The next backslash of the chunk at or after the current string position (chunk length: none). */
  private nextBackslash = -1;

  // Statement tracking, as psql's lexer does it.
  private parenDepth = 0;
  private beginDepth = 0;
  private identifierCount = 0;
  private identifiers: string[] = [];
  private statementHasText = false;
  private firstWord = '';
  private previousWord = '';
  private copyFromStdin = false;
  private statementHasVariable = false;
  private pendingCopies = 0;

  // Lexer scratch.
  private commentDepth = 0;
  private backslashRun = 0;
  private backslashRunAfterHighByte = false;
  /** The identifier being read (its first 64 bytes, latin1), or a psql variable's name. */
  private word = '';
  private tag = '';
  private tagCandidate: number[] = [];
  private colonQuote = 0;
  private command: number[] = [];
  private dataLineStart = true;
  private dataPrefix = '';
  private started = false;
  /** Extra output lines (the `\restrict` wrapping): the output line of the first, and how many. */
  private readonly extraLines: { at: number; count: number }[] = [];
  private extraTotal = 0;
  /** The lexer state at the end of the COPY statement's line, where psql resumes after the data. */
  private resumeState: S = S.Normal;

  constructor(options: PsqlGuardOptions) {
    this.artefact = options.artefact;
    this.restrictKey = options.restrictKey;
  }

  /** Checks a chunk and returns what psql may read of it; throws an ArtefactError at the first refused byte. */
  push(chunk: Buffer): Buffer {
    this.out = [];
    if (!this.started) {
      this.started = true;
      if (this.restrictKey) this.out.push(Buffer.from(this.extra(`\\restrict ${this.restrictKey}\n`)));
    }
    this.chunk = chunk;
    this.outStart = 0;
    this.nextBackslash = -1;
    // Long runs where only one byte matters (COPY data lines, strings, dollar quotes, comments) are
    // skipped with indexOf; a chunk holding a NUL goes byte by byte, so the NUL is found and named.
    const fast = !chunk.includes(B.nul);
    for (let i = 0; i < chunk.length; ) {
      const next = fast ? this.nextInteresting(chunk, i) : i;
      if (next > i) {
        for (let nl = chunk.indexOf(B.nl, i); nl !== -1 && nl < next; nl = chunk.indexOf(B.nl, nl + 1)) this.line++;
        this.prev = chunk[next - 1]!;
        i = next;
        if (i >= chunk.length) break;
      }
      if (this.state === S.Ident) {
        // The rest of an identifier or keyword, in one go (only its first 64 bytes are kept).
        let j = i;
        while (j < chunk.length && isIdentCont(chunk[j]!)) j++;
        if (j > i) {
          if (this.word.length < 64) this.word += chunk.toString('latin1', i, Math.min(j, i + 64 - this.word.length));
          this.prev = chunk[j - 1]!;
          this.lineHasText = true;
          i = j;
          if (i >= chunk.length) break;
        }
      }
      this.step(chunk[i]!, i, fast);
      i++;
    }
    if (this.state !== S.Command) this.out.push(chunk.subarray(this.outStart));
    return Buffer.concat(this.out);
  }

  /** At the end of the input: a meta-command on the last line without a newline is checked too. */
  end(): Buffer {
    this.out = [];
    if (this.state === S.Command) this.finishCommand(false);
    return Buffer.concat(this.out);
  }

  /**
   * Where the next byte that can change the state is, from `i`: in a COPY data line past its start,
   * the newline; in a string, a quote or a backslash; in a quoted identifier, a double quote; in a
   * dollar quote, a `$`; in a line comment, the newline. Elsewhere `i` itself.
   */
  private nextInteresting(chunk: Buffer, i: number): number {
    let at: number;
    switch (this.state) {
      case S.CopyData:
        if (this.dataLineStart) return i;
        at = chunk.indexOf(B.nl, i);
        break;
      case S.Quote:
        if (this.backslashRun > 0) return i;
        if (this.nextBackslash !== chunk.length && this.nextBackslash < i) {
          const backslash = chunk.indexOf(B.backslash, i);
          this.nextBackslash = backslash === -1 ? chunk.length : backslash;
        }
        at = chunk.indexOf(B.quote, i);
        return Math.min(at === -1 ? chunk.length : at, this.nextBackslash);
      case S.DoubleQuote:
        at = chunk.indexOf(B.dquote, i);
        break;
      case S.Dollar:
        at = chunk.indexOf(B.dollar, i);
        break;
      case S.LineComment:
        at = chunk.indexOf(B.nl, i);
        break;
      default:
        return i;
    }
    return at === -1 ? chunk.length : at;
  }

  private fail(message: string, hint?: string): never {
    throw new ArtefactError(this.artefact, `line ${this.line}: ${message}`, hint);
  }

  private step(c: number, i: number, noNul = false): void {
    if (!noNul && c === B.nul) this.fail('a NUL byte; SQL text never holds one, and psql would cut the line there');
    this.dispatch(c, i);
    if (c === B.nl) {
      this.line++;
      this.lineHasText = false;
      if (this.pendingCopies > 0 && this.state !== S.CopyData) this.enterCopyData();
    } else if (!isSpace(c)) this.lineHasText = true;
    this.prev = c;
  }

  private dispatch(c: number, i: number): void {
    switch (this.state) {
      case S.CopyData:
        this.copyData(c);
        break;
      case S.Normal:
        this.normal(c, i);
        break;
      case S.Command:
        if (c === B.nl) this.finishCommand(true, i);
        else if (this.command.length >= maxCommandBytes) this.fail(`a psql meta-command longer than ${maxCommandBytes} bytes`);
        else this.command.push(c);
        break;
      case S.LineComment:
        if (c === B.nl) this.state = S.Normal;
        break;
      case S.Dash:
        if (c === B.dash) this.state = S.LineComment;
        else {
          this.state = S.Normal;
          this.significant();
          this.normal(c, i);
        }
        break;
      case S.Slash:
        if (c === B.star) {
          this.state = S.BlockComment;
          this.commentDepth = 1;
        } else {
          this.state = S.Normal;
          this.significant();
          this.normal(c, i);
        }
        break;
      case S.BlockComment:
        if (c === B.star) this.state = S.BlockCommentStar;
        else if (c === B.slash) this.state = S.BlockCommentSlash;
        break;
      case S.BlockCommentStar:
        if (c === B.slash) this.state = --this.commentDepth === 0 ? S.Normal : S.BlockComment;
        else this.state = c === B.star ? S.BlockCommentStar : c === B.slash ? S.BlockCommentSlash : S.BlockComment;
        break;
      case S.BlockCommentSlash:
        if (c === B.star) {
          this.commentDepth++;
          this.state = S.BlockComment;
        } else this.state = c === B.slash ? S.BlockCommentSlash : c === B.star ? S.BlockCommentStar : S.BlockComment;
        break;
      case S.Quote:
        this.quote(c);
        break;
      case S.QuoteStop:
      case S.QuoteStopNewline:
      case S.QuoteStopDash:
      case S.QuoteStopComment:
        this.quoteStop(c, i);
        break;
      case S.DoubleQuote:
        if (c === B.dquote) this.state = S.Normal; // "" re-enters at once: the same identifier
        break;
      case S.Ident:
        if (isIdentCont(c)) {
          if (this.word.length < 64) this.word += String.fromCharCode(c);
        } else {
          this.endWord(c);
          this.normal(c, i);
        }
        break;
      case S.DollarOpen:
        if (c === B.dollar) {
          this.state = S.Dollar;
        } else if ((this.tag.length ? isTagChar(c) : isIdentStart(c)) && this.tag.length < maxTagBytes) {
          this.tag += String.fromCharCode(c);
        } else {
          // `$1`, `$abc` without its closing `$`: not a dollar quote.
          this.state = S.Normal;
          this.normal(c, i);
        }
        break;
      case S.Dollar:
        if (c === B.dollar) {
          this.state = S.DollarClose;
          this.tagCandidate = [];
        }
        break;
      case S.DollarClose:
        if (c === B.dollar) {
          if (Buffer.from(this.tagCandidate).toString('latin1') === this.tag) this.state = S.Normal;
          else this.tagCandidate = []; // this `$` may open the real delimiter
        } else if ((this.tagCandidate.length ? isTagChar(c) : isIdentStart(c)) && this.tagCandidate.length < maxTagBytes) {
          this.tagCandidate.push(c);
        } else this.state = S.Dollar;
        break;
      case S.Colon:
        this.colon(c, i);
        break;
      case S.ColonQuoted:
        if (isTagChar(c) && this.word.length < maxTagBytes) this.word += String.fromCharCode(c);
        else if (c === this.colonQuote && this.word.length) {
          this.variable();
          this.state = S.Normal;
        } else {
          // `:'not a name'`: the quote opens an ordinary string or identifier after a plain colon.
          this.significant();
          const quote = this.colonQuote;
          const word = this.word;
          this.word = '';
          this.state = S.Normal;
          this.normal(quote, i);
          for (let k = 0; k < word.length; k++) {
            const w = word.charCodeAt(k);
            this.dispatch(w, i);
            this.prev = w;
          }
          this.dispatch(c, i);
        }
        break;
      case S.ColonName:
        if (isTagChar(c) && this.word.length < maxTagBytes) this.word += String.fromCharCode(c);
        else {
          this.variable();
          this.state = S.Normal;
          this.normal(c, i);
        }
        break;
    }
  }

  /** Any token that is not whitespace or a comment. */
  private significant(): void {
    this.statementHasText = true;
    this.previousWord = '';
  }

  private normal(c: number, i: number): void {
    if (isSpace(c)) return;
    if (this.prev >= 0x80 && (c === B.backslash || c === B.semicolon)) {
      this.fail(`a non-ASCII byte right before "${String.fromCharCode(c)}"; in some client encodings psql reads the two as one character`);
    }
    if (isIdentStart(c)) {
      this.state = S.Ident;
      this.word = String.fromCharCode(c);
      return;
    }
    switch (c) {
      case B.quote:
        this.significant();
        this.state = S.Quote;
        this.backslashRun = 0;
        return;
      case B.dquote:
        this.significant();
        this.state = S.DoubleQuote;
        return;
      case B.dollar:
        this.significant();
        this.state = S.DollarOpen;
        this.tag = '';
        return;
      case B.dash:
        this.state = S.Dash;
        return;
      case B.slash:
        this.state = S.Slash;
        return;
      case B.colon:
        this.state = S.Colon;
        return;
      case B.backslash:
        this.startCommand(i);
        return;
      case B.lparen:
        this.significant();
        this.parenDepth++;
        return;
      case B.rparen:
        this.significant();
        if (this.parenDepth > 0) this.parenDepth--;
        return;
      case B.semicolon:
        if (this.parenDepth === 0 && this.beginDepth === 0) this.endStatement();
        else this.significant();
        return;
      default:
        this.significant();
    }
  }

  private endWord(next: number): void {
    const text = this.word;
    this.word = '';
    this.state = S.Normal;
    // E'…', N'…', B'…', X'…' open strings; they are not identifiers to psql.
    if (next === B.quote && text.length === 1 && /[enbx]/i.test(text)) {
      this.significant();
      return;
    }
    const lower = text.toLowerCase();
    if (!this.statementHasText) this.firstWord = lower;
    this.statementHasText = true;
    // psql's heuristic for `CREATE [OR REPLACE] FUNCTION|PROCEDURE … BEGIN ATOMIC … END`.
    if (this.identifierCount === 0) this.identifiers = [];
    if (this.identifierCount < 4 && headWords.has(lower)) this.identifiers[this.identifierCount] = lower[0]!;
    this.identifierCount++;
    const id = this.identifiers;
    if (id[0] === 'c' && (id[1] === 'f' || id[1] === 'p' || (id[1] === 'o' && id[2] === 'r' && (id[3] === 'f' || id[3] === 'p'))) && this.parenDepth === 0) {
      if (lower === 'begin') this.beginDepth++;
      else if (lower === 'case' && this.beginDepth >= 1) this.beginDepth++;
      else if (lower === 'end' && this.beginDepth > 0) this.beginDepth--;
    }
    if (this.firstWord === 'copy' && this.parenDepth === 0 && this.previousWord === 'from' && lower === 'stdin') this.copyFromStdin = true;
    this.previousWord = lower;
  }

  private endStatement(): void {
    if (this.firstWord === 'copy' && this.statementHasVariable) this.fail('a psql variable in a COPY statement; it could make psql read the lines after it as data');
    if (this.copyFromStdin) this.pendingCopies++;
    this.parenDepth = 0;
    this.beginDepth = 0;
    this.identifierCount = 0;
    this.statementHasText = false;
    this.statementHasVariable = false;
    this.firstWord = '';
    this.previousWord = '';
    this.copyFromStdin = false;
  }

  private quote(c: number): void {
    if (c === B.backslash) {
      if (this.backslashRun === 0) this.backslashRunAfterHighByte = this.prev >= 0x80;
      this.backslashRun++;
      return;
    }
    if (c === B.quote) {
      if (this.backslashRun % 2 === 1 || (this.backslashRun > 0 && this.backslashRunAfterHighByte)) {
        this.fail('a backslash before a quote in a string; where psql ends that string depends on standard_conforming_strings and the client encoding', 'pg_dump writes quotes as \'\'; a backup that does not cannot be restored safely through psql');
      }
      this.state = S.QuoteStop;
    }
    this.backslashRun = 0;
  }

  /** After a closing quote: `''` continues the string, as does a quote on a later line (SQL string continuation). */
  private quoteStop(c: number, i: number): void {
    const resume = () => {
      this.state = S.Normal;
      this.normal(c, i);
    };
    switch (this.state) {
      case S.QuoteStop:
        if (c === B.quote && this.prev === B.quote) {
          this.state = S.Quote; // '' inside a string
          this.backslashRun = 0;
        } else if (c === B.nl || c === B.cr) this.state = S.QuoteStopNewline;
        else if (c === B.sp || c === B.tab || c === B.ff) return;
        else resume();
        return;
      case S.QuoteStopNewline:
        if (c === B.quote) {
          this.state = S.Quote;
          this.backslashRun = 0;
        } else if (isSpace(c)) return;
        else if (c === B.dash) this.state = S.QuoteStopDash;
        else resume();
        return;
      case S.QuoteStopDash:
        if (c === B.dash) this.state = S.QuoteStopComment;
        else {
          this.state = S.Normal;
          this.significant(); // the lone `-`
          this.normal(c, i);
        }
        return;
      case S.QuoteStopComment:
        if (c === B.nl || c === B.cr) this.state = S.QuoteStopNewline;
        return;
    }
  }

  private colon(c: number, i: number): void {
    if (c === B.colon || c === B.equals) {
      // `::` (a cast) and `:=`
      this.significant();
      this.state = S.Normal;
      return;
    }
    if (c === B.quote || c === B.dquote) {
      this.colonQuote = c;
      this.word = '';
      this.state = S.ColonQuoted;
      return;
    }
    if (isTagChar(c)) {
      this.word = String.fromCharCode(c);
      this.state = S.ColonName;
      return;
    }
    this.significant();
    this.state = S.Normal;
    this.normal(c, i);
  }

  /** A psql variable reference: harmless text, unless it could make a statement a COPY … FROM stdin. */
  private variable(): void {
    const name = this.word;
    this.word = '';
    if (!this.statementHasText) this.fail(`a psql variable (:${shortToken(name)}) opens a statement; psql would replace it before the server sees the statement`);
    this.statementHasVariable = true;
    this.significant();
  }

  private startCommand(i: number): void {
    if (this.lineHasText || this.statementHasText) {
      const next = i + 1 < this.chunk.length ? String.fromCharCode(this.chunk[i + 1]!) : '';
      this.fail(`a psql meta-command (\\${next}…) after SQL text; psql would run it, and a backup may only hold \\connect, \\encoding, \\restrict and \\unrestrict lines`);
    }
    this.flushUpTo(i);
    this.state = S.Command;
    this.command = [];
  }

  private flushUpTo(i: number): void {
    this.out.push(this.chunk.subarray(this.outStart, i));
    this.outStart = i;
  }

  /** The whole line from the backslash is known: refuse it, drop it, or rewrite it. */
  private finishCommand(atNewline: boolean, i = this.chunk.length): void {
    const text = Buffer.from(this.command).toString('utf8').replace(/\r$/, '');
    this.command = [];
    this.state = S.Normal;
    const replacement = this.allowedCommand(text);
    this.out.push(Buffer.from(replacement));
    if (atNewline) this.outStart = i; // the newline itself is passed on
  }

  private allowedCommand(text: string): string {
    const name = /^([A-Za-z]+|.)/s.exec(text)?.[1] ?? '';
    const rest = text.slice(name.length);
    if ((name === 'restrict' || name === 'unrestrict') && /^\s+[A-Za-z0-9]+\s*$/.test(rest)) return '';
    if (name === 'encoding' && /^\s+[A-Za-z0-9_]+\s*$/.test(rest)) return this.unrestricted(`\\encoding ${rest.trim()}`);
    if (name === 'connect' || name === 'c') {
      const database = connectTarget(rest);
      if (database === undefined) this.fail(`\\${name} names more than a database (a host, port, user or connection string); a backup may only \\connect to a database by name`);
      const quoted = `"dbname='${database.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'"`.replace(/"/g, (q, offset: number, all: string) => (offset === 0 || offset === all.length - 1 ? q : '""'));
      return this.unrestricted(`\\connect -reuse-previous=on ${quoted}`);
    }
    const shown = name === '' ? '\\' : `\\${shortToken(name)}`;
    this.fail(`psql meta-command ${shown} is not allowed in a backup (only \\connect, \\encoding, \\restrict and \\unrestrict are); the restore stopped before psql read it`);
  }

  /** An allowed command, run between `\unrestrict` and `\restrict` when psql is restricted. */
  private unrestricted(command: string): string {
    return this.restrictKey ? `${this.extra(`\\unrestrict ${this.restrictKey}\n${command}\n`)}\\restrict ${this.restrictKey}` : command;
  }

  /** Records `text` (whole lines) as extra output lines before the current input line. */
  private extra(text: string): string {
    const count = text.split('\n').length - 1;
    this.extraLines.push({ at: this.line + this.extraTotal, count });
    this.extraTotal += count;
    return text;
  }

  /** The artefact's line for a line number psql reports (its input is this guard's output). */
  inputLine(outputLine: number): number {
    let shift = 0;
    for (const { at, count } of this.extraLines) {
      if (outputLine < at) break;
      if (outputLine < at + count) return at - shift;
      shift += count;
    }
    return outputLine - shift;
  }

  private enterCopyData(): void {
    this.resumeState = this.state;
    this.state = S.CopyData;
    this.dataLineStart = true;
    this.dataPrefix = '';
  }

  /** COPY data lines go to psql untouched, up to a line that is exactly `\.` (psql's end marker). */
  private copyData(c: number): void {
    if (c === B.nl) {
      if (this.dataLineStart && (this.dataPrefix === '\\.' || this.dataPrefix === '\\.\r')) {
        this.pendingCopies--;
        if (this.pendingCopies === 0) {
          this.state = this.resumeState;
          this.dataLineStart = true;
          return;
        }
      }
      this.dataLineStart = true;
      this.dataPrefix = '';
      return;
    }
    if (!this.dataLineStart) return;
    this.dataPrefix += String.fromCharCode(c);
    if (!'\\.\r'.startsWith(this.dataPrefix)) this.dataLineStart = false;
  }
}

/**
 * The database a `\connect` line names, or undefined when it names anything else. Accepted, as
 * pg_dump and pg_dumpall write them: `\connect name`, `\connect "Quoted ""name"""` and
 * `\connect -reuse-previous=on "dbname='it\'s'"`.
 */
export function connectTarget(args: string): string | undefined {
  let rest = args.trim();
  let reuse = false;
  const flag = /^-reuse-previous=(on|off|true|false|1|0)\s+/i.exec(rest);
  if (flag) {
    reuse = true;
    rest = rest.slice(flag[0].length);
  }
  let value: string;
  const quoted = /^"((?:[^"]|"")*)"$/s.exec(rest);
  if (quoted) value = quoted[1]!.replace(/""/g, '"');
  else if (/^[A-Za-z0-9_.$-]+$/.test(rest)) value = rest;
  else return undefined;
  if (/[\n\r\0]/.test(value) || value === '-' || value === '') return undefined;
  if (/^postgres(ql)?:\/\//i.test(value)) return undefined;
  if (!value.includes('=')) return value;
  // A connection string: only `dbname=<value>`, quoted or not.
  if (!reuse && !quoted) return undefined;
  const conninfo = /^\s*dbname\s*=\s*(?:'((?:[^'\\]|\\.)*)'|([^\s'\\]+))\s*$/s.exec(value);
  if (!conninfo) return undefined;
  const name = conninfo[1] !== undefined ? conninfo[1].replace(/\\(.)/gs, '$1') : conninfo[2]!;
  return name && !/[\n\r\0]/.test(name) ? name : undefined;
}

/** The guard as a stream: refused input ends it with the ArtefactError, so psql never reads past it. */
export type PsqlGuardStream = Transform & { rejection?: ArtefactError; inputLine(outputLine: number): number };

export function psqlGuardStream(options: PsqlGuardOptions): PsqlGuardStream {
  const guard = new PsqlGuard(options);
  const stream: PsqlGuardStream = Object.assign(new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      try {
        callback(null, guard.push(chunk));
      } catch (err) {
        if (err instanceof ArtefactError) stream.rejection = err;
        callback(err as Error);
      }
    },
    flush(callback: TransformCallback) {
      try {
        callback(null, guard.end());
      } catch (err) {
        if (err instanceof ArtefactError) stream.rejection = err;
        callback(err as Error);
      }
    },
  }), { inputLine: (line: number) => guard.inputLine(line) });
  return stream;
}
