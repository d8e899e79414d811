// The storage layer's public surface for the rest of the server.
export { openNodeStore, type NodeStore, type OpenNodeStoreOptions } from "./node-store.ts";
export { SqliteStore, StorageCommitError, type CommitStats, type OpenStoreOptions } from "./sqlite-store.ts";
export { DataDirMismatchError, type StoreIdentity } from "./identity.ts";
export { DataDirLockedError, DATABASE_FILE } from "./open-database.ts";
export { SchemaTooNewError, SCHEMA_VERSION } from "./migrations.ts";
