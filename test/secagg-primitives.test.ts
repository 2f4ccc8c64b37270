// Secure-aggregation primitives one by one: X25519 round keys and low-order rejection, HKDF
// derivations (symmetric mask seeds, directed share keys, every context field matters), the
// AES-256-CTR mask PRG against node:crypto directly, ring arithmetic, the Shamir wrapper (including
// t = 1 and n = 1) and share boxes (round trip; any AAD change or bit flip is refused).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createCipheriv, randomBytes } from 'node:crypto'
import fc from 'fast-check'
import {
  addInto, agree, combineShares, expandMask, generateRoundKeys, InvalidKeyError, InvalidSeedError,
  InvalidSharesError, InvalidThresholdError, InvalidContextError, LengthMismatchError, LowOrderPointError,
  majorityThreshold, MaskStream, openShares, pairwiseMaskSeed, publicKeyOf, sealShares, SecAggError,
  shareEncryptionKey, ShareBoxError, splitSecret, subInto, maskInput, maskSign, InvalidMaskInputError, unmaskSum
} from '../src/secagg/index.ts'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))
const A = hex('0024080112201111')
const B = hex('0024080112202222')
const TASK = hex('aa'.repeat(32))

test('round keys: two fresh pairs of raw 32-byte keys, and both sides agree', () => {
  const ka = generateRoundKeys()
  const kb = generateRoundKeys()
  for (const k of [ka.enc.publicKey, ka.enc.privateKey, ka.mask.publicKey, ka.mask.privateKey]) {
    assert.ok(k instanceof Uint8Array)
    assert.equal(k.byteLength, 32)
  }
  assert.notDeepEqual(ka.enc.privateKey, ka.mask.privateKey)
  assert.notDeepEqual(ka.mask.publicKey, kb.mask.publicKey)
  const s1 = agree(ka.mask.privateKey, kb.mask.publicKey)
  const s2 = agree(kb.mask.privateKey, ka.mask.publicKey)
  assert.deepEqual(s1, s2)
  assert.equal(s1.byteLength, 32)
  assert.notDeepEqual(agree(ka.enc.privateKey, kb.enc.publicKey), s1)
  assert.deepEqual(publicKeyOf(ka.mask.privateKey), ka.mask.publicKey)
  assert.deepEqual(publicKeyOf(kb.enc.privateKey), kb.enc.publicKey)
})

test('X25519 against the RFC 7748 section 6.1 test vector', () => {
  const alicePriv = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a')
  const alicePub = hex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a')
  const bobPriv = hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb')
  const bobPub = hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f')
  const shared = hex('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742')
  assert.deepEqual(publicKeyOf(alicePriv), alicePub)
  assert.deepEqual(agree(alicePriv, bobPub), shared)
  assert.deepEqual(agree(bobPriv, alicePub), shared)
})

test('agree rejects low-order points and wrong lengths with named errors', () => {
  const { privateKey } = generateRoundKeys().mask
  const lowOrder = [
    '0000000000000000000000000000000000000000000000000000000000000000', // 0
    '0100000000000000000000000000000000000000000000000000000000000000', // 1
    'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', // order 8
    '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157', // order 8
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p - 1
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p
    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f' // p + 1
  ]
  for (const p of lowOrder) {
    assert.throws(() => agree(privateKey, hex(p)), (err: unknown) => err instanceof LowOrderPointError && err instanceof SecAggError && err.code === 'ERR_LOW_ORDER_POINT', p)
  }
  assert.throws(() => agree(privateKey, new Uint8Array(31)), InvalidKeyError)
  assert.throws(() => agree(new Uint8Array(33), generateRoundKeys().mask.publicKey), InvalidKeyError)
})

test('kdf: both sides derive the same pairwise seed; every context field changes it', () => {
  const ka = generateRoundKeys()
  const kb = generateRoundKeys()
  const ctx = { task: TASK, round: 3, attempt: 0 }
  const ab = pairwiseMaskSeed(agree(ka.mask.privateKey, kb.mask.publicKey), { ...ctx, peers: [A, B] })
  const ba = pairwiseMaskSeed(agree(kb.mask.privateKey, ka.mask.publicKey), { ...ctx, peers: [B, A] })
  assert.deepEqual(ab, ba)
  assert.equal(ab.byteLength, 32)
  const shared = agree(ka.mask.privateKey, kb.mask.publicKey)
  const variants = [
    pairwiseMaskSeed(shared, { ...ctx, round: 4, peers: [A, B] }),
    pairwiseMaskSeed(shared, { ...ctx, attempt: 1, peers: [A, B] }),
    pairwiseMaskSeed(shared, { ...ctx, task: hex('bb'.repeat(32)), peers: [A, B] }),
    pairwiseMaskSeed(shared, { ...ctx, task: 'aa'.repeat(32), peers: [A, B] }), // a string task is not its bytes
    pairwiseMaskSeed(shared, { ...ctx, peers: [A, hex('0024080112202223')] }),
    pairwiseMaskSeed(agree(ka.mask.privateKey, generateRoundKeys().mask.publicKey), { ...ctx, peers: [A, B] }),
    shareEncryptionKey(shared, { ...ctx, sender: A, recipient: B })
  ]
  const all = [ab, ...variants].map(v => Buffer.from(v).toString('hex'))
  assert.equal(new Set(all).size, all.length)
})

test('kdf: share keys are directed (i -> j differs from j -> i) and both ends of one direction agree', () => {
  const ka = generateRoundKeys()
  const kb = generateRoundKeys()
  const ctx = { task: TASK, round: 1, attempt: 2 }
  const atA = shareEncryptionKey(agree(ka.enc.privateKey, kb.enc.publicKey), { ...ctx, sender: A, recipient: B })
  const atB = shareEncryptionKey(agree(kb.enc.privateKey, ka.enc.publicKey), { ...ctx, sender: A, recipient: B })
  const back = shareEncryptionKey(agree(kb.enc.privateKey, ka.enc.publicKey), { ...ctx, sender: B, recipient: A })
  assert.deepEqual(atA, atB)
  assert.notDeepEqual(atA, back)
})

test('kdf: bad contexts are refused', () => {
  const shared = new Uint8Array(32).fill(7)
  assert.throws(() => pairwiseMaskSeed(shared, { task: TASK, round: 1, attempt: 0, peers: [A, A] }), InvalidContextError)
  assert.throws(() => pairwiseMaskSeed(shared, { task: TASK, round: -1, attempt: 0, peers: [A, B] }), InvalidContextError)
  assert.throws(() => pairwiseMaskSeed(shared, { task: TASK, round: 1.5, attempt: 0, peers: [A, B] }), InvalidContextError)
  assert.throws(() => pairwiseMaskSeed(shared, { task: new Uint8Array(2000), round: 1, attempt: 0, peers: [A, B] }), InvalidContextError)
  assert.throws(() => shareEncryptionKey(new Uint8Array(16), { task: TASK, round: 1, attempt: 0, sender: A, recipient: B }), InvalidKeyError)
})

test('prg: AES-256-CTR keystream with a zero IV, read as little-endian uint32', () => {
  const seed = new Uint8Array(randomBytes(32))
  const n = 100_003
  const mask = expandMask(seed, n)
  const ks = createCipheriv('aes-256-ctr', seed, Buffer.alloc(16)).update(Buffer.alloc(n * 4))
  for (let i = 0; i < n; i += 997) assert.equal(mask[i], ks.readUInt32LE(i * 4))
  assert.equal(mask[n - 1], ks.readUInt32LE((n - 1) * 4))
  // deterministic, prefix-consistent, and the same in pieces
  assert.deepEqual(expandMask(seed, 10), mask.subarray(0, 10))
  const s = new MaskStream(seed)
  const parts = [s.next(3).slice(), s.next(70_000).slice(), s.next(30_000).slice()]
  assert.deepEqual(Uint32Array.from(parts.flatMap(p => [...p])), mask.subarray(0, 100_003))
  assert.notDeepEqual(expandMask(new Uint8Array(randomBytes(32)), 10), mask.subarray(0, 10))
  assert.equal(expandMask(seed, 0).length, 0)
  assert.throws(() => expandMask(new Uint8Array(16), 10), InvalidSeedError)
})

test('ring: addInto / subInto are mod 2^32 and inverse of each other', () => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff })), { minLength: 1, maxLength: 50 }), pairs => {
    const a = Uint32Array.from(pairs, p => p[0])
    const b = Uint32Array.from(pairs, p => p[1])
    const sum = addInto(a.slice(), b)
    for (let i = 0; i < a.length; i++) assert.equal(sum[i], Number((BigInt(a[i]) + BigInt(b[i])) % 2n ** 32n))
    assert.deepEqual(subInto(sum, b), a)
  }))
  assert.throws(() => addInto(new Uint32Array(2), new Uint32Array(3)), LengthMismatchError)
})

test('mask: sign by byte order, pairwise masks cancel between two members', () => {
  assert.equal(maskSign(A, B), 1)
  assert.equal(maskSign(B, A), -1)
  assert.equal(maskSign(hex('0102'), hex('010203')), 1) // a proper prefix sorts first
  assert.throws(() => maskSign(A, A), InvalidMaskInputError)
  const s = new Uint8Array(randomBytes(32))
  const xa = Uint32Array.from([1, 2, 3, 0xffffffff])
  const xb = Uint32Array.from([10, 20, 30, 2])
  const ba = new Uint8Array(randomBytes(32))
  const bb = new Uint8Array(randomBytes(32))
  const ya = maskInput(xa, { self: A, selfSeed: ba, pairwise: [{ peer: B, seed: s }] })
  const yb = maskInput(xb, { self: B, selfSeed: bb, pairwise: [{ peer: A, seed: s }] })
  assert.deepEqual(xa, Uint32Array.from([1, 2, 3, 0xffffffff]), 'input left alone')
  const sum = addInto(ya.slice(), yb)
  assert.deepEqual(unmaskSum(sum, { survivorSelfSeeds: [ba, bb], droppedPairwise: [] }), Uint32Array.from([11, 22, 33, 1]))
  // B dropped after masking: A's pairwise mask is removed with s
  assert.deepEqual(unmaskSum(ya, { survivorSelfSeeds: [ba], droppedPairwise: [{ survivor: A, dropped: B, seed: s }] }), xa)
  assert.deepEqual(unmaskSum(yb, { survivorSelfSeeds: [bb], droppedPairwise: [{ survivor: B, dropped: A, seed: s }] }), xb)
  assert.throws(() => maskInput(xa, { self: A, selfSeed: ba, pairwise: [{ peer: B, seed: s }, { peer: B, seed: s }] }), InvalidMaskInputError)
  assert.throws(() => maskInput(xa, { self: A, selfSeed: ba, pairwise: [{ peer: A, seed: s }] }), InvalidMaskInputError)
})

test('shamir: t-of-n round trips for every t, from any t shares, Buffers accepted', async () => {
  await fc.assert(fc.asyncProperty(
    fc.integer({ min: 1, max: 30 }).chain(n => fc.record({
      n: fc.constant(n),
      t: fc.integer({ min: 1, max: n }),
      secret: fc.uint8Array({ minLength: 1, maxLength: 40 }),
      order: fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n })
    })),
    async ({ n, t, secret, order }) => {
      const shares = await splitSecret(Buffer.from(secret), n, t)
      assert.equal(shares.length, n)
      for (const s of shares) assert.equal(s.byteLength, secret.byteLength + 1)
      const picked = order.slice(0, t).map(i => shares[i])
      assert.deepEqual(await combineShares(picked.map(s => Buffer.from(s))), secret)
      assert.deepEqual(await combineShares(order.map(i => shares[i])), secret, 'more than t shares also work')
      // t - 1 shares give a value independent of the secret (checked where a collision is negligible)
      if (t > 1 && secret.byteLength >= 16) assert.notDeepEqual(await combineShares(picked.slice(0, t - 1)), secret)
    }
  ), { numRuns: 150 })
})

test('shamir: n = 1, t = 1, 255 shares, and invalid parameters', async () => {
  const secret = new Uint8Array(randomBytes(32))
  const [only] = await splitSecret(secret, 1, 1)
  assert.deepEqual(await combineShares([only]), secret)
  const many = await splitSecret(secret, 255, 3)
  assert.equal(many.length, 255)
  assert.deepEqual(await combineShares([many[254], many[0], many[100]]), secret)
  for (const [n, t] of [[0, 0], [3, 0], [3, 4], [256, 2], [2.5, 2], [3, 1.5]]) {
    await assert.rejects(splitSecret(secret, n, t), InvalidThresholdError, `n=${n} t=${t}`)
  }
  await assert.rejects(splitSecret(new Uint8Array(0), 3, 2), InvalidSharesError)
  await assert.rejects(combineShares([]), InvalidSharesError)
  await assert.rejects(combineShares([many[0], many[0]]), InvalidSharesError)
  await assert.rejects(combineShares([many[0], many[1].subarray(1)]), InvalidSharesError)
  assert.equal(majorityThreshold(1), 1)
  assert.equal(majorityThreshold(10), 6)
  assert.equal(majorityThreshold(11), 6)
})

const boxCtx = { task: TASK, round: 7, attempt: 1, sender: A, recipient: B }

test('share box: round trip', () => {
  const key = new Uint8Array(randomBytes(32))
  const selfSeedShare = new Uint8Array(randomBytes(33))
  const maskKeyShare = new Uint8Array(randomBytes(33))
  const box = sealShares({ key, ...boxCtx, selfSeedShare, maskKeyShare })
  assert.equal(box.byteLength, 12 + 1 + 2 + 33 + 2 + 33 + 16)
  assert.deepEqual(openShares({ key, ...boxCtx, box }), { selfSeedShare, maskKeyShare })
  const other = sealShares({ key, ...boxCtx, selfSeedShare, maskKeyShare })
  assert.notDeepEqual(other.subarray(0, 12), box.subarray(0, 12), 'fresh nonce per box')
  // different share lengths are kept apart by the explicit lengths
  const odd = sealShares({ key, ...boxCtx, selfSeedShare: Uint8Array.of(1), maskKeyShare: new Uint8Array(70).fill(2) })
  assert.deepEqual(openShares({ key, ...boxCtx, box: odd }), { selfSeedShare: Uint8Array.of(1), maskKeyShare: new Uint8Array(70).fill(2) })
})

test('share box: any change of an AAD field, of the key or of any bit is refused', () => {
  const key = new Uint8Array(randomBytes(32))
  const box = sealShares({ key, ...boxCtx, selfSeedShare: new Uint8Array(33).fill(1), maskKeyShare: new Uint8Array(33).fill(2) })
  const wrong = [
    { ...boxCtx, task: hex('ab'.repeat(32)) },
    { ...boxCtx, task: 'aa'.repeat(32) },
    { ...boxCtx, round: 8 },
    { ...boxCtx, attempt: 0 },
    { ...boxCtx, sender: hex('0024080112203333') },
    { ...boxCtx, recipient: hex('0024080112203333') },
    { ...boxCtx, sender: B, recipient: A }
  ]
  for (const ctx of wrong) assert.throws(() => openShares({ key, ...ctx, box }), ShareBoxError, JSON.stringify({ ...ctx, task: String(ctx.task) }))
  assert.throws(() => openShares({ key: new Uint8Array(randomBytes(32)), ...boxCtx, box }), ShareBoxError)
  for (let bit = 0; bit < box.byteLength * 8; bit++) {
    const bad = box.slice()
    bad[bit >> 3] ^= 1 << (bit & 7)
    assert.throws(() => openShares({ key, ...boxCtx, box: bad }), ShareBoxError, `bit ${bit}`)
  }
  assert.throws(() => openShares({ key, ...boxCtx, box: box.subarray(0, box.byteLength - 1) }), ShareBoxError)
  assert.throws(() => openShares({ key, ...boxCtx, box: box.subarray(0, 20) }), ShareBoxError)
  assert.throws(() => openShares({ key: new Uint8Array(16), ...boxCtx, box }), InvalidKeyError)
})
