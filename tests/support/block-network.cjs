// Preloaded into node (NODE_OPTIONS=--require=...) by tests that prove a run is offline.
// Every outbound connection or DNS lookup throws, and is reported on stderr so a test
// that only checks the exit code still sees it.
'use strict'
const net = require('net')
const dns = require('dns')
const dgram = require('dgram')

function refuse(what) {
  const message = `NETWORK ATTEMPT BLOCKED: ${what}`
  process.stderr.write(message + '\n')
  throw new Error(message)
}

const connect = net.Socket.prototype.connect
net.Socket.prototype.connect = function (...args) {
  const target = args[0]
  const isIpc = (typeof target === 'string') || (target && typeof target === 'object' && target.path)
  if (isIpc) return connect.apply(this, args)
  return refuse(`connect ${JSON.stringify(target)}`)
}
dns.lookup = (host) => refuse(`dns lookup ${host}`)
dns.promises.lookup = async (host) => refuse(`dns lookup ${host}`)
dns.resolve = (host) => refuse(`dns resolve ${host}`)
dgram.Socket.prototype.send = function () { return refuse('udp send') }
