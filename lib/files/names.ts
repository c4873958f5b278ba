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
