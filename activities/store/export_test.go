package store

// LoadMigrations exposes the migration loader to tests of file naming.
var LoadMigrations = loadMigrations
