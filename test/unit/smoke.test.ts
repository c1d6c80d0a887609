import assert from 'node:assert/strict';
describe('node', () => { it('runs on node 24', () => { assert.match(process.version, /^v24\./); }); });
