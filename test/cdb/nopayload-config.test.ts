import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { apiUrlOf, NopayloadConfigError, readNopayloadConfig } from '../../lib/cdb/nopayload-config.js'
import { parseCdbUrl } from '../../lib/config/parse-values.js'

const dir = mkdtempSync(join(tmpdir(), 'caloprod-conf-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const file = (name: string, text: string) => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

t.test('reads nopayloadclient\'s own default.json layout', async (t) => {
  const path = file('default.json', JSON.stringify({
    base_url: 'localhost:8000', api_res: '/api/cdb_rest/', write_dir: '/tmp/remote_pl_store/', read_dir_list: ['/tmp/remote_pl_store/', '/cvmfs/place/holder/'],
    n_retries: 5, retry_sleep_mean: 3, cache_life_time: 10, cache_max_mb: 1, print_time_stamps: false, use_fake_backend: false, logger: 'terminal', log_level: 'INFO',
  }))
  const conf = await readNopayloadConfig({ NOPAYLOADCLIENT_CONF: path })
  t.equal(conf?.apiUrl, 'http://localhost:8000/api/cdb_rest/')
  t.equal(conf?.writeDir, '/tmp/remote_pl_store/')
  t.equal(await readNopayloadConfig({}), undefined, 'unset: no configuration')
  t.equal(await readNopayloadConfig({ NOPAYLOADCLIENT_CONF: '' }), undefined)
})

t.test('the API URL as nopayloadclient joins it; --cdb-url forms', async (t) => {
  t.equal(apiUrlOf('nopayloaddb.apps.rcf.bnl.gov', '/api/cdb_rest/'), 'http://nopayloaddb.apps.rcf.bnl.gov/api/cdb_rest/')
  t.equal(apiUrlOf('https://cdb.example:8443/', 'api/cdb_rest'), 'https://cdb.example:8443/api/cdb_rest/')
  t.equal(parseCdbUrl('localhost:8000/api/cdb_rest'), 'http://localhost:8000/api/cdb_rest/')
  t.equal(parseCdbUrl('https://cdb.example/api/cdb_rest/'), 'https://cdb.example/api/cdb_rest/')
  t.throws(() => parseCdbUrl('ftp://cdb.example/'), /not a nopayloaddb API URL/)
  t.throws(() => parseCdbUrl('http://cdb.example/api/?x=1'), /query or fragment/)
})

t.test('a malformed file: one line naming the file and the key', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['not-json.json', '{"base_url": "localhost:8000",', /not-json\.json: not JSON/],
    ['array.json', '[1, 2]', /array\.json: not a JSON object/],
    ['no-base.json', '{"api_res": "/api/cdb_rest/"}', /no-base\.json: key "base_url" is missing \(e\.g\. "base_url": "localhost:8000"\)/],
    ['bad-base.json', '{"base_url": 8000, "api_res": "/api/cdb_rest/"}', /key "base_url" must be a non-empty string .*not 8000/],
    ['bad-api.json', '{"base_url": "localhost:8000", "api_res": ""}', /key "api_res" must be a non-empty string/],
    ['bad-store.json', '{"base_url": "localhost:8000", "api_res": "/a/", "write_dir": ["/tmp"]}', /key "write_dir" must be a non-empty string, not \["\/tmp"\]/],
    ['bad-url.json', '{"base_url": "local host:80:80", "api_res": "/a/"}', /keys "base_url" and "api_res" do not make a URL/],
  ]
  for (const [name, text, message] of cases) {
    const err = await readNopayloadConfig({ NOPAYLOADCLIENT_CONF: file(name, text) }).catch((e: unknown) => e)
    t.type(err, NopayloadConfigError, name)
    t.match((err as Error).message, message, name)
    t.match((err as Error).message, new RegExp(`^NOPAYLOADCLIENT_CONF=${dir}/${name.replace('.', '\\.')}: `), name)
    t.notMatch((err as Error).message, /\n/, `${name}: one line`)
    t.equal((err as NopayloadConfigError).exitCode, 1)
  }
  const missing = await readNopayloadConfig({ NOPAYLOADCLIENT_CONF: join(dir, 'nope.json') }).catch((e: unknown) => e)
  t.match((missing as Error).message, /nope\.json: cannot read it \(no such file\)/)
})

t.test('user info in a URL is refused and never quoted: --cdb-url and base_url', async (t) => {
  for (const raw of ['http://reader:s3cret@cdb.example/api/cdb_rest/', 'reader:s3cret@cdb.example:8000/api/', 'https://s3cret@cdb.example/']) {
    const err = (() => {
      try {
        parseCdbUrl(raw)
      } catch (e) {
        return e as Error
      }
    })()
    t.match(err?.message, /holds a user name or password, which caloprod refuses .*CALOPROD_CDB_TOKEN/, raw)
    t.notMatch(err?.message, /s3cret/, `${raw}: not quoted`)
  }
  const path = file('userinfo.json', JSON.stringify({ base_url: 'reader:s3cret@cdb.example', api_res: '/api/cdb_rest/' }))
  const err = await readNopayloadConfig({ NOPAYLOADCLIENT_CONF: path }).catch((e: unknown) => e as Error)
  t.type(err, NopayloadConfigError)
  t.match((err as Error).message, /key "base_url" holds a user name or password/)
  t.notMatch((err as Error).message, /s3cret/)
  t.throws(() => apiUrlOf('cdb.example', '/api/?user=s3cret'), /holds a query or fragment/)
})
