import { prepareEvidence, type EvidenceSession } from '../../evidence/index.ts';
import type { RunContext } from '../context.ts';
import { reportDirOf } from './reports.ts';

/**
 * evidence, before the reports: the compliance fields, the link to the previous run (holding the
 * history lock) and the signing key. The session's finalize, after them, writes the compliance
 * page, notifies, appends to the history and signs.
 */
export function evidencePhase(ctx: RunContext): Promise<EvidenceSession> {
  return prepareEvidence(ctx.report, { dir: reportDirOf(ctx), drill: ctx.drill, ...(ctx.options.env ? { env: ctx.options.env } : {}) });
}
