{{#db}}
package db

import (
	"context"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	u, err := ParseURL("postgres://app:s3cret-pw@db.internal:5432/{{service.ident}}?sslmode=require")
	if err != nil {
		t.Fatalf("valid URL refused: %v", err)
	}
	if r := Redacted(u); strings.Contains(r, "s3cret-pw") {
		t.Errorf("Redacted kept the password: %s", r)
	}
	for _, bad := range []string{"", "mysql://db/x", "postgres:///x", "::"} {
		_, err := ParseURL(bad)
		if err == nil {
			t.Errorf("ParseURL(%q) accepted", bad)
		} else if bad != "" && strings.Contains(err.Error(), bad) {
			t.Errorf("error repeats the URL: %v", err)
		}
	}
}

func TestMigrateHonoursContext(t *testing.T) {
	u, _ := ParseURL("postgres://db.internal/x")
	if err := Migrate(context.Background(), u); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Migrate(ctx, u); err == nil {
		t.Error("Migrate ran on a cancelled context")
	}
}
{{/db}}
