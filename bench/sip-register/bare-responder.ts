// SIPp's own ceiling for bench/sip-register: a UDP responder with no SIP processing at all. It
// copies Via/From/To/Call-ID/CSeq into the answer by plain text search and answers a REGISTER
// without Authorization 401 (a fixed nonce), one with it 200, OPTIONS 200. It checks nothing
// (no parsing, no digest, no state, no guard): what SIPp reaches against it is the most any
// server can show in this benchmark on this machine.
//
//   node bench/sip-register/bare-responder.ts PORT   (prints "ready" once bound)
import { createSocket } from 'node:dgram';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`bare-responder: bad PORT ${process.argv[2] ?? '(none)'}`);
  process.exit(2);
}

/** The whole line of the first field named `name` (full form, as SIPp writes it), or ''. */
function field(text: string, name: string): string {
  const at = text.indexOf(`\n${name}:`);
  if (at < 0) return '';
  const end = text.indexOf('\r\n', at + 1);
  return text.slice(at + 1, end < 0 ? text.length : end);
}

const socket = createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
socket.on('message', (msg, from) => {
  const text = msg.toString('latin1');
  const common = `${field(text, 'Via')}\r\n${field(text, 'From')}\r\n${field(text, 'To')};tag=bare\r\n${field(text, 'Call-ID')}\r\n${field(text, 'CSeq')}\r\n`;
  const status =
    text.startsWith('REGISTER ') && text.indexOf('\nAuthorization:') < 0
      ? `401 Unauthorized\r\n${common}WWW-Authenticate: Digest realm="tollgate", nonce="bare0123456789", qop="auth", algorithm=MD5\r\n`
      : `200 OK\r\n${common}`;
  socket.send(`SIP/2.0 ${status}Content-Length: 0\r\n\r\n`, from.port, from.address);
});
socket.bind(port, '127.0.0.1', () => console.log('ready'));
