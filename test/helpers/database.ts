// A fresh, empty PostgreSQL database per test: on the server at PGHOST when set (CI: 127.0.0.1:5432),
// else in an embedded PGlite served on a loopback port (one per test file, its schema reset per test).
import { randomBytes } from 'node:crypto'
import postgres from 'postgres'
import tap from 'tap'
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../demo/embedded.js'

type Test = import('tap').Test

export interface TestDatabase {
  /** URL of the fresh database, for --db-url. */
  url: string
  sql: postgres.Sql
}

let embedded: Promise<EmbeddedPostgres> | undefined

function serverUrl(database: string): string {
  const host = process.env.PGHOST!
  const port = process.env.PGPORT ?? '5432'
  const user = encodeURIComponent(process.env.PGUSER ?? 'postgres')
  const password = process.env.PGPASSWORD ? `:${encodeURIComponent(process.env.PGPASSWORD)}` : ''
  return `postgres://${user}${password}@${host}:${port}/${database}`
}

/** Whether tests run against a real server (PGHOST set) rather than the embedded PGlite. */
export const usingServer = Boolean(process.env.PGHOST)

/** Creates a fresh database for one test and drops it when the test ends. */
export async function freshDatabase(t: Test): Promise<TestDatabase> {
  if (usingServer) {
    const name = `caloprod_test_${process.pid}_${randomBytes(4).toString('hex')}`
    const admin = postgres(serverUrl('postgres'), { onnotice: () => {}, max: 1 })
    await admin.unsafe(`create database "${name}"`)
    const url = serverUrl(name)
    const sql = postgres(url, { onnotice: () => {}, max: 2 })
    t.teardown(async () => {
      await sql.end({ timeout: 5 })
      await admin.unsafe(`drop database if exists "${name}" with (force)`)
      await admin.end({ timeout: 5 })
    })
    return { url, sql }
  }
  if (!embedded) {
    embedded = startEmbeddedPostgres()
    tap.teardown(async () => (await embedded!).stop())
  }
  const server = await embedded
  const sql = postgres(server.url, { onnotice: () => {}, max: 1 })
  // One database for the whole file: start each test from nothing, every schema a test made dropped with public.
  const schemas = await sql<{ name: string }[]>`
    select nspname as name from pg_namespace where nspname not like 'pg\_%' and nspname <> 'information_schema'`
  for (const { name } of schemas) await sql.unsafe(`drop schema "${name}" cascade`)
  await sql.unsafe('create schema public')
  t.teardown(() => sql.end({ timeout: 5 }))
  return { url: server.url, sql }
}
