#!/usr/bin/env node
// Starts @vercel/cosmosdb-server for metakv's tests, with the patches that make
// it behave like the real Azure Cosmos DB service where the metakv driver (and
// the Rust SDK) depend on it. Every patch names the real-service behaviour it
// restores. The driver never works around an emulator gap; this file does.
//
// Usage: node launch.js <port> [host]
// Prints "listening <host>:<port>" on stdout once it accepts connections.
"use strict";

const lib = "@vercel/cosmosdb-server/lib";

const partitionHeader = require(`${lib}/utils/get-partition-from-header`);

/** The partition key value named by a request's `x-ms-documentdb-partitionkey`, if any. */
function requestPartition(req, id) {
  const header = partitionHeader.default(req);
  return header === undefined ? undefined : partitionHeader.parsePartitionKey(header, id);
}

// Patch 1: partition key range ids are strings.
//
// The real service returns `"id": "0"` for a container's partition key ranges;
// the server creates its single range with the number 0. The Rust SDK's routing
// map rejects numeric ids and fails every item operation with
// `ClientTopologyResolutionFailed`. Ranges are created through
// `PartitionKeyRanges#create`, so the id is turned into a string there.
const PartitionKeyRanges = require(`${lib}/account/partition-key-ranges`).default;
const Items = require(`${lib}/account/items`).default;
PartitionKeyRanges.prototype.create = function createRange(data) {
  return Items.prototype.create.call(this, { ...data, id: String(data.id) });
};

// Patch 2: etags are quoted.
//
// The real service's `_etag` and `ETag` header are quoted strings (`"00000000-..."`), and
// `If-Match` carries them with their quotes. The server uses a bare UUID. Every create and
// replace stores the new document through `Items#_set`, so the quotes are added there.
const originalSet = Items.prototype._set;
Items.prototype._set = function setQuoted(data) {
  if (typeof data._etag === "string" && !data._etag.startsWith('"')) {
    data._etag = `"${data._etag}"`;
  }
  return originalSet.call(this, data);
};

// Data-plane RBAC, a test hook the real service does not need (it has RBAC itself):
// `POST /_metakv/rbac?db=D` with body `{"dataActions": [...]}` makes every request on database
// D need the Cosmos DB data action it needs on the real service (`readMetadata` for metadata,
// `items/read`, `items/create`, `items/upsert`, `items/replace`, `items/delete`,
// `containers/executeQuery`; creating or deleting a database or container is no data action
// at all), and answers 403 with sub-status 5301, as the real service does, when the role's
// actions do not include it. Requests on other databases are not checked.
const DATA = "Microsoft.DocumentDB/databaseAccounts";
const CONTAINER = `${DATA}/sqlDatabases/containers`;
const rbac = new Map();
const batchActions = {
  Create: `${CONTAINER}/items/create`,
  Upsert: `${CONTAINER}/items/upsert`,
  Read: `${CONTAINER}/items/read`,
  Delete: `${CONTAINER}/items/delete`,
  Replace: `${CONTAINER}/items/replace`,
};
function rbacAllows(dbId, action) {
  const actions = rbac.get(dbId);
  return actions === undefined || actions.includes(action);
}
function rbacDeny(res, action) {
  res.statusCode = 403;
  res.setHeader("x-ms-substatus", "5301");
  res.setHeader("content-type", "application/json");
  return {
    code: "Forbidden",
    message: `Request blocked by Auth: the principal does not have the required data action ${action}`,
  };
}
/** The data action a request needs, or null when no data action allows it. */
function requiredAction(req, segments) {
  const header = (name) => String(req.headers[name] || "").toLowerCase();
  // /dbs/{db}/colls/{coll}/docs[/{id}], /dbs/{db}/colls/{coll}/pkranges, ...
  const docs = segments[4];
  const id = segments[5];
  if (docs === "docs") {
    if (req.method === "POST" && (header("x-ms-documentdb-isquery") === "true" ||
        header("content-type").startsWith("application/query+json"))) {
      return `${CONTAINER}/executeQuery`;
    }
    if (req.method === "POST" && header("x-ms-cosmos-is-batch-request") === "true") {
      return "batch"; // checked per operation in the batch handler
    }
    if (req.method === "POST") {
      return header("x-ms-documentdb-is-upsert") === "true"
        ? `${CONTAINER}/items/upsert` : `${CONTAINER}/items/create`;
    }
    if (req.method === "GET") {
      return id === undefined ? `${CONTAINER}/readChangeFeed` : `${CONTAINER}/items/read`;
    }
    if (req.method === "PUT" && id !== undefined) return `${CONTAINER}/items/replace`;
    if (req.method === "DELETE" && id !== undefined) return `${CONTAINER}/items/delete`;
    return null;
  }
  // Databases, containers, partition key ranges: reading them is metadata; changing them is
  // the control plane's (ARM), never a data action.
  const metadataQuery = req.method === "POST" && segments.length === 3 &&
    header("x-ms-documentdb-isquery") === "true";
  return req.method === "GET" || metadataQuery ? `${DATA}/readMetadata` : null;
}

// Patch 3: a transactional batch is atomic.
//
// The real service applies all operations of a batch or none: when an
// operation fails, the operations before it are rolled back, the failing one
// reports its own status (409, 412, 404, ...), every other one reports 424
// (failed dependency), and the response's own status is the failing
// operation's status. The server stops at the first failure but keeps what it
// already applied, and answers 200. The patched handler snapshots the
// container's documents before the batch and restores them on failure. Node
// runs the handler without yielding between operations, so no other request
// sees the intermediate state, as on the real service. The operations take their partition
// from the batch's `x-ms-documentdb-partitionkey` header, as on the real service (the
// server expects it in each operation, where the Rust SDK does not put it).
const batchModule = require(`${lib}/handler/batch-documents`);
const operations = require(`${lib}/handler/_document-operations`);
const readJson = require(`${lib}/json`).default;
const trueHeader = require(`${lib}/true-header`).default;
const handlers = {
  Create: operations.createOperation,
  Upsert: operations.upsertOperation,
  Read: operations.readOperation,
  Delete: operations.deleteOperation,
  Replace: operations.replaceOperation,
};
batchModule.default = async (account, req, res, { dbId, collId }) => {
  const body = await readJson(req);
  // Data-plane RBAC (test hook, below): each operation needs its own item action.
  if (Array.isArray(body)) {
    const denied = body
      .map((op) => batchActions[op && op.operationType])
      .find((action) => action && !rbacAllows(dbId, action));
    if (denied) {
      return rbacDeny(res, denied);
    }
  }
  const continueOnError = trueHeader(req, "x-ms-cosmos-batch-continue-on-error");
  const collection = account.database(dbId).collection(collId);
  if (!collection.read()) {
    res.statusCode = 404;
    return {};
  }
  if (!Array.isArray(body)) {
    res.statusCode = 400;
    return { message: "Invalid request body" };
  }
  const unsupported = body.find((op) => !handlers[op && op.operationType]);
  if (unsupported) {
    res.statusCode = 400;
    return { message: `Operation type '${unsupported && unsupported.operationType}' is not supported in Batch.` };
  }
  // Every operation of a batch is in the batch's partition (the request header); the SDK
  // does not repeat it per operation, and the server's operations need it.
  const batchPartition = partitionHeader.default(req);
  body.forEach((op) => {
    if (op && op.partitionKey === undefined) {
      op.partitionKey = batchPartition;
    }
  });
  // From here on nothing awaits: the batch runs without interleaving.
  const documents = collection.documents;
  const snapshot = {
    data: new Map(documents._data),
    index: new Map(documents._index),
    ridCount: documents._ridCount,
  };
  const results = [];
  for (let i = 0; i < body.length; i += 1) {
    const result = handlers[body[i].operationType](collection, body[i]);
    if (result.statusCode >= 400 && !continueOnError) {
      documents._data = snapshot.data;
      documents._index = snapshot.index;
      documents._ridCount = snapshot.ridCount;
      res.statusCode = result.statusCode;
      return body.map((_, j) => ({ statusCode: j === i ? result.statusCode : 424, requestCharge: 0 }));
    }
    results.push({
      statusCode: result.statusCode,
      requestCharge: 1,
      eTag: result.body ? result.body._etag : undefined,
      resourceBody: result.body,
    });
  }
  return results;
};

// Patch 4: reading a missing document answers 404.
//
// The real service answers a point read of a missing item with 404 (sub-status 0). The
// server's handler dereferences the missing document while comparing partition keys and
// answers 500.
const readModule = require(`${lib}/handler/read-document`);
const originalRead = readModule.default;
readModule.default = (account, req, res, params) => {
  const collection = account.database(params.dbId).collection(params.collId);
  if (collection.read()) {
    const partition = requestPartition(req, params.docId);
    if (!collection.document(params.docId, partition).read()) {
      res.statusCode = 404;
      return { code: "NotFound", message: "Entity with the specified id does not exist in the system." };
    }
  }
  return originalRead(account, req, res, params);
};

// Patch 5: a query sent with a partition key runs in that partition only.
//
// The real service runs a query that carries `x-ms-documentdb-partitionkey` against that
// logical partition alone, whatever the query text says. The server ignores the header:
// it runs the query over the whole container, and refuses it (400 "missing partition
// keys") unless the text itself filters on the partition key path. The patched handler
// runs the query over a view of the container that holds only the documents of the
// header's partition.
const queryModule = require(`${lib}/handler/query-documents`);
const readItems = require(`${lib}/handler/_read-items`).default;
queryModule.default = async (account, req, res, { dbId, collId }) =>
  readItems(req, res, "Documents", async ({ continuation, maxItemCount }) => {
    const body = await readJson(req);
    if (!body.query) {
      res.statusCode = 400;
      return { message: "missing query" };
    }
    const collection = account.database(dbId).collection(collId);
    if (!collection.read()) {
      return null; // 404
    }
    const documents = collection.documents;
    const partition = requestPartition(req, undefined);
    let view = documents;
    if (partition !== undefined) {
      view = Object.create(documents);
      view._data = new Map(
        [...documents._data].filter(([, item]) => documents._getPartition(item.read()) === partition),
      );
    }
    try {
      return Items.prototype.query.call(view, body, { continuation, maxItemCount });
    } catch (err) {
      if (err.badRequest) {
        res.statusCode = 400;
        return { message: err.message };
      }
      throw err;
    }
  });

const { createHttpsServer } = require(lib);

const port = Number.parseInt(process.argv[2] || "8081", 10);
const host = process.argv[3] || "127.0.0.1";
const server = createHttpsServer({ keepAlive: true });

// Not patches: test hooks under /_metakv/, which the real service does not have.
// - `GET /_metakv/requests` answers `{"count": n}`, the number of requests served so far
//   (hooks not included): for the tests that prove one request per operation.
// - `POST /_metakv/throttle?count=N&retry_after_ms=M` answers the next N requests with 429
//   (sub-status 3200, `x-ms-retry-after-ms: M`), as the real service does when a partition's
//   throughput is exhausted: for the test of the SDK's retries and the `Throttled` error.
let requests = 0;
let throttle = { count: 0, retryAfterMs: 0 };
const [serve] = server.listeners("request");
server.removeAllListeners("request");
server.on("request", (req, res) => {
  const url = new URL(req.url, "https://localhost");
  if (url.pathname === "/_metakv/rbac" && req.method === "POST") {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const { dataActions } = JSON.parse(Buffer.concat(chunks).toString() || "{}");
      rbac.set(url.searchParams.get("db"), dataActions || []);
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ db: url.searchParams.get("db"), dataActions }));
    });
    return;
  }
  if (url.pathname.startsWith("/_metakv/")) {
    if (req.method === "POST" && url.pathname === "/_metakv/throttle") {
      throttle = {
        count: Number.parseInt(url.searchParams.get("count") || "0", 10),
        retryAfterMs: Number.parseInt(url.searchParams.get("retry_after_ms") || "0", 10),
      };
    }
    req.resume();
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ count: requests }));
    return;
  }
  requests += 1;
  const segments = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  if (segments[0] === "dbs" && segments[1] !== undefined && rbac.has(segments[1])) {
    const action = requiredAction(req, segments);
    if (action !== "batch" && (action === null || !rbacAllows(segments[1], action))) {
      req.resume();
      const body = rbacDeny(res, action || `(none: ${req.method} ${url.pathname} is the control plane's)`);
      res.end(JSON.stringify(body));
      return;
    }
  }
  if (throttle.count > 0) {
    throttle.count -= 1;
    req.resume();
    res.statusCode = 429;
    res.setHeader("content-type", "application/json");
    res.setHeader("x-ms-substatus", "3200");
    res.setHeader("x-ms-retry-after-ms", String(throttle.retryAfterMs));
    res.setHeader("x-ms-request-charge", "0");
    res.setHeader("x-ms-activity-id", "00000000-0000-0000-0000-000000000429");
    res.end(JSON.stringify({ code: "TooManyRequests", message: "Request rate is large." }));
    return;
  }
  serve(req, res);
});
server.listen(port, host, () => {
  process.stdout.write(`listening ${host}:${port}\n`);
});
// Everything is in memory: nothing to flush, and open keep-alive connections must not delay
// the exit.
const stop = () => process.exit(0);
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
