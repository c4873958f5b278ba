// Payload files as ROOT leaves them once closed (TFile::WriteHeader; ROOT's "File header format" page): "root", the
// format version, BEGIN and END (the file's length), big-endian, then the records, here `text`.

/** A whole ROOT file holding `text` (format version 62206, 4-byte offsets). */
export function rootFile(text: string): Buffer {
  const body = Buffer.from(text)
  const head = Buffer.alloc(20)
  head.write('root', 0, 'latin1')
  head.writeInt32BE(62206, 4)
  head.writeInt32BE(100, 8)
  head.writeInt32BE(head.length + body.length, 12)
  return Buffer.concat([head, body])
}
