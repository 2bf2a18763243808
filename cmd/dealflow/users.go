package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"dealflow/activities/store"
)

const usersUsage = `Usage:
  dealflow users create -id ID -name NAME [-email EMAIL] [-roles ROLE,...]
  dealflow users token  -id ID [-name TOKEN_NAME]
  dealflow users list

create adds a user and prints their first API token; token issues another one
(tokens are shown once: only their hashes are stored); list shows every user.
Roles: ` + "admin, pmo, commercial, solution, approver, director, viewer" + `.
Each subcommand takes -database-url ($DATABASE_URL); -h shows its flags.
`

func runUsers(ctx context.Context, args []string, env lookupEnvFunc, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usersUsage)
		return usageErrorf("users: which one? create, token or list")
	}
	switch args[0] {
	case "create":
		return runUsersCreate(ctx, args[1:], env, stdout, stderr)
	case "token":
		return runUsersToken(ctx, args[1:], env, stdout, stderr)
	case "list":
		return runUsersList(ctx, args[1:], env, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usersUsage)
		return nil
	}
	fmt.Fprint(stderr, usersUsage)
	return usageErrorf("users: unknown subcommand %q", args[0])
}

func runUsersCreate(ctx context.Context, args []string, env lookupEnvFunc, stdout, stderr io.Writer) error {
	b := newFlagSet("users create", "-id ID -name NAME [-email EMAIL] [-roles ROLE,...] [flags]",
		"Adds a user and prints an API token for them. The token is shown only now.",
		stderr, "database-url", "log-level", "log-format")
	id := b.fs.String("id", "", "user id: lowercase letters, digits, '.', '_' or '-' (required)")
	name := b.fs.String("name", "", "the person's name (required)")
	email := b.fs.String("email", "", "email address")
	roles := b.fs.String("roles", "", "comma-separated roles: "+rolesList())
	tokenName := b.fs.String("token-name", "created with the user", "a note on the token, e.g. where it is used")
	cfg, err := b.parse(args, env)
	if err != nil {
		return err
	}
	if *id == "" || *name == "" {
		b.fs.Usage()
		return usageErrorf("users create: -id and -name are required")
	}
	rs, err := parseRoles(*roles)
	if err != nil {
		return err
	}
	st, err := openUsersStore(ctx, cfg, b)
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := st.CreateUser(ctx, store.User{ID: *id, Name: *name, Email: *email, Roles: rs})
	if err != nil {
		return userError(err)
	}
	token, err := st.CreateToken(ctx, u.ID, *tokenName)
	if err != nil {
		return fmt.Errorf("user %s was created, but issuing the token failed (run `dealflow users token -id %s`): %w", u.ID, u.ID, err)
	}
	fmt.Fprintf(stdout, "created user %s (%s), roles %s\n", u.ID, u.Name, joinRoles(u.Roles))
	printToken(stdout, token)
	return nil
}

func runUsersToken(ctx context.Context, args []string, env lookupEnvFunc, stdout, stderr io.Writer) error {
	b := newFlagSet("users token", "-id ID [-name TOKEN_NAME] [flags]",
		"Issues another API token for a user. The token is shown only now.",
		stderr, "database-url", "log-level", "log-format")
	id := b.fs.String("id", "", "user id (required)")
	tokenName := b.fs.String("name", "", "a note on the token, e.g. where it is used")
	cfg, err := b.parse(args, env)
	if err != nil {
		return err
	}
	if *id == "" {
		b.fs.Usage()
		return usageErrorf("users token: -id is required")
	}
	st, err := openUsersStore(ctx, cfg, b)
	if err != nil {
		return err
	}
	defer st.Close()
	token, err := st.CreateToken(ctx, *id, *tokenName)
	if err != nil {
		return userError(err)
	}
	printToken(stdout, token)
	return nil
}

func runUsersList(ctx context.Context, args []string, env lookupEnvFunc, stdout, stderr io.Writer) error {
	b := newFlagSet("users list", "[flags]", "Lists every user, disabled ones included.",
		stderr, "database-url", "log-level", "log-format")
	cfg, err := b.parse(args, env)
	if err != nil {
		return err
	}
	st, err := openUsersStore(ctx, cfg, b)
	if err != nil {
		return err
	}
	defer st.Close()
	users, err := st.ListUsers(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tEMAIL\tROLES\tSTATUS")
	for _, u := range users {
		status := "active"
		if u.Disabled() {
			status = "disabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.ID, u.Name, orDash(u.Email), joinRoles(u.Roles), status)
	}
	return tw.Flush()
}

// openUsersStore checks the common arguments and opens the store.
func openUsersStore(ctx context.Context, cfg *Config, b *binding) (*store.Store, error) {
	if b.fs.NArg() > 0 {
		return nil, usageErrorf("%s: unexpected arguments %q (flags go before them?)", b.fs.Name(), b.fs.Args())
	}
	if err := cfg.requireDatabaseURL(); err != nil {
		return nil, err
	}
	return openStore(ctx, cfg)
}

func parseRoles(s string) ([]store.Role, error) {
	var out []store.Role
	for _, r := range strings.Split(s, ",") {
		r = strings.ToLower(strings.TrimSpace(r))
		if r == "" {
			continue
		}
		role := store.Role(r)
		known := false
		for _, k := range store.Roles {
			known = known || k == role
		}
		if !known {
			return nil, usageErrorf("unknown role %q: use %s", r, rolesList())
		}
		out = append(out, role)
	}
	return out, nil
}

func rolesList() string { return joinRoles(store.Roles) }

func joinRoles(rs []store.Role) string {
	if len(rs) == 0 {
		return "-"
	}
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = string(r)
	}
	return strings.Join(names, ",")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func printToken(w io.Writer, token string) {
	fmt.Fprintf(w, "API token (shown once; keep it secret):\n  %s\n", token)
}

// userError turns the store's input errors into usage errors (exit 2) and
// says plainly what a duplicate or a missing user means.
func userError(err error) error {
	var ie *store.InputError
	switch {
	case errors.As(err, &ie):
		return usageErrorf("%s", ie.Message)
	case errors.Is(err, store.ErrDuplicate):
		return fmt.Errorf("that user id or email is taken: %w", err)
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("no such user: %w", err)
	}
	return err
}
