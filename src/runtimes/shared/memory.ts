import { RestoreproofError } from '../../errors.ts';

/** `512Mi`, `2G`, `1.5g` to bytes. */
export function parseMemory(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([kmg])?(i)?b?$/i.exec(text.trim());
  if (!m) throw new RestoreproofError('E_DRILL_CONFIG', `memory "${text}" is not a size such as 512Mi or 2G`, { exitCode: 2 });
  const power = { k: 1, m: 2, g: 3 }[(m[2] ?? '').toLowerCase() as 'k' | 'm' | 'g'] ?? 0;
  return Math.round(Number(m[1]) * (m[3] || power ? 1024 : 1000) ** power);
}
