package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// Migration is one step of the schema, read from the dialect's migrations.
type Migration struct {
	Version int    // the NNNN of the file name
	Name    string // the file name
	SQL     string
}

// Migrations returns the dialect's migrations in order. File names must
// start with a positive number followed by "_" and end in ".sql"; two files
// with the same number are an error.
func (d *DB) Migrations() ([]Migration, error) {
	if d.dialect.Migrations == nil {
		return nil, fmt.Errorf("sqlstore: %s dialect has no migrations", d.dialect.Name)
	}
	entries, err := fs.ReadDir(d.dialect.Migrations, ".")
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read migrations: %w", err)
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("sqlstore: migration %q: name must look like 0001_description.sql", name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("sqlstore: migrations %q and %q have the same number", other, name)
		}
		seen[v] = name
		body, err := fs.ReadFile(d.dialect.Migrations, name)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: read migration %q: %w", name, err)
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Migrate brings the schema up to date: it applies, in order, each
// migration not yet recorded in the schema_migrations table, each in its own
// transaction together with its record (and its data upgrade, see goSteps).
// It is idempotent and safe to run from several processes at once.
func (d *DB) Migrate(ctx context.Context) error {
	_, err := d.MigrateNotes(ctx)
	return err
}

// MigrateNotes is Migrate, returning what the data upgrades changed, one
// line per change, for the log (the audit trail records the same).
func (d *DB) MigrateNotes(ctx context.Context) ([]string, error) {
	return d.MigrateTo(ctx, 0)
}

// MigrateTo is MigrateNotes up to the version last (0: every migration);
// tests use it to build a database of an older version and upgrade it.
func (d *DB) MigrateTo(ctx context.Context, last int) ([]string, error) {
	if d.tx != nil {
		return nil, errors.New("sqlstore: migrate: not inside a transaction")
	}
	migrations, err := d.Migrations()
	if err != nil {
		return nil, err
	}
	var notes []string
	const createTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version BIGINT PRIMARY KEY,
	name TEXT NOT NULL,
	applied_at BIGINT NOT NULL
)`
	err = d.inTx(ctx, func(tx *DB) error {
		if err := tx.migrationLock(ctx); err != nil {
			return err
		}
		_, err := tx.tx.ExecContext(ctx, createTable)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: create schema_migrations: %w", err)
	}
	for _, m := range migrations {
		if last > 0 && m.Version > last {
			break
		}
		var stepNotes []string
		err := d.inTx(ctx, func(tx *DB) error {
			stepNotes = nil
			if err := tx.migrationLock(ctx); err != nil {
				return err
			}
			var one int
			err := tx.tx.QueryRowContext(ctx, `SELECT 1 FROM schema_migrations WHERE version = $1`, m.Version).Scan(&one)
			if err == nil {
				return nil // applied already
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if _, err := tx.tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			if step := goSteps[m.Version]; step != nil {
				if stepNotes, err = step(ctx, tx); err != nil {
					return err
				}
			}
			_, err = tx.tx.ExecContext(ctx,
				`INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.Version, m.Name, toNanos(tx.now()))
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("sqlstore: apply migration %s: %w", m.Name, err)
		}
		notes = append(notes, stepNotes...)
	}
	return notes, nil
}

// SchemaVersion returns the highest migration applied, 0 when none.
func (d *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := d.reader().QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: schema version: %w", err)
	}
	return int(v.Int64), nil
}

func (d *DB) migrationLock(ctx context.Context) error {
	if d.dialect.MigrationLock == "" {
		return nil
	}
	_, err := d.tx.ExecContext(ctx, d.dialect.MigrationLock)
	return err
}
