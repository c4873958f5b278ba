// XXH3-128 (seed 0, default secret): the hash go-task's `method: checksum` writes into .task/checksum/, so a
// checksum file written by this runner is the one go-task would write, and the other way round.
// Written from the XXH3 algorithm description; the hot loop (one 64-byte stripe) works on 32-bit halves
// because BigInt is ~50x slower there, everything that runs once per hash uses BigInt for clarity.

const M64 = (1n << 64n) - 1n
const PRIME32_1 = 0x9e3779b1n
const PRIME32_2 = 0x85ebca77n
const PRIME32_3 = 0xc2b2ae3dn
const PRIME64_1 = 0x9e3779b185ebca87n
const PRIME64_2 = 0xc2b2ae3d27d4eb4fn
const PRIME64_3 = 0x165667b19e3779f9n
const PRIME64_4 = 0x85ebca77c2b2ae63n
const PRIME64_5 = 0x27d4eb2f165667c5n
const PRIME_MX1 = 0x165667919e3779f9n
const PRIME_MX2 = 0x9fb21c651e98df25n

// The default 192-byte secret ("kSecret").
const SECRET = Buffer.from(
  'b8fe6c3923a44bbe7c01812cf721ad1cded46de9839097db7240a4a4b7b3671fcb79e64eccc0e578825ad07dccff7221' +
    'b8084674f743248ee03590e6813a264c3c2852bb91c300cb88d0658b1b532ea371644897a20df94e3819ef46a9deacd8' +
    'a8fa763fe39c343ff9dcbbc7c70b4f1d8a51e04bcdb45931c89f7ec9d9787364eac5ac8334d3ebc3c581a0fffa1363eb' +
    '170ddd51b7f0da49d316552629d4689e2b16be587d47a1fc8ff8b8d17ad031ce45cb3a8f95160428afd7fbcabb4b407e',
  'hex',
)
const SECRET_SIZE = 192
const STRIPE = 64
const STRIPES_PER_BLOCK = (SECRET_SIZE - STRIPE) / 8 // 16: one block is 1024 bytes
const MIDSIZE_MAX = 240

/** A 128-bit hash as two unsigned 64-bit halves. */
export interface Hash128 {
  hi: bigint
  lo: bigint
}

const r64 = (b: Buffer, off: number): bigint => b.readBigUInt64LE(off)
const r32 = (b: Buffer, off: number): bigint => BigInt(b.readUInt32LE(off))
const mul = (a: bigint, b: bigint): bigint => (a * b) & M64
const add = (a: bigint, b: bigint): bigint => (a + b) & M64
const sub = (a: bigint, b: bigint): bigint => (a - b) & M64
const xorshift = (v: bigint, s: bigint): bigint => v ^ (v >> s)

function mul128(a: bigint, b: bigint): Hash128 {
  const p = a * b
  return { lo: p & M64, hi: (p >> 64n) & M64 }
}

function mul128Fold64(a: bigint, b: bigint): bigint {
  const p = mul128(a, b)
  return p.lo ^ p.hi
}

function swap32(v: bigint): bigint {
  return ((v & 0xffn) << 24n) | ((v & 0xff00n) << 8n) | ((v >> 8n) & 0xff00n) | ((v >> 24n) & 0xffn)
}

function swap64(v: bigint): bigint {
  const b = Buffer.alloc(8)
  b.writeBigUInt64LE(v)
  return b.readBigUInt64BE()
}

function rotl32(v: bigint, r: bigint): bigint {
  return ((v << r) | (v >> (32n - r))) & 0xffffffffn
}

function xxh64Avalanche(h: bigint): bigint {
  h ^= h >> 33n
  h = mul(h, PRIME64_2)
  h ^= h >> 29n
  h = mul(h, PRIME64_3)
  return h ^ (h >> 32n)
}

function avalanche(h: bigint): bigint {
  h = xorshift(h, 37n)
  h = mul(h, PRIME_MX1)
  return xorshift(h, 32n)
}

function mix16(input: Buffer, off: number, sOff: number): bigint {
  return mul128Fold64(r64(input, off) ^ r64(SECRET, sOff), r64(input, off + 8) ^ r64(SECRET, sOff + 8))
}

function mix32(acc: Hash128, input: Buffer, off1: number, off2: number, sOff: number): Hash128 {
  let lo = add(acc.lo, mix16(input, off1, sOff))
  lo ^= add(r64(input, off2), r64(input, off2 + 8))
  let hi = add(acc.hi, mix16(input, off2, sOff + 16))
  hi ^= add(r64(input, off1), r64(input, off1 + 8))
  return { lo, hi }
}

function len1to3(input: Buffer): Hash128 {
  const len = input.length
  const c1 = BigInt(input[0])
  const c2 = BigInt(input[len >> 1])
  const c3 = BigInt(input[len - 1])
  const combinedl = (c1 << 16n) | (c2 << 24n) | c3 | (BigInt(len) << 8n)
  const combinedh = rotl32(swap32(combinedl), 13n)
  const bitflipl = r32(SECRET, 0) ^ r32(SECRET, 4)
  const bitfliph = r32(SECRET, 8) ^ r32(SECRET, 12)
  return { lo: xxh64Avalanche(combinedl ^ bitflipl), hi: xxh64Avalanche(combinedh ^ bitfliph) }
}

function len4to8(input: Buffer): Hash128 {
  const len = input.length
  const input64 = r32(input, 0) + (r32(input, len - 4) << 32n)
  const keyed = input64 ^ (r64(SECRET, 16) ^ r64(SECRET, 24))
  const m = mul128(keyed, add(PRIME64_1, BigInt(len) << 2n))
  let hi = add(m.hi, (m.lo << 1n) & M64)
  let lo = m.lo ^ (hi >> 3n)
  lo = xorshift(lo, 35n)
  lo = mul(lo, PRIME_MX2)
  lo = xorshift(lo, 28n)
  hi = avalanche(hi)
  return { lo, hi }
}

function len9to16(input: Buffer): Hash128 {
  const len = input.length
  const bitflipl = r64(SECRET, 32) ^ r64(SECRET, 40)
  const bitfliph = r64(SECRET, 48) ^ r64(SECRET, 56)
  const inputLo = r64(input, 0)
  let inputHi = r64(input, len - 8)
  const m = mul128(inputLo ^ inputHi ^ bitflipl, PRIME64_1)
  let mlo = add(m.lo, (BigInt(len - 1) << 54n) & M64)
  inputHi ^= bitfliph
  const mhi = add(add(m.hi, inputHi), (inputHi & 0xffffffffn) * (PRIME32_2 - 1n))
  mlo ^= swap64(mhi)
  const h = mul128(mlo, PRIME64_2)
  const hi = add(h.hi, mul(mhi, PRIME64_2))
  return { lo: avalanche(h.lo), hi: avalanche(hi) }
}

function finishMid(acc: Hash128, len: number): Hash128 {
  const lo = add(acc.lo, acc.hi)
  const hi = add(add(mul(acc.lo, PRIME64_1), mul(acc.hi, PRIME64_4)), mul(BigInt(len), PRIME64_2))
  return { lo: avalanche(lo), hi: sub(0n, avalanche(hi)) }
}

function len17to128(input: Buffer): Hash128 {
  const len = input.length
  let acc: Hash128 = { lo: mul(BigInt(len), PRIME64_1), hi: 0n }
  if (len > 32) {
    if (len > 64) {
      if (len > 96) acc = mix32(acc, input, 48, len - 64, 96)
      acc = mix32(acc, input, 32, len - 48, 64)
    }
    acc = mix32(acc, input, 16, len - 32, 32)
  }
  acc = mix32(acc, input, 0, len - 16, 0)
  return finishMid(acc, len)
}

function len129to240(input: Buffer): Hash128 {
  const len = input.length
  const rounds = Math.floor(len / 32)
  let acc: Hash128 = { lo: mul(BigInt(len), PRIME64_1), hi: 0n }
  for (let i = 0; i < 4; i++) acc = mix32(acc, input, 32 * i, 32 * i + 16, 32 * i)
  acc = { lo: avalanche(acc.lo), hi: avalanche(acc.hi) }
  for (let i = 4; i < rounds; i++) acc = mix32(acc, input, 32 * i, 32 * i + 16, 3 + 32 * (i - 4))
  // The last 32 bytes, with the halves swapped and a secret offset of 136 - 17 - 16.
  acc = mix32(acc, input, len - 16, len - 32, 136 - 17 - 16)
  return finishMid(acc, len)
}

function hashShort(input: Buffer): Hash128 {
  const len = input.length
  if (len > 128) return len129to240(input)
  if (len > 16) return len17to128(input)
  if (len > 8) return len9to16(input)
  if (len >= 4) return len4to8(input)
  if (len > 0) return len1to3(input)
  return { lo: xxh64Avalanche(r64(SECRET, 64) ^ r64(SECRET, 72)), hi: xxh64Avalanche(r64(SECRET, 80) ^ r64(SECRET, 88)) }
}

/** Adds the 64-bit product of two 32-bit numbers to lane `i` (exact: every partial product fits a double). */
function addProduct(lo: Uint32Array, hi: Uint32Array, i: number, a: number, b: number): void {
  const al = a & 0xffff
  const ah = a >>> 16
  const bl = b & 0xffff
  const bh = b >>> 16
  const mid = al * bh + ah * bl
  const low = al * bl + (mid % 65536) * 65536
  const pLo = low >>> 0
  const pHi = ah * bh + Math.floor(mid / 65536) + (low >= 4294967296 ? 1 : 0)
  const sum = lo[i] + pLo
  hi[i] = hi[i] + pHi + (sum > 0xffffffff ? 1 : 0)
  lo[i] = sum
}

function accumulateStripe(lo: Uint32Array, hi: Uint32Array, data: Buffer, off: number, sOff: number): void {
  for (let i = 0; i < 8; i++) {
    const dLo = data.readUInt32LE(off + 8 * i)
    const dHi = data.readUInt32LE(off + 8 * i + 4)
    const j = i ^ 1
    const sum = lo[j] + dLo
    hi[j] = hi[j] + dHi + (sum > 0xffffffff ? 1 : 0)
    lo[j] = sum
    const kLo = (dLo ^ SECRET.readUInt32LE(sOff + 8 * i)) >>> 0
    const kHi = (dHi ^ SECRET.readUInt32LE(sOff + 8 * i + 4)) >>> 0
    addProduct(lo, hi, i, kLo, kHi)
  }
}

function scramble(lo: Uint32Array, hi: Uint32Array): void {
  for (let i = 0; i < 8; i++) {
    let acc = (BigInt(hi[i]) << 32n) | BigInt(lo[i])
    acc ^= acc >> 47n
    acc ^= r64(SECRET, SECRET_SIZE - STRIPE + 8 * i)
    acc = mul(acc, PRIME32_1)
    lo[i] = Number(acc & 0xffffffffn)
    hi[i] = Number(acc >> 32n)
  }
}

function mergeAccs(lo: Uint32Array, hi: Uint32Array, sOff: number, start: bigint): bigint {
  const lane = (i: number) => (BigInt(hi[i]) << 32n) | BigInt(lo[i])
  let result = start
  for (let i = 0; i < 4; i++) {
    result = add(result, mul128Fold64(lane(2 * i) ^ r64(SECRET, sOff + 16 * i), lane(2 * i + 1) ^ r64(SECRET, sOff + 16 * i + 8)))
  }
  return avalanche(result)
}

/**
 * Streaming XXH3-128: `update` with any split of the input gives the hash of the whole input.
 * Inputs of up to 240 bytes are kept and hashed at the end; past that, 64-byte stripes are consumed
 * as soon as at least one more byte follows them (the last stripe is always hashed at the end).
 */
export class Xxh3128 {
  private total = 0
  private pending: Buffer = Buffer.alloc(0)
  private lastStripe: Buffer = Buffer.alloc(STRIPE)
  private long = false
  private stripesInBlock = 0
  private readonly accLo = new Uint32Array(8)
  private readonly accHi = new Uint32Array(8)

  /** Feeds more input. */
  update(data: Uint8Array | string): this {
    const chunk = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    this.total += chunk.length
    this.pending = this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk])
    if (!this.long) {
      if (this.total <= MIDSIZE_MAX) return this
      this.long = true
      const init = [PRIME32_3, PRIME64_1, PRIME64_2, PRIME64_3, PRIME64_4, PRIME32_2, PRIME64_5, PRIME32_1]
      init.forEach((v, i) => {
        this.accLo[i] = Number(v & 0xffffffffn)
        this.accHi[i] = Number(v >> 32n)
      })
    }
    let off = 0
    while (this.pending.length - off > STRIPE) {
      accumulateStripe(this.accLo, this.accHi, this.pending, off, this.stripesInBlock * 8)
      off += STRIPE
      if (++this.stripesInBlock === STRIPES_PER_BLOCK) {
        scramble(this.accLo, this.accHi)
        this.stripesInBlock = 0
      }
    }
    if (off > 0) {
      this.lastStripe = Buffer.from(this.pending.subarray(off - STRIPE, off))
      this.pending = Buffer.from(this.pending.subarray(off))
    }
    return this
  }

  /** The hash of everything fed so far (the hasher can go on being fed afterwards). */
  digest(): Hash128 {
    if (!this.long) return hashShort(this.pending)
    const lo = Uint32Array.from(this.accLo)
    const hi = Uint32Array.from(this.accHi)
    // The final stripe is the input's last 64 bytes, which may overlap stripes already consumed.
    const tail = Buffer.concat([this.lastStripe.subarray(this.pending.length), this.pending])
    accumulateStripe(lo, hi, tail, 0, SECRET_SIZE - STRIPE - 7)
    const len = BigInt(this.total)
    return {
      lo: mergeAccs(lo, hi, 11, mul(len, PRIME64_1)),
      hi: mergeAccs(lo, hi, SECRET_SIZE - STRIPE - 11, ~mul(len, PRIME64_2) & M64),
    }
  }

  /** The digest as go-task prints it: `fmt.Sprintf("%x%x", hi, lo)`, i.e. each half in hex without leading zeros. */
  goTaskHex(): string {
    const { hi, lo } = this.digest()
    return hi.toString(16) + lo.toString(16)
  }
}

/** XXH3-128 of one buffer. */
export function xxh3128(data: Uint8Array | string): Hash128 {
  return new Xxh3128().update(data).digest()
}
