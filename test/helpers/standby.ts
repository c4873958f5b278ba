// A real primary and hot standby pair, made with the machine's PostgreSQL binaries, for the test that the
// query works against a read-only replica in recovery (the FileCatalog is read from one).
import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const PG_ROOT = '/usr/lib/postgresql'

/** The binaries of the newest installed PostgreSQL, or undefined. */
function binDir(): string | undefined {
  if (!existsSync(PG_ROOT)) return undefined
  const versions = readdirSync(PG_ROOT).filter((v) => existsSync(join(PG_ROOT, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a))
  return versions.length ? join(PG_ROOT, versions[0], 'bin') : undefined
}

/** Why a standby cannot be made here, or undefined when it can (root with a postgres user, and the binaries). */
export function standbyUnavailable(): string | undefined {
  if (!binDir()) return `no PostgreSQL binaries under ${PG_ROOT}`
  if (process.getuid?.() !== 0) return 'needs root to run PostgreSQL as the postgres user'
  try {
    execFileSync('id', ['postgres'], { stdio: 'ignore' })
  } catch {
    return 'no postgres user'
  }
  return undefined
}

async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

export interface StandbyPair {
  primaryPort: number
  standbyPort: number
  stop(): void
}

/** Creates, starts and returns a primary with a streaming hot standby, each on a free loopback port. */
export async function startStandbyPair(): Promise<StandbyPair> {
  const bin = binDir()!
  const root = mkdtempSync(join(tmpdir(), 'caloprod-standby-'))
  chmodSync(root, 0o777)
  const as = (cmd: string, args: string[]) =>
    execFileSync('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], { stdio: 'pipe', cwd: root })
  const primary = join(root, 'primary')
  const standby = join(root, 'standby')
  const [primaryPort, standbyPort] = [await freePort(), await freePort()]
  as('initdb', ['-D', primary, '-U', 'postgres', '--auth=trust', '-N'])
  writeFileSync(join(primary, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n')
  const common = `-c listen_addresses=127.0.0.1 -c unix_socket_directories=${root} -c fsync=off`
  as('pg_ctl', ['-D', primary, '-w', '-l', join(root, 'primary.log'), '-o', `-p ${primaryPort} ${common} -c wal_level=replica`, 'start'])
  try {
    as('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primaryPort), '-U', 'postgres', '-D', standby, '-R', '-X', 'stream'])
    as('pg_ctl', ['-D', standby, '-w', '-l', join(root, 'standby.log'), '-o', `-p ${standbyPort} ${common} -c hot_standby=on`, 'start'])
  } catch (err) {
    as('pg_ctl', ['-D', primary, '-m', 'immediate', 'stop'])
    throw err
  }
  return {
    primaryPort,
    standbyPort,
    stop() {
      for (const dir of [standby, primary]) {
        try {
          as('pg_ctl', ['-D', dir, '-m', 'immediate', 'stop'])
        } catch {
          // Already stopped: nothing to do.
        }
      }
      rmSync(root, { recursive: true, force: true })
    },
  }
}
