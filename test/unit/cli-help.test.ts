import assert from 'node:assert/strict';
import { renderCommandHelp } from '../../src/cli-command.ts';
import { commands, main } from '../../src/cli.ts';
import { runCli } from '../support/fixtures.ts';

async function captureStdout(action: () => Promise<number>): Promise<{ code: number; stdout: string }> {
  const write = process.stdout.write;
  let stdout = '';
  process.stdout.write = ((chunk: string) => ((stdout += chunk), true)) as typeof process.stdout.write;
  try {
    return { code: await action(), stdout };
  } finally {
    process.stdout.write = write;
  }
}

describe('CLI help', () => {
  it('restoreproof --help lists every verb and exits 0', async () => {
    const result = await runCli(['--help']);
    assert.equal(result.code, 0, result.stderr);
    for (const command of commands) assert.match(result.stdout, new RegExp(`^  ${command.name} +\\S`, 'm'), `${command.name} missing from the overview`);
  });

  it('no verb prints the overview on stderr and exits 2', async () => {
    const result = await runCli([]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /Verbs:\n {2}validate/);
  });

  it('every verb\'s help shows its usage and every option it parses', () => {
    for (const command of commands) {
      const help = renderCommandHelp(command);
      assert.match(help, new RegExp(`^Usage:\\n {2}restoreproof ${command.name}\\b`, 'm'));
      for (const option of Object.keys(command.options)) assert.match(help, new RegExp(`--${option}\\b`), `--${option} missing from ${command.name} --help`);
    }
  });

  it('every verb answers --help with its help, exit 0', async () => {
    for (const command of commands) {
      const { code, stdout } = await captureStdout(() => main([command.name, '--help']));
      assert.equal(code, 0, command.name);
      assert.equal(stdout, renderCommandHelp(command));
    }
  });

  it('run --help shows run\'s options even beside a drill argument; help run says the same', async () => {
    const flag = await runCli(['run', 'drills/demo.yaml', '--help']);
    assert.equal(flag.code, 0, flag.stderr);
    assert.match(flag.stdout, /--report-dir <dir> +where reports go/);
    assert.match(flag.stdout, /--runtime <name> +where stores run \(auto, local, containers, kubernetes\)/);
    const verb = await runCli(['help', 'run']);
    assert.equal(verb.stdout, flag.stdout);
  });

  it('an unknown option is a usage error pointing at the verb\'s help', async () => {
    const result = await runCli(['run', 'drills/demo.yaml', '--reprot-dir', 'x']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /error E_USAGE: Unknown option '--reprot-dir'.*\n {2}hint: run restoreproof run --help/);
  });

  it('an unknown verb names the verbs', async () => {
    const result = await runCli(['frob']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown command "frob"\n {2}hint: verbs: validate, plan, run,/);
  });
});
