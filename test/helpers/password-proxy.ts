// A PostgreSQL endpoint that asks for the password in clear text (AuthenticationCleartextPassword), so the
// client really sends it, then refuses it as a server with another password would (FATAL 28P01). For tests
// that the password, having passed through the client, appears in no message, log or output.
import net from 'node:net'

export interface PasswordProxy {
  port: number
  /** The passwords clients sent, in order. */
  received: string[]
  close(): Promise<void>
}

const SSL_REQUEST = 80877103

function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5)
  head.write(type, 0)
  head.writeInt32BE(body.length + 4, 1)
  return Buffer.concat([head, body])
}

const askCleartext = () => {
  const body = Buffer.alloc(4)
  body.writeInt32BE(3, 0)
  return message('R', body)
}

const refuse = (user: string) => message('E', Buffer.from(`SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed for user "${user}"\0\0`))

/** Starts the endpoint on a free loopback port. */
export async function startPasswordProxy(): Promise<PasswordProxy> {
  const received: string[] = []
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let buffered = Buffer.alloc(0)
    let user = ''
    let started = false
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk])
      for (;;) {
        if (!started) {
          if (buffered.length < 8) return
          const length = buffered.readInt32BE(0)
          if (buffered.length < length) return
          const packet = buffered.subarray(0, length)
          buffered = buffered.subarray(length)
          if (length === 8 && packet.readInt32BE(4) === SSL_REQUEST) {
            socket.write('N')
            continue
          }
          const fields = packet.subarray(8).toString('utf8').split('\0')
          user = fields[fields.indexOf('user') + 1] ?? ''
          started = true
          socket.write(askCleartext())
          continue
        }
        if (buffered.length < 5) return
        const length = buffered.readInt32BE(1)
        if (buffered.length < length + 1) return
        const type = String.fromCharCode(buffered[0])
        const body = buffered.subarray(5, length + 1)
        buffered = buffered.subarray(length + 1)
        if (type === 'p') {
          received.push(body.toString('utf8').replace(/\0$/, ''))
          socket.end(refuse(user))
          return
        }
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  return {
    port,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
