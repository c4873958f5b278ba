import { userInfo } from 'node:os'
import t from 'tap'
import { catalogTarget, describeTarget, pgpassLookup } from '../../lib/catalog/connection.js'

t.test("defaults: localhost:5432, database FileCatalog, the process's user (libpq's, whatever $USER says)", async (t) => {
  const user = userInfo().username
  t.match(catalogTarget(undefined, { USER: 'phnxreco' }), { host: 'localhost', port: 5432, database: 'FileCatalog', user, password: undefined })
  t.match(catalogTarget(undefined, {}), { user }, 'no USER, as under cron')
})

t.test('the libpq variables override the defaults', async (t) => {
  const env = { PGHOST: 'sphnxdbreplica', PGPORT: '5433', PGUSER: 'reader', PGPASSWORD: 'pw', PGDATABASE: 'FC', PGSSLMODE: 'require' }
  t.match(catalogTarget(undefined, env), { host: 'sphnxdbreplica', port: 5433, user: 'reader', password: 'pw', database: 'FC', ssl: 'require' })
})

t.test('--db-url wins over the environment; what it lacks comes from the environment', async (t) => {
  const env = { PGHOST: 'envhost', PGUSER: 'envuser', PGPASSWORD: 'envpw' }
  t.match(catalogTarget('postgres://urluser:url%40pw@urlhost:6000/Cat', env), { host: 'urlhost', port: 6000, user: 'urluser', password: 'url@pw', database: 'Cat' })
  t.match(catalogTarget('postgres:///Cat', env), { host: 'envhost', user: 'envuser', password: 'envpw', database: 'Cat' })
})

t.test('bad URLs and ports are usage errors', async (t) => {
  t.throws(() => catalogTarget('not a url', {}), /the FileCatalog URL: "not a url" is not a URL/)
  t.throws(() => catalogTarget('postgres://u:ab%zz@h/db', {}), /the FileCatalog URL: the URL's password holds a % that is not followed by two hex digits/)
  t.throws(() => catalogTarget('mysql://h/db', {}), /must start with postgres:\/\//)
  t.throws(() => catalogTarget(undefined, { PGPORT: 'x' }), /port "x" is not a TCP port/)
  t.throws(() => catalogTarget(undefined, { PGSSLMODE: 'maybe' }), /sslmode "maybe"/)
})

t.test('descriptions never carry the password', async (t) => {
  const target = catalogTarget('postgres://u:secret@h:1/db', {})
  t.equal(describeTarget(target), 'u@h:1/db')
})

t.test('a password comes from .pgpass when none is given, as libpq does', async (t) => {
  const dir = t.testdir({ '.pgpass': '# comment\nother:*:*:*:no\ndbhost:5432:FileCatalog:reader:from\\:pgpass\n*:*:*:*:fallback\n' })
  const want = { host: 'dbhost', port: 5432, database: 'FileCatalog', user: 'reader' }
  t.equal(pgpassLookup(`${dir}/.pgpass`, want), 'from:pgpass')
  t.equal(pgpassLookup(`${dir}/.pgpass`, { ...want, user: 'x' }), 'fallback')
  t.equal(pgpassLookup(`${dir}/missing`, want), undefined)
  t.equal(catalogTarget(undefined, { HOME: dir, PGHOST: 'dbhost', PGUSER: 'reader' }).password, 'from:pgpass')
  t.equal(catalogTarget(undefined, { HOME: dir, PGHOST: 'dbhost', PGUSER: 'reader', PGPASSWORD: 'env' }).password, 'env')
})
