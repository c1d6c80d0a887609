// The key or passphrase a scenario generator encrypts (or signs) its backups with, which the drill
// later needs from the same environment variable. Unset, the generator makes one and prints the
// export line on stdout, so `eval "$(node scripts/scenarios/<name>.ts)"` leaves it set for the drill.
import { randomBytes } from 'node:crypto';

export function scenarioSecret(variable: string, what: string, make: () => string = () => randomBytes(24).toString('base64url')): string {
  const given = process.env[variable];
  if (given) return given;
  const made = make();
  process.env[variable] = made;
  process.stderr.write(`${variable} is not set: made a new ${what}. The drill reads the same variable; set it before running it:\n`);
  process.stdout.write(`export ${variable}='${made}'\n`);
  return made;
}
