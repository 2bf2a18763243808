package store_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"dealflow/activities/store"
)

func TestLoadMigrationsOrdersByNumber(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0010_ten.sql": {Data: []byte("SELECT 10")},
		"m/0002_two.sql": {Data: []byte("SELECT 2")},
		"m/0001_one.sql": {Data: []byte("SELECT 1")},
	}
	ms, err := store.LoadMigrations(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, m := range ms {
		got = append(got, m.Version)
	}
	if len(got) != 3 || got[0] != 1 || got[1] != 2 || got[2] != 10 {
		t.Errorf("order %v, want [1 2 10]", got)
	}
}

func TestLoadMigrationsRejectsBadFiles(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"must be named": {"m/init.sql": {Data: []byte("x")}},
		"two migrations have version 1": {
			"m/0001_a.sql": {Data: []byte("x")},
			"m/001_b.sql":  {Data: []byte("x")},
		},
	} {
		_, err := store.LoadMigrations(fsys, "m")
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error %v, want one saying %q", err, name)
		}
	}
}
