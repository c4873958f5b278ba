// The payload store (nopayloadclient's `write_dir`): each payload under `<type>/<md5[0:2]>/<md5[2:4]>/<md5>_<name>`,
// the relative path being the URL the CDB records. Copied by write-to-temporary-and-rename, so the store never
// holds a partial file under a real name; a file already there is kept when it has the same bytes and is never
// overwritten when it does not.
import { constants } from 'node:fs'
import { copyFile, link, mkdir, rename, stat, unlink, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { CaloprodError } from '../errors.js'
import { sweepStaleTemps, syncDirectory, tempPathFor } from '../files/atomic.js'
import { md5File } from './payload-files.js'

/** The payload's URL relative to the store, as nopayloadclient builds it. */
export function storeUrl(type: string, md5: string, name: string): string {
  return `${type}/${md5.slice(0, 2)}/${md5.slice(2, 4)}/${md5}_${name}`
}

/**
 * Refuses a store that is not there, not a directory (creating it would hide a wrong configuration) or not
 * writable by this user: access() trusts the mode bits, so a file is created (root on a file system that refuses it).
 */
export async function checkStore(writeDir: string, source: string): Promise<void> {
  const store = `the payload store ${writeDir} (write_dir in ${source})`
  const info = await stat(writeDir).catch(() => undefined)
  if (!info) throw new CaloprodError(`${store} does not exist; mount it or fix write_dir`)
  if (!info.isDirectory()) throw new CaloprodError(`${store} is not a directory; fix write_dir`)
  const probe = tempPathFor(join(writeDir, 'caloprod-probe'))
  try {
    await writeFile(probe, '', { flag: 'wx' })
    await unlink(probe)
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message
    throw new CaloprodError(`${store} is not writable by this user (${why}); nothing was uploaded`)
  }
}

/**
 * Gives the finished temporary file its real name without ever replacing a file that appeared there meanwhile: a
 * hard link fails on an existing name, where rename would overwrite it. A store without hard links gets rename.
 */
async function placeWithoutOverwrite(temp: string, target: string): Promise<void> {
  try {
    await link(temp, target)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const appeared = `${target} appeared in the payload store while caloprod copied it`
    if (code === 'EEXIST') throw new CaloprodError(`${appeared}; it is never overwritten: re-run the upload`)
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err
    await rename(temp, target)
    return
  }
  await unlink(temp)
}

/** Copies `source` into the store at `url`: `copied`, or `present` when a file there has its md5 (an earlier try). */
export async function copyIntoStore(writeDir: string, url: string, source: string, md5: string): Promise<'copied' | 'present'> {
  const target = join(writeDir, url)
  const dir = dirname(target)
  const writable = `check that ${writeDir} is writable by this user`
  const fail = (what: string, err: unknown) =>
    new CaloprodError(`cannot ${what} in the payload store: ${(err as Error).message}; ${writable}`, 1, { cause: err })
  try {
    await mkdir(dir, { recursive: true })
  } catch (err) {
    throw fail(`create ${dir}`, err)
  }
  await sweepStaleTemps(dir)
  if (await stat(target).catch(() => undefined)) {
    if ((await md5File(target)) === md5) return 'present'
    throw new CaloprodError(
      `${target} is already in the payload store with other bytes than ${source} (md5 ${md5}); ` +
        "it is never overwritten: ask the CDB's administrators",
    )
  }
  const temp = tempPathFor(target)
  try {
    await copyFile(source, temp, constants.COPYFILE_EXCL)
    // syncDirectory fsyncs any path it can open, a file too.
    await syncDirectory(temp)
    if ((await md5File(temp)) !== md5) throw new Error(`the copy of ${source} does not have md5 ${md5} (did the file change?)`)
    await placeWithoutOverwrite(temp, target)
    await syncDirectory(dir)
  } catch (err) {
    await unlink(temp).catch(() => {})
    if (err instanceof CaloprodError) throw err
    throw fail(`copy ${source} to ${target}`, err)
  }
  return 'copied'
}
