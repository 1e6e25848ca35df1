// Firestore emulator launcher for the tests and benchmarks.
//
// usage: node tests/support/firestore_emulator.js GRPC_PORT HTTP_PORT [TLS_ADDRESS:PORT CERT KEY]
//
// With the last three, gRPC is also served over TLS on TLS_ADDRESS:PORT (a loopback address)
// with the certificate chain CERT and key KEY, so a client that dials
// firestore.googleapis.com:443 (the name resolving to that address) and trusts the test CA
// reaches it as it would Google; GRPC_PORT stays plain, for the test's own client.
//
// @firestore-emulator/server ships no CLI and its own start() binds 0.0.0.0; nothing in a
// test may listen beyond loopback, so this binds the gRPC server to 127.0.0.1 itself and adds
// an HTTP side port: GET /healthz (readiness), DELETE /reset (clear every project's data),
// GET /dump (the in-memory state as JSON, the emulator's only export).
"use strict";

const fs = require("fs");
const http = require("http");
const { ServerCredentials } = require("@grpc/grpc-js");
const { FirestoreServer } = require("@firestore-emulator/server");

const grpcPort = Number(process.argv[2]);
const httpPort = Number(process.argv[3]);
const [tlsAddress, certFile, keyFile] = process.argv.slice(4, 7);
if (!Number.isInteger(grpcPort) || !Number.isInteger(httpPort) || (tlsAddress && !keyFile)) {
  console.error("usage: node firestore_emulator.js GRPC_PORT HTTP_PORT [TLS_ADDRESS:PORT CERT KEY]");
  process.exit(2);
}

const emu = new FirestoreServer();

function bind(address, credentials) {
  return new Promise((resolve, reject) => {
    // `server` is private only in the TypeScript declarations.
    emu.server.bindAsync(address, credentials, (err, port) => (err ? reject(err) : resolve(port)));
  });
}

async function bindAll() {
  await bind(`127.0.0.1:${grpcPort}`, ServerCredentials.createInsecure());
  if (tlsAddress) {
    const tls = ServerCredentials.createSsl(
      null,
      [{ cert_chain: fs.readFileSync(certFile), private_key: fs.readFileSync(keyFile) }],
      false,
    );
    await bind(tlsAddress, tls);
  }
}

bindAll().then(() => {
  const side = http.createServer((req, res) => {
    if (req.method === "DELETE" && req.url === "/reset") {
      emu.state.clear();
      res.end("cleared\n");
      return;
    }
    if (req.url === "/healthz") {
      res.end("ok\n");
      return;
    }
    if (req.url === "/dump") {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(emu.state.toJSON()));
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  side.on("error", (e) => {
    console.error(e);
    process.exit(1);
  });
  side.listen(httpPort, "127.0.0.1", () => {
    const tls = tlsAddress ? ` tls=${tlsAddress}` : "";
    console.log(`firestore emulator ready grpc=127.0.0.1:${grpcPort}${tls} http=127.0.0.1:${httpPort}`);
  });
}, (err) => {
  console.error(err);
  process.exit(1);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    emu.stop();
    process.exit(0);
  });
}
