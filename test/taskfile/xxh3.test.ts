import t from 'tap'
import { checksumFileName } from '../../lib/taskfile/checksum.js'
import { Xxh3128, xxh3128 } from '../../lib/taskfile/xxh3.js'

// Reference values from libxxhash 0.8.1's XXH3_128bits, printed as go-task prints them ("%x%x" of the
// high and low halves: no leading zeros, hence some 31-character values). Every size class is covered:
// 0, 1-3, 4-8, 9-16, 17-128, 129-240, and the long loop across block (1024) and stripe (64) edges.
const data = Buffer.from(Array.from({ length: 70000 }, (_, i) => ((i * 131 + 17) ^ (i >> 8)) & 255))
const vectors: Array<[number, string]> = [
  [0, '99aa06d3014798d86001c324468d497f'],
  [1, 'f46d8182f5a4994af319fe2bdfcdfebd'],
  [3, 'd3d72a54a914da93a107bb65b715c89b'],
  [4, 'c867fd251db3e6d7b7a8c115066c18e7'],
  [8, 'c1dcf76c2349c00260bc8bccebcb0734'],
  [9, '2d0cd6fb1a9d265f11ccf925dc0bf79'],
  [16, '86a52d17f54b78c9803f5a245db3129'],
  [17, '4721ae433384feedc2f249861431c09e'],
  [100, '276a8ea346aedc9a57867474c980e02c'],
  [128, 'd25fb3a54bc43c6e37906c780c01150d'],
  [129, 'ce245f502a54b8313dc26c2565608a13'],
  [200, '4ee1b8c5621fc51dc4b73b09dfca3291'],
  [240, 'b39403b41f31eeafe1a4f0922856b524'],
  [241, '6229596e1de710aed93572e52acac83'],
  [1024, '94e9343474c58cbeae413ccb2f6ad3f'],
  [1025, '5abf6d358e0fd66f28e85251f04d6b8'],
  [1088, 'b64d27ea0942e5bf598e77fdd5479482'],
  [5000, '88e6daa410806c1ee533b0ae44de708b'],
  [65536, 'f9bd84e2325788cfb72c1ae2a64aae98'],
  [70000, 'd8527533a72696632dfb9eb34fc4de8b'],
]

t.test('XXH3-128 matches the reference implementation for every input size class', async (t) => {
  for (const [len, want] of vectors) t.equal(new Xxh3128().update(data.subarray(0, len)).goTaskHex(), want, `${len} bytes`)
})

t.test('streaming in uneven pieces gives the one-shot hash', async (t) => {
  for (const [len, want] of vectors) {
    const h = new Xxh3128()
    for (let off = 0, step = 1; off < len; off += step, step = (step * 7 + 3) % 97 + 1) h.update(data.subarray(off, Math.min(len, off + step)))
    t.equal(h.goTaskHex(), want, `${len} bytes in pieces`)
  }
})

t.test('the one-shot helper returns both halves', async (t) => {
  const { hi, lo } = xxh3128('')
  t.equal(hi.toString(16) + lo.toString(16), '99aa06d3014798d86001c324468d497f')
})

t.test('checksum file names are normalized like go-task v3.52+ (every character that is not a letter or digit becomes "-")', async (t) => {
  // go-task's own cases (internal/fingerprint/sources_checksum_test.go, TestNormalizeFilename).
  const goTaskCases: Array<[string, string]> = [
    ['foobarbaz', 'foobarbaz'],
    ['foo/bar/baz', 'foo-bar-baz'],
    ['foo@bar/baz', 'foo-bar-baz'],
    ['foo1bar2baz3', 'foo1bar2baz3'],
    ['foo\\bar', 'foo-bar'],
    ['foo_bar', 'foo-bar'],
    ['foo[bar]baz', 'foo-bar-baz'],
    ['foo^bar`baz', 'foo-bar-baz'],
  ]
  for (const [name, want] of goTaskCases) t.equal(checksumFileName(name), want, name)
  // A label of this Taskfile with an underscore in OUTPUT: one file for both runners.
  t.equal(checksumFileName('reduce-run3auau-/sphenix/user/some_user/run3auau'), 'reduce-run3auau--sphenix-user-some-user-run3auau')
  // Go replaces one character (rune) at a time, not one byte.
  t.equal(checksumFileName('é ü'), '---')
})
