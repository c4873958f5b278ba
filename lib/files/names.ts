// What a tag and a path must look like before caloprod puts them into file names, lists and job arguments.

const SAFE_TAG = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/

/** Why a tag cannot be used in a file name such as `<run>_<tag>.list`, or undefined when it can. */
export function tagProblem(tag: string): string | undefined {
  if (!SAFE_TAG.test(tag)) return `tag "${tag}" may hold only letters, digits and . _ + - (it becomes part of file names)`
  return undefined
}

/** Why a catalogued path cannot go into a file list, or undefined when it can. */
export function pathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return `path "${path}" is not absolute`
  if (/[\n\r\0]/.test(path)) return `path ${JSON.stringify(path)} holds a line break or NUL`
  return undefined
}

/**
 * The byte forms of the two checks, for a row read as raw bytes (lib/catalog/query-files.ts): each says exactly what
 * tagProblem or pathProblem says of the text the bytes decode to (undefined: true), invalid UTF-8 included, without
 * decoding it. A byte outside ASCII is never one of a tag's, and never a path's `/`, line break or NUL.
 */
export function plainTagBytes(tag: Uint8Array): boolean {
  if (tag.length === 0 || !TAG_FIRST[tag[0]]) return false
  for (let i = 1; i < tag.length; i++) if (!TAG_REST[tag[i]]) return false
  return true
}

/** See plainTagBytes: a path whose bytes start with `/` and hold no line feed, carriage return or NUL passes. */
export function plainPathBytes(path: Uint8Array): boolean {
  // UTF-8 never uses these three bytes inside another character, and invalid bytes decode to U+FFFD. indexOf is a
  // native scan: on the bench's paths, three of them take a quarter of one loop over the bytes.
  return path[0] === 0x2f && path.indexOf(0x0a) === -1 && path.indexOf(0x0d) === -1 && path.indexOf(0) === -1
}

/** The ASCII bytes SAFE_TAG takes as a tag's first character and after it, asked of SAFE_TAG itself. */
const byteTable = (takes: (character: string) => boolean) =>
  Uint8Array.from({ length: 256 }, (_, byte) => (byte < 128 && takes(String.fromCharCode(byte)) ? 1 : 0))
const TAG_FIRST = byteTable((c) => SAFE_TAG.test(c))
const TAG_REST = byteTable((c) => SAFE_TAG.test(`a${c}`))
