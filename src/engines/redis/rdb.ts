/** What an RDB file says about itself before any key: its format version and aux fields (redis-ver, ctime). */
export interface RdbHeader {
  rdbVersion: number;
  aux: Record<string, string>;
}

/**
 * Reads the header: "REDIS" + 4-digit version, then AUX (0xFA) entries of two length-prefixed
 * strings each, until the first other opcode. Only the first few hundred bytes are needed.
 */
export function parseRdbHeader(head: Buffer): RdbHeader | undefined {
  if (head.subarray(0, 5).toString('latin1') !== 'REDIS') return undefined;
  const rdbVersion = Number(head.subarray(5, 9).toString('latin1'));
  if (!Number.isInteger(rdbVersion)) return undefined;
  const aux: Record<string, string> = {};
  let offset = 9;
  const readString = (): string | undefined => {
    const first = head[offset];
    if (first === undefined) return undefined;
    const type = first >> 6;
    if (type === 0) {
      offset += 1;
      return take(first & 0x3f);
    }
    if (type === 1) {
      const len = ((first & 0x3f) << 8) | head[offset + 1]!;
      offset += 2;
      return take(len);
    }
    if (first === 0x80) {
      const len = head.readUInt32BE(offset + 1);
      offset += 5;
      return take(len);
    }
    // 0xC0..0xC2: integers stored as strings (ctime, redis-bits); LZF (0xC3) is not used for aux.
    if (first === 0xc0) return String(head.readInt8((offset += 2) - 1));
    if (first === 0xc1) return String(head.readInt16LE((offset += 3) - 2));
    if (first === 0xc2) return String(head.readInt32LE((offset += 5) - 4));
    return undefined;
  };
  const take = (len: number) => {
    if (offset + len > head.length) return undefined;
    const s = head.subarray(offset, offset + len).toString('utf8');
    offset += len;
    return s;
  };
  while (head[offset] === 0xfa) {
    offset += 1;
    const key = readString();
    const value = readString();
    if (key === undefined || value === undefined) break;
    aux[key] = value;
  }
  return { rdbVersion, aux };
}
