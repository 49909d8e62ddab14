{{#db}}
// Package db is the service's managed PostgreSQL (terraform/database.tf):
// the DATABASE_URL the platform gives it (from Secret {{service.name}}-db)
// and the migration that runs at start-up, before /readyz says ready.
//
// It never logs the URL with its password (use Redacted) and opens no
// connection yet: no PostgreSQL driver can be downloaded in this offline
// build. See Migrate for what to fill in.
package db

import (
	"context"
	"fmt"
	"net/url"
)

// ParseURL checks that s is a PostgreSQL URL
// (postgres://user:password@host:5432/name?sslmode=require).
func ParseURL(s string) (*url.URL, error) {
	if s == "" {
		return nil, fmt.Errorf("DATABASE_URL is not set")
	}
	u, err := url.Parse(s)
	if err != nil {
		// url's error repeats the input, password included.
		return nil, fmt.Errorf("DATABASE_URL is not a URL")
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return nil, fmt.Errorf("DATABASE_URL scheme %q: want postgres://", u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("DATABASE_URL has no host")
	}
	return u, nil
}

// Redacted is the URL with its password replaced, for logs.
func Redacted(u *url.URL) string { return u.Redacted() }

// Migrate brings the database schema up to date. It runs once at start-up,
// before the service says it is ready; the Deployment gives start-up 300 s
// (paved.dev/startup-seconds and the startupProbe), and the liveness probe
// never restarts a pod that is migrating.
//
// THIS IS THE STEP YOUR TEAM FILLS IN. The service is built offline with
// the standard library only, so there is no PostgreSQL driver here. Add
// one (github.com/jackc/pgx/v5/stdlib with database/sql, for example),
// then: open the database from u, take a lock so only one pod migrates at a
// time (SELECT pg_advisory_lock(...)), and apply the migrations not yet
// recorded in a schema_migrations table, each in its own transaction; or
// call a migration library such as github.com/pressly/goose. Until then
// Migrate applies nothing and returns nil.
func Migrate(ctx context.Context, u *url.URL) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	_ = u
	return nil
}
{{/db}}
