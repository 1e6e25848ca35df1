// Firestore emulator launcher for the tests and benchmarks.
//
// usage: node tests/support/firestore_emulator.js GRPC_PORT HTTP_PORT
//
// @firestore-emulator/server ships no CLI and its own start() binds 0.0.0.0; nothing in a
// test may listen beyond loopback, so this binds the gRPC server to 127.0.0.1 itself and adds
// an HTTP side port: GET /healthz (readiness), DELETE /reset (clear every project's data),
// GET /dump (the in-memory state as JSON, the emulator's only export).
"use strict";

const http = require("http");
const { ServerCredentials } = require("@grpc/grpc-js");
const { FirestoreServer } = require("@firestore-emulator/server");

const grpcPort = Number(process.argv[2]);
const httpPort = Number(process.argv[3]);
if (!Number.isInteger(grpcPort) || !Number.isInteger(httpPort)) {
  console.error("usage: node firestore_emulator.js GRPC_PORT HTTP_PORT");
  process.exit(2);
}

const emu = new FirestoreServer();
// `server` is private only in the TypeScript declarations.
emu.server.bindAsync(`127.0.0.1:${grpcPort}`, ServerCredentials.createInsecure(), (err, bound) => {
  if (err) {
    console.error(err);
    process.exit(1);
  }
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
    console.log(`firestore emulator ready grpc=127.0.0.1:${bound} http=127.0.0.1:${httpPort}`);
  });
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    emu.stop();
    process.exit(0);
  });
}
