// The backup-making helpers live with the scenario generators; tests use the same ones.
export * from '../../scripts/lib/backup-tools.ts';
