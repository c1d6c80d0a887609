// CRC-64 with the ECMA-182 polynomial in its reflected form (Go's hash/crc64 with crc64.ECMA, also
// known as CRC-64/XZ): what mongodump records in each namespace's end-of-collection header.
// Computed on two 32-bit halves so it stays in Smi/uint32 arithmetic instead of BigInt.

const polyHi = 0xc96c5795;
const polyLo = 0xd7870f42;
const tableHi = new Uint32Array(256);
const tableLo = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let hi = 0;
  let lo = i;
  for (let bit = 0; bit < 8; bit++) {
    const carry = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi = hi >>> 1;
    if (carry) {
      lo = (lo ^ polyLo) >>> 0;
      hi = (hi ^ polyHi) >>> 0;
    }
  }
  tableHi[i] = hi;
  tableLo[i] = lo;
}

export class Crc64 {
  #hi = 0;
  #lo = 0;

  update(data: Uint8Array): this {
    let hi = ~this.#hi >>> 0;
    let lo = ~this.#lo >>> 0;
    for (let i = 0; i < data.length; i++) {
      const index = (lo ^ data[i]!) & 0xff;
      lo = (((lo >>> 8) | (hi << 24)) ^ tableLo[index]!) >>> 0;
      hi = ((hi >>> 8) ^ tableHi[index]!) >>> 0;
    }
    this.#hi = ~hi >>> 0;
    this.#lo = ~lo >>> 0;
    return this;
  }

  /** The checksum as an unsigned 64-bit value. */
  digest(): bigint {
    return (BigInt(this.#hi) << 32n) | BigInt(this.#lo);
  }
}

export function formatCrc(value: bigint): string {
  return `0x${value.toString(16).padStart(16, '0')}`;
}
