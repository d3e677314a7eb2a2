package clickhouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/pressly/goose/v3/database"
)

// versionTable is goose's version table, in the migrated database.
const versionTable = "goose_db_version"

// versionStore is goose's version table for Touchstream. On a single node
// goose's own ClickHouse store is used; on a cluster goose's store would
// create a plain MergeTree table on the one node migrate talks to, so a
// later run through another node would see no versions. versionStore
// instead creates the table ON CLUSTER as a ReplicatedMergeTree with one
// replica on every node of every shard (one ZooKeeper path for the whole
// cluster), and before each read runs SYSTEM SYNC REPLICA ... LIGHTWEIGHT so
// the node it reads from has every version row written through any other
// (goose's doc/dialect-clickhouse.md, "Appendix: SYSTEM SYNC REPLICA via a
// custom Store").
type versionStore struct {
	create string // the CREATE TABLE statement
	sync   bool   // SYSTEM SYNC REPLICA before reads
}

var _ database.StoreExtender = (*versionStore)(nil)

// clusterVersionTableSQL is the CREATE TABLE of goose_db_version on a
// cluster: goose's columns, replicated across every node. The replica name
// includes {shard} so that replica names that repeat across shards (r1, r2
// on every shard) stay unique.
func clusterVersionTableSQL(cluster, database string) string {
	r := clusterRewriter{cluster: cluster, database: database}
	return "CREATE TABLE IF NOT EXISTS " + r.qualified(versionTable) + r.onCluster() + ` (
    version_id Int64,
    is_applied UInt8,
    date Date DEFAULT now(),
    tstamp DateTime DEFAULT now()
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/all/{database}/{table}', '{shard}-{replica}')
ORDER BY version_id`
}

func newClusterVersionStore(cluster, database string) *versionStore {
	return &versionStore{create: clusterVersionTableSQL(cluster, database), sync: true}
}

func (s *versionStore) Tablename() string { return versionTable }

func (s *versionStore) CreateVersionTable(ctx context.Context, db database.DBTxConn) error {
	_, err := db.ExecContext(ctx, s.create)
	return err
}

func (s *versionStore) Insert(ctx context.Context, db database.DBTxConn, req database.InsertRequest) error {
	_, err := db.ExecContext(ctx, `INSERT INTO `+versionTable+` (version_id, is_applied) VALUES ($1, 1)`, req.Version)
	return err
}

func (s *versionStore) Delete(ctx context.Context, db database.DBTxConn, version int64) error {
	_, err := db.ExecContext(ctx,
		`ALTER TABLE `+versionTable+` DELETE WHERE version_id = $1 SETTINGS mutations_sync = 2`, version)
	return err
}

// syncReplica waits until this node's replica of the version table has
// fetched every row written on any other replica.
func (s *versionStore) syncReplica(ctx context.Context, db database.DBTxConn) error {
	if !s.sync {
		return nil
	}
	if _, err := db.ExecContext(ctx, "SYSTEM SYNC REPLICA "+versionTable+" LIGHTWEIGHT"); err != nil {
		return fmt.Errorf("sync %s: %w", versionTable, err)
	}
	return nil
}

func (s *versionStore) GetMigration(ctx context.Context, db database.DBTxConn, version int64) (*database.GetMigrationResult, error) {
	if err := s.syncReplica(ctx, db); err != nil {
		return nil, err
	}
	var res database.GetMigrationResult
	err := db.QueryRowContext(ctx,
		`SELECT tstamp, is_applied FROM `+versionTable+` WHERE version_id = $1 ORDER BY tstamp DESC LIMIT 1`, version).
		Scan(&res.Timestamp, &res.IsApplied)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %d", database.ErrVersionNotFound, version)
	}
	if err != nil {
		return nil, err
	}
	return &res, nil
}

func (s *versionStore) GetLatestVersion(ctx context.Context, db database.DBTxConn) (int64, error) {
	if err := s.syncReplica(ctx, db); err != nil {
		return -1, err
	}
	var rows uint64
	var latest int64
	if err := db.QueryRowContext(ctx, `SELECT count(), max(version_id) FROM `+versionTable).Scan(&rows, &latest); err != nil {
		return -1, err
	}
	if rows == 0 {
		return -1, database.ErrVersionNotFound
	}
	return latest, nil
}

func (s *versionStore) ListMigrations(ctx context.Context, db database.DBTxConn) ([]*database.ListMigrationsResult, error) {
	if err := s.syncReplica(ctx, db); err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `SELECT version_id, is_applied FROM `+versionTable+` ORDER BY version_id DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*database.ListMigrationsResult
	for rows.Next() {
		var r database.ListMigrationsResult
		if err := rows.Scan(&r.Version, &r.IsApplied); err != nil {
			return nil, err
		}
		out = append(out, &r)
	}
	return out, rows.Err()
}

func (s *versionStore) TableExists(ctx context.Context, db database.DBTxConn) (bool, error) {
	var n uint64
	err := db.QueryRowContext(ctx,
		`SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = $1`, versionTable).Scan(&n)
	return n > 0, err
}
