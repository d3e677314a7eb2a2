package clickhouse

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"testing/fstest"
)

// The cluster form of the schema is not a second copy of it: it is derived
// from sql/migrations, statement by statement, by clusterRewriter. The rules
// (sql/README.md, "Cluster") are:
//
//   - CREATE TABLE t (...) ENGINE = XMergeTree(args) ... becomes the local
//     table t_local, created ON CLUSTER with ReplicatedXMergeTree(
//     '/clickhouse/tables/{shard}/{database}/{table}', '{replica}', args)
//     and the same columns, keys and settings
//     (non_replicated_deduplication_window becomes
//     replicated_deduplication_window), plus the Distributed table t over
//     t_local, sharded by cityHash64(visitor_id). Every table must have a
//     visitor_id column, except the two kinds below.
//   - CREATE TABLE t AS src ENGINE = XMergeTree(args) ... (src's columns
//     under another engine clause) becomes t_local ON CLUSTER AS
//     src_local with the replicated engine, as above, plus the
//     Distributed table t sharded by cityHash64(visitor_id).
//   - EXCHANGE TABLES a AND b exchanges a_local and b_local ON CLUSTER.
//     The Distributed tables a and b read their local tables by name, so
//     they follow. (A replicated table keeps the replication path it was
//     created with: ClickHouse unfolds {database} and {table} on CREATE.)
//   - CREATE [OR REPLACE] VIEW v and DROP VIEW v run ON CLUSTER as they are:
//     their queries read the Distributed tables.
//   - DROP TABLE t drops t and t_local ON CLUSTER.
//   - ALTER TABLE t ... runs ON CLUSTER on t_local; when it starts with a
//     column command (ADD, DROP, MODIFY, RENAME, COMMENT or CLEAR COLUMN) it
//     runs on the Distributed table t too, unless it is one MODIFY COLUMN
//     c CODEC(...) or REMOVE CODEC: a codec is how parts are stored, and a
//     Distributed table stores none.
//   - A ReplacingMergeTree table without a visitor_id (rejected_events: a
//     dead letter may have no visitor) is sharded by cityHash64 of its
//     sorting key instead: rows replace each other only when their sorting
//     keys are equal, so every version of a row lives on one shard and
//     FINAL is exact shard by shard.
//   - A rollup table (engine AggregatingMergeTree) needs no visitor_id: its
//     local table is filled on each shard by a materialized view, and its
//     Distributed table has no sharding key, so an INSERT through it fails
//     on a cluster of several shards instead of scattering rows. Reads are
//     exact wherever a row lives: they merge aggregate states.
//   - CREATE MATERIALIZED VIEW mv TO t AS SELECT ... FROM src (one source
//     table, no JOIN) becomes mv ON CLUSTER, TO t_local, FROM src_local:
//     every node's view sees the inserts into its own src_local and writes
//     its own t_local (a replicated insert, so replicas that receive the
//     source rows by replication do not count them again).
//   - INSERT INTO t [(columns)] SELECT ... FROM src (one source table, no
//     JOIN; a backfill) runs once, through the node migrate talks to, with
//     parallel_distributed_insert_select = 2: ClickHouse runs it on one
//     replica of every shard as INSERT INTO t_local SELECT ... FROM
//     src_local. It is the one statement without ON CLUSTER (INSERT has
//     none).
//   - Anything else (INSERT ... VALUES, a materialized view without TO, ...)
//     has no cluster form: rewriting fails with ErrNoClusterForm, so a new
//     kind of migration cannot be applied to a cluster until this file
//     learns it.

// LocalSuffix is appended to a table's name to name its replicated local
// table in cluster mode: events_local holds a shard's rows of events.
const LocalSuffix = "_local"

// ShardingKey is the sharding expression of every Distributed table: a
// visitor's rows all live on one shard, so FINAL, ReplacingMergeTree and
// per-visitor queries (funnels, sessions) are correct shard by shard.
const ShardingKey = "cityHash64(visitor_id)"

// replicatedPath and replicatedReplica are the first two arguments of every
// Replicated*MergeTree engine of the cluster form: ClickHouse's standard
// macros, filled from each server's <macros> and the table's own names.
const (
	replicatedPath    = "/clickhouse/tables/{shard}/{database}/{table}"
	replicatedReplica = "{replica}"
)

// ErrNoClusterForm is returned when a migration statement has no rewrite
// for a cluster (see the rules above); the single-node form is unaffected.
var ErrNoClusterForm = errors.New("statement has no cluster form")

// clusterRewriter rewrites single-node statements into their ON CLUSTER
// form for one cluster and database.
type clusterRewriter struct {
	cluster, database string
}

// validIdent reports whether name is a plain ClickHouse identifier.
var validIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ident returns name as it is when it is a plain identifier, else quoted.
func ident(name string) string {
	if validIdent.MatchString(name) {
		return name
	}
	return quoteIdent(name)
}

// literal returns s as a ClickHouse string literal.
func literal(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(s) + "'"
}

func (r clusterRewriter) qualified(table string) string {
	return ident(r.database) + "." + ident(table)
}

func (r clusterRewriter) onCluster() string { return " ON CLUSTER " + ident(r.cluster) }

// namePattern matches a table or view name: plain or in backticks. A name
// qualified with a database is refused: migrations use the DSN's database.
const namePattern = "(`(?:[^`\\\\]|\\\\.)+`|[A-Za-z_][A-Za-z0-9_]*)"

var (
	createTableRE = regexp.MustCompile(`(?is)^CREATE\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?` + namePattern + `\s*\(`)
	createAsRE    = regexp.MustCompile(`(?is)^CREATE\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?` + namePattern + `\s+AS\s+` + namePattern + `\s+(ENGINE\b.*)$`)
	exchangeRE    = regexp.MustCompile(`(?is)^EXCHANGE\s+TABLES\s+` + namePattern + `\s+AND\s+` + namePattern + `$`)
	engineRE      = regexp.MustCompile(`(?is)^\s*ENGINE\s*=\s*([A-Za-z0-9_]+)\s*`)
	createViewRE  = regexp.MustCompile(`(?is)^(CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?)` + namePattern + `(\s+AS\b.*)$`)
	dropRE        = regexp.MustCompile(`(?is)^DROP\s+(TABLE|VIEW)\s+(IF\s+EXISTS\s+)?` + namePattern + `\s*(SYNC)?$`)
	alterRE       = regexp.MustCompile(`(?is)^ALTER\s+TABLE\s+` + namePattern + `\s+(.*)$`)
	columnCmdRE   = regexp.MustCompile(`(?i)^(ADD|DROP|MODIFY|RENAME|COMMENT|CLEAR)\s+COLUMN\b`)
	codecOnlyRE   = regexp.MustCompile(`(?is)^MODIFY\s+COLUMN\s+` + namePattern + `\s+(CODEC\s*\(.*\)|REMOVE\s+CODEC)$`)
	createMVRE    = regexp.MustCompile(`(?is)^CREATE\s+MATERIALIZED\s+VIEW\s+(IF\s+NOT\s+EXISTS\s+)?` + namePattern + `\s+TO\s+` + namePattern + `\s+AS\s+(SELECT\b.*)$`)
	insertRE      = regexp.MustCompile(`(?is)^INSERT\s+INTO\s+(?:TABLE\s+)?` + namePattern + `\s*(\([^()]*\))?\s*(SELECT\b.*)$`)
	fromRE        = regexp.MustCompile(`(?i)\bFROM\s+` + namePattern + `(\s+FINAL\b)?`)
	keywordRE     = regexp.MustCompile(`(?i)\b(FROM|JOIN|UNION|SETTINGS)\b`)
	visitorColRE  = regexp.MustCompile("(?m)^[\\s(,]*`?visitor_id`?\\s")
	dedupWindowRE = regexp.MustCompile(`\bnon_replicated_deduplication_window\b`)
)

// unquote returns the name a namePattern match stands for.
func unquote(name string) string {
	if strings.HasPrefix(name, "`") {
		name = strings.TrimSuffix(strings.TrimPrefix(name, "`"), "`")
		return strings.NewReplacer("\\`", "`", `\\`, `\`).Replace(name)
	}
	return name
}

// Statement rewrites one single-node statement (without its trailing
// semicolon) into the statements of its cluster form.
func (r clusterRewriter) Statement(stmt string) ([]string, error) {
	stmt = strings.TrimSpace(stmt)
	if m := createTableRE.FindStringSubmatchIndex(stmt); m != nil {
		return r.createTable(stmt, m)
	}
	if m := createAsRE.FindStringSubmatch(stmt); m != nil {
		return r.createTableAs(m)
	}
	if m := exchangeRE.FindStringSubmatch(stmt); m != nil {
		return []string{"EXCHANGE TABLES " + r.qualified(unquote(m[1])+LocalSuffix) + " AND " +
			r.qualified(unquote(m[2])+LocalSuffix) + r.onCluster()}, nil
	}
	if m := createMVRE.FindStringSubmatch(stmt); m != nil {
		return r.materializedView(m)
	}
	if m := insertRE.FindStringSubmatch(stmt); m != nil {
		return r.insertSelect(m)
	}
	if m := createViewRE.FindStringSubmatch(stmt); m != nil {
		return []string{m[1] + r.qualified(unquote(m[2])) + r.onCluster() + m[3]}, nil
	}
	if m := dropRE.FindStringSubmatch(stmt); m != nil {
		kind, ifExists, name := strings.ToUpper(m[1]), strings.ToUpper(strings.TrimSpace(m[2])), unquote(m[3])
		if ifExists != "" {
			ifExists = "IF EXISTS "
		}
		drop := func(n string) string {
			return "DROP " + kind + " " + ifExists + r.qualified(n) + r.onCluster() + " SYNC"
		}
		if kind == "VIEW" {
			return []string{drop(name)}, nil
		}
		return []string{drop(name), drop(name + LocalSuffix)}, nil
	}
	if m := alterRE.FindStringSubmatch(stmt); m != nil {
		name, commands := unquote(m[1]), m[2]
		out := []string{"ALTER TABLE " + r.qualified(name+LocalSuffix) + r.onCluster() + " " + commands}
		if columnCmdRE.MatchString(commands) && !codecOnlyRE.MatchString(commands) {
			out = append(out, "ALTER TABLE "+r.qualified(name)+r.onCluster()+" "+commands)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: %.60q", ErrNoClusterForm, stmt)
}

// createTable rewrites CREATE TABLE; m is createTableRE's match in stmt.
func (r clusterRewriter) createTable(stmt string, m []int) ([]string, error) {
	name := unquote(stmt[m[4]:m[5]])
	open := m[1] - 1
	end, err := closingParen(stmt, open)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", name, err)
	}
	columns := stmt[open : end+1]
	return r.replicated(m[2] >= 0, name, columns, visitorColRE.MatchString(columns[1:]), stmt[end+1:])
}

// createTableAs rewrites CREATE TABLE t AS src ENGINE = ...: a table with
// src's columns and an engine of its own (a copy of src under another
// sorting key, say); m is createAsRE's match. Its local table takes the
// columns of src_local, and its Distributed table shards by visitor_id
// (ClickHouse refuses it when src has no such column).
func (r clusterRewriter) createTableAs(m []string) ([]string, error) {
	return r.replicated(m[1] != "", unquote(m[2]), "AS "+r.qualified(unquote(m[3])+LocalSuffix), true, m[4])
}

// replicated returns the statements of the cluster form of a table name
// with the columns clause columns ("(...)" or "AS db.src_local"), whose
// engine clause and the rest of the statement is rest (ENGINE = ...).
// hasVisitor says whether the table has a visitor_id column to shard by.
func (r clusterRewriter) replicated(ifNotExists bool, name, columns string, hasVisitor bool, rest string) ([]string, error) {
	em := engineRE.FindStringSubmatchIndex(rest)
	if em == nil {
		return nil, fmt.Errorf("%w: table %s: no ENGINE = after the columns", ErrNoClusterForm, name)
	}
	engine := rest[em[2]:em[3]]
	if !strings.HasSuffix(engine, "MergeTree") || strings.HasPrefix(engine, "Replicated") {
		return nil, fmt.Errorf("%w: table %s: engine %s is not a single-node MergeTree", ErrNoClusterForm, name, engine)
	}
	shardingKey := ", " + ShardingKey
	switch {
	case hasVisitor:
	case engine == rollupEngine:
		shardingKey = "" // a rollup: written on each shard by its materialized view
	case engine == replacingEngine:
		key, ok := sortingKey(rest[em[1]:])
		if !ok {
			return nil, fmt.Errorf("%w: table %s has no visitor_id column and no ORDER BY to shard by", ErrNoClusterForm, name)
		}
		shardingKey = ", cityHash64(" + key + ")" // every version of a row on one shard
	default:
		return nil, fmt.Errorf("%w: table %s has no visitor_id column to shard by", ErrNoClusterForm, name)
	}
	rest = rest[em[1]:]
	args := ""
	if strings.HasPrefix(rest, "(") {
		argsEnd, err := closingParen(rest, 0)
		if err != nil {
			return nil, fmt.Errorf("table %s engine: %w", name, err)
		}
		args = strings.TrimSpace(rest[1:argsEnd])
		rest = rest[argsEnd+1:]
	}
	engineArgs := literal(replicatedPath) + ", " + literal(replicatedReplica)
	if args != "" {
		engineArgs += ", " + args
	}
	rest = dedupWindowRE.ReplaceAllString(strings.TrimSpace(rest), "replicated_deduplication_window")
	ine := ""
	if ifNotExists {
		ine = "IF NOT EXISTS "
	}
	local := name + LocalSuffix
	create := "CREATE TABLE " + ine + r.qualified(local) + r.onCluster() + "\n" + columns +
		"\nENGINE = Replicated" + engine + "(" + engineArgs + ")"
	if rest != "" {
		create += "\n" + rest
	}
	distributed := "CREATE TABLE " + ine + r.qualified(name) + r.onCluster() +
		"\nAS " + r.qualified(local) +
		"\nENGINE = Distributed(" + literal(r.cluster) + ", " + literal(r.database) + ", " +
		literal(local) + shardingKey + ")"
	return []string{create, distributed}, nil
}

// rollupEngine is the engine of a rollup table: its rows are aggregate
// states, filled by a materialized view (see materializedView).
const rollupEngine = "AggregatingMergeTree"

// replacingEngine is the engine whose tables without a visitor_id (dead
// letters) are sharded by their sorting key: ReplacingMergeTree replaces
// rows with equal sorting keys, so hashing the key puts every version of a
// row on one shard and FINAL stays exact.
const replacingEngine = "ReplacingMergeTree"

// orderByRE finds the ORDER BY clause after a table's engine.
var orderByRE = regexp.MustCompile(`(?is)\bORDER\s+BY\s+`)

// sortingKey returns the expressions of the ORDER BY clause in rest (the
// text after ENGINE = X), without the parentheses of a tuple: "a, b" for
// ORDER BY (a, b), "a" for ORDER BY a. ok is false without one, or for
// ORDER BY tuple().
func sortingKey(rest string) (key string, ok bool) {
	m := orderByRE.FindStringIndex(rest)
	if m == nil {
		return "", false
	}
	rest = rest[m[1]:]
	if strings.HasPrefix(rest, "(") {
		end, err := closingParen(rest, 0)
		if err != nil {
			return "", false
		}
		key = strings.TrimSpace(rest[1:end])
	} else {
		key, _, _ = strings.Cut(rest, "\n")
		key = strings.TrimSpace(strings.Fields(key + " ")[0])
	}
	return key, key != "" && !strings.EqualFold(key, "tuple()")
}

// singleSource returns the one table a SELECT reads (a plain name after its
// only FROM) and the index pair of that name in sel; ok is false for a
// SELECT with a JOIN, a UNION, a subquery, a SETTINGS clause, FINAL or a
// second FROM, which the rules below do not handle.
func singleSource(sel string) (name string, at []int, ok bool) {
	keywords := keywordRE.FindAllString(sel, -1)
	if len(keywords) != 1 || !strings.EqualFold(keywords[0], "FROM") {
		return "", nil, false
	}
	m := fromRE.FindStringSubmatchIndex(sel)
	if m == nil || m[4] >= 0 {
		return "", nil, false
	}
	return unquote(sel[m[2]:m[3]]), m[2:4], true
}

// materializedView rewrites CREATE MATERIALIZED VIEW mv TO t AS SELECT ...
// FROM src; m is createMVRE's match. The view runs on every node: it reads
// src_local, the rows inserted on that node, and writes t_local there.
func (r clusterRewriter) materializedView(m []string) ([]string, error) {
	view, target, sel := unquote(m[2]), unquote(m[3]), m[4]
	src, at, ok := singleSource(sel)
	if !ok {
		return nil, fmt.Errorf("%w: materialized view %s: its SELECT must read one table with one FROM, no JOIN, UNION, subquery, FINAL or SETTINGS", ErrNoClusterForm, view)
	}
	ifNotExists := ""
	if m[1] != "" {
		ifNotExists = "IF NOT EXISTS "
	}
	sel = sel[:at[0]] + r.qualified(src+LocalSuffix) + sel[at[1]:]
	return []string{"CREATE MATERIALIZED VIEW " + ifNotExists + r.qualified(view) + r.onCluster() +
		" TO " + r.qualified(target+LocalSuffix) + " AS\n" + sel}, nil
}

// parallelInsertSetting makes an INSERT INTO a Distributed table SELECT
// FROM another Distributed table of the same cluster run on every shard,
// local table to local table (ClickHouse's parallel_distributed_insert_select).
const parallelInsertSetting = "parallel_distributed_insert_select = 2"

// insertSelect rewrites INSERT INTO t [(columns)] SELECT ... FROM src, a
// backfill; m is insertRE's match. It runs once, on the node migrate talks
// to, and ClickHouse runs it on one replica of each shard as INSERT INTO
// t_local SELECT ... FROM src_local, so every shard backfills its own rows
// (t and src must be Distributed tables of the same cluster, as the CREATE
// TABLE rule makes them). INSERT has no ON CLUSTER clause.
func (r clusterRewriter) insertSelect(m []string) ([]string, error) {
	table, columns, sel := unquote(m[1]), m[2], m[3]
	src, at, ok := singleSource(sel)
	if !ok {
		return nil, fmt.Errorf("%w: INSERT INTO %s: its SELECT must read one table with one FROM, no JOIN, UNION, subquery, FINAL or SETTINGS", ErrNoClusterForm, table)
	}
	sel = sel[:at[0]] + r.qualified(src) + sel[at[1]:]
	stmt := "INSERT INTO " + r.qualified(table)
	if columns != "" {
		stmt += " " + columns
	}
	return []string{stmt + "\nSETTINGS " + parallelInsertSetting + "\n" + sel}, nil
}

// closingParen returns the index of the parenthesis closing the one at
// s[open], skipping string literals, quoted identifiers and comments.
func closingParen(s string, open int) (int, error) {
	depth := 0
	for i := open; i < len(s); i++ {
		switch c := s[i]; c {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i, nil
			}
		case '\'', '"', '`':
			j := i + 1
			for ; j < len(s) && s[j] != c; j++ {
				if s[j] == '\\' {
					j++
				}
			}
			i = j
		case '-':
			if strings.HasPrefix(s[i:], "--") {
				for i < len(s) && s[i] != '\n' {
					i++
				}
			}
		}
	}
	return 0, errors.New("unbalanced parentheses")
}

// Migration rewrites the text of one goose SQL migration into its cluster
// form: annotations and comments are kept, each statement is replaced by
// its cluster statements (see Statement).
func (r clusterRewriter) Migration(text string) (string, error) {
	var out strings.Builder
	err := walkMigration(text, func(line string) { out.WriteString(line) }, func(_ bool, stmt string) error {
		rewritten, err := r.Statement(stmt)
		for _, s := range rewritten {
			out.WriteString(s + ";\n")
		}
		return err
	})
	return out.String(), err
}

// upStatements returns the statements of a goose migration's "up" part,
// without their trailing semicolons.
func upStatements(text string) ([]string, error) {
	var out []string
	err := walkMigration(text, func(string) {}, func(up bool, stmt string) error {
		if up {
			out = append(out, stmt)
		}
		return nil
	})
	return out, err
}

// walkMigration splits a goose SQL migration as goose does: a statement
// ends at a line ending with a semicolon, or at -- +goose StatementEnd. It
// calls stmt for each statement (trimmed, without its final semicolon;
// up says whether it is in the "up" part) and line for every line that is
// not part of a statement: annotations, comments and blank lines between
// statements.
func walkMigration(text string, line func(string), stmt func(up bool, stmt string) error) error {
	var cur strings.Builder
	inBlock, up := false, false
	flush := func() error {
		s := strings.TrimSpace(cur.String())
		cur.Reset()
		if s == "" {
			return nil
		}
		return stmt(up, strings.TrimSpace(strings.TrimSuffix(s, ";")))
	}
	for l := range strings.Lines(text) {
		trimmed := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(trimmed, "-- +goose"):
			switch strings.ToUpper(strings.TrimSpace(strings.TrimPrefix(trimmed, "-- +goose"))) {
			case "UP":
				up = true
			case "DOWN":
				up = false
			case "STATEMENTBEGIN":
				inBlock = true
			case "STATEMENTEND":
				inBlock = false
				if err := flush(); err != nil {
					return err
				}
			}
			line(trimmed + "\n")
		case cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "--")):
			line(l)
		default:
			cur.WriteString(l)
			if !inBlock && endsWithSemicolon(trimmed) {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		return errors.New("last statement does not end with a semicolon")
	}
	return nil
}

// endsWithSemicolon reports whether a line ends a statement: its text
// before a trailing "--" comment ends with ";" (goose's rule).
func endsWithSemicolon(line string) bool {
	if i := strings.Index(line, "--"); i >= 0 {
		line = line[:i]
	}
	return strings.HasSuffix(strings.TrimSpace(line), ";")
}

// ClusterMigrations returns the migrations of fsys (goose SQL files) in
// their cluster form for cluster and database, under the same file names,
// so goose applies and versions them as it does the single-node files.
func ClusterMigrations(fsys fs.FS, cluster, database string) (fs.FS, error) {
	if err := validateCluster(cluster); err != nil {
		return nil, err
	}
	r := clusterRewriter{cluster: cluster, database: database}
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	out := fstest.MapFS{}
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		text, err := r.Migration(string(b))
		if err != nil {
			return nil, fmt.Errorf("cluster form of %s: %w", path.Base(name), err)
		}
		out[name] = &fstest.MapFile{Data: []byte(text), Mode: 0o444}
	}
	return out, nil
}

// validateCluster checks a cluster name given on the command line.
func validateCluster(cluster string) error {
	if cluster == "" || strings.ContainsAny(cluster, "`'\\\n") {
		return fmt.Errorf("cluster name %q: want the name of a cluster in remote_servers", cluster)
	}
	return nil
}
