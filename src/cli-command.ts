// The CLI's verbs as data: each verb's usage, options (with their help text) and handler. The
// overview (`restoreproof --help`), each verb's help (`restoreproof <verb> --help`) and the flag
// parsing all read the same entry, so a new verb or option is one entry in src/cli.ts.
import { parseArgs } from 'node:util';
import { UsageError } from './errors.ts';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** How the value is shown in help, e.g. `<dir>`. */
  value?: string;
  /** One or more lines; continuation lines are indented under the first. */
  help: string;
}
export type OptionSpecs = Record<string, OptionSpec>;

type ValueOf<S extends OptionSpec> = S['type'] extends 'string' ? (S['multiple'] extends true ? string[] : string) : S['multiple'] extends true ? boolean[] : boolean;
export type OptionValues<O extends OptionSpecs> = { [K in keyof O]?: ValueOf<O[K]> };

/** What a verb's handler receives. */
export interface ParsedArgs<V> {
  positionals: string[];
  values: V;
}
export type ParsedCommand<O extends OptionSpecs> = ParsedArgs<OptionValues<O>>;

export interface Command<O extends OptionSpecs = OptionSpecs> {
  name: string;
  /** One line, shown in the overview. */
  summary: string;
  /** Synopsis lines, each following `restoreproof `. */
  usage: string[];
  options: O;
  /** Printed after the options in the verb's help. */
  details?: string;
  run(parsed: ParsedCommand<O>): Promise<number>;
}

/** Keeps the option names and types of one verb checked against its handler. */
export function defineCommand<const O extends OptionSpecs>(command: Command<O>): Command {
  return command as unknown as Command;
}

const helpOption: OptionSpec = { type: 'boolean', short: 'h', help: 'print this help' };

export function wantsHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/** Parses a verb's arguments strictly; an unknown flag is a usage error pointing at the verb's help. */
export function parseCommandArgs(command: Command, args: string[]): ParsedCommand<OptionSpecs> & { help: boolean } {
  const options = Object.fromEntries(
    Object.entries({ ...command.options, help: helpOption }).map(([name, o]) => [name, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }]),
  );
  try {
    const { positionals, values } = parseArgs({ args, options, allowPositionals: true, strict: true });
    const { help, ...rest } = values;
    return { positionals, values: rest as OptionValues<OptionSpecs>, help: help === true };
  } catch (err) {
    throw new UsageError((err as Error).message, `run restoreproof ${command.name} --help`);
  }
}

const optionColumn = 26;
const width = 100;

function wrap(text: string, indent: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(' ')) {
      if (line && indent + line.length + 1 + word.length > width) {
        lines.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    lines.push(line);
  }
  return lines;
}

function optionLabel(name: string, option: OptionSpec): string {
  const flag = `${option.short ? `-${option.short}, ` : '    '}--${name}`;
  return option.type === 'string' ? `${flag} ${option.value ?? '<value>'}` : flag;
}

export function renderCommandHelp(command: Command): string {
  const program = 'restoreproof';
  const out = [`${program} ${command.name}: ${command.summary}`, '', 'Usage:', ...command.usage.map((u) => `  ${program} ${u}`), ''];
  const options = Object.entries({ ...command.options, help: helpOption });
  out.push('Options:');
  for (const [name, option] of options) {
    const label = `  ${optionLabel(name, option)}`;
    const [first = '', ...more] = wrap(`${option.help}${option.multiple ? ' (repeatable)' : ''}`, optionColumn);
    if (label.length < optionColumn - 1) out.push(`${label.padEnd(optionColumn)}${first}`);
    else out.push(label, `${' '.repeat(optionColumn)}${first}`);
    out.push(...more.map((l) => `${' '.repeat(optionColumn)}${l}`));
  }
  if (command.details) out.push('', ...wrap(command.details, 0));
  return `${out.join('\n')}\n`;
}

export function renderOverview(commands: readonly Command[], header: string, footer: string): string {
  const column = Math.max(...commands.map((c) => c.name.length)) + 4;
  const verbs = commands.map((c) => `  ${c.name.padEnd(column)}${c.summary}`);
  return `${header}\n\nUsage: restoreproof <verb> [arguments] [options]\n\nVerbs:\n${verbs.join('\n')}\n\nrestoreproof <verb> --help prints a verb's arguments and options.\n\n${footer}\n`;
}
