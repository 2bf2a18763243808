package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"dealflow/activities/store"
	"dealflow/workflows/deal"
	"dealflow/workflows/problem"
)

const usersUsage = `Usage:
  dealflow users create  -id ID -name NAME [-email EMAIL] [-roles ROLE,...]
  dealflow users token   -id ID [-name TOKEN_NAME] [-ttl 30d]
  dealflow users list
  dealflow users disable -id ID
  dealflow users enable  -id ID
  dealflow users roles   -id ID -roles ROLE,...
  dealflow users tokens  -id ID
  dealflow users revoke  -token TOKEN_ID

create adds a user and prints their first API token; token issues another one
(tokens are shown once: only their hashes are stored), expiring after -ttl if
given; list shows every user. disable refuses every token and console session
of the user from their next request on; enable lets their tokens that are
neither revoked nor expired work again. roles replaces the user's roles.
tokens lists a user's tokens (never their secrets); revoke revokes one by id.
The last active admin can be neither disabled nor lose the admin role.
Roles: ` + "admin, pmo, commercial, solution, approver, director, viewer" + `.
Each subcommand takes -database-url ($DATABASE_URL); -h shows its flags.
`

func runUsers(ctx context.Context, args []string, env lookupEnvFunc, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usersUsage)
		return usageErrorf("users: which one? create, token, list, disable, enable, roles, tokens or revoke")
	}
	switch args[0] {
	case "create":
		return runUsersCreate(ctx, args[1:], env, stdout, stderr)
	case "token":
		return runUsersToken(ctx, args[1:], env, stdout, stderr)
	case "list":
		return runUsersList(ctx, args[1:], env, stdout, stderr)
	case "disable", "enable":
		return runUsersDisable(ctx, args[0], args[1:], env, stdout, stderr)
	case "roles":
		return runUsersRoles(ctx, args[1:], env, stdout, stderr)
	case "tokens":
		return runUsersTokens(ctx, args[1:], env, stdout, stderr)
	case "revoke":
		return runUsersRevoke(ctx, args[1:], env, stdout, stderr)
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
	id := b.fs.String("id", "", "user id: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (required)")
	name := b.fs.String("name", "", "the person's name (required)")
	email := b.fs.String("email", "", "email address")
	roles := b.fs.String("roles", "", "comma-separated roles: "+rolesList())
	tokenName := b.fs.String("token-name", "created with the user", "a note on the token, e.g. where it is used")
	cfg, err := parseUsersFlags(b, args, env, "id", "name")
	if err != nil {
		return err
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
	b := newFlagSet("users token", "-id ID [-name TOKEN_NAME] [-ttl 30d] [flags]",
		"Issues another API token for a user. The token is shown only now.",
		stderr, "database-url", "log-level", "log-format")
	id := b.fs.String("id", "", "user id (required)")
	tokenName := b.fs.String("name", "", "a note on the token, e.g. where it is used")
	ttl := b.fs.String("ttl", "", "the token expires after this long (30d, 2w, 12h); default never")
	cfg, err := parseUsersFlags(b, args, env, "id")
	if err != nil {
		return err
	}
	var expires *time.Time
	if *ttl != "" {
		d, err := deal.ParseDuration(*ttl)
		if err != nil || d <= 0 {
			return usageErrorf("users token: -ttl %q is not a positive duration such as 30d or 12h", *ttl)
		}
		at := time.Now().Add(d.Std())
		expires = &at
	}
	st, err := openUsersStore(ctx, cfg, b)
	if err != nil {
		return err
	}
	defer st.Close()
	t, err := st.IssueToken(ctx, store.TokenRequest{UserID: *id, Name: *tokenName, ExpiresAt: expires})
	if err != nil {
		return userError(err)
	}
	fmt.Fprintf(stdout, "token %s for %s", t.ID, *id)
	if t.ExpiresAt != nil {
		fmt.Fprintf(stdout, ", expires %s", t.ExpiresAt.Format(time.RFC3339))
	}
	fmt.Fprintln(stdout)
	printToken(stdout, t.Token)
	return nil
}

// runUsersDisable disables (or, for "enable", enables) a user.
func runUsersDisable(ctx context.Context, verb string, args []string, env lookupEnvFunc, stdout, stderr io.Writer) error {
	what := "Disables a user: every token and console session of theirs is refused from its next request on."
	if verb == "enable" {
		what = "Enables a disabled user: their tokens that are neither revoked nor expired work again."
	}
	b := newFlagSet("users "+verb, "-id ID [flags]", what, stderr, "database-url", "log-level", "log-format")
	id := b.fs.String("id", "", "user id (required)")
	cfg, err := parseUsersFlags(b, args, env, "id")
	if err != nil {
		return err
	}
	st, err := openUsersStore(ctx, cfg, b)
	if err != nil {
		return err
	}
	defer st.Close()
	disabled := verb == "disable"
	u, err := st.UpdateUser(ctx, *id, store.UserPatch{Disabled: &disabled})
	if err != nil {
		return userError(err)
	}
	fmt.Fprintf(stdout, "user %s (%s) is %s\n", u.ID, u.Name, userStatus(u))
	return nil
}

func runUsersRoles(ctx context.Context, args []string, env lookupEnvFunc, stdout, stderr io.Writer) error {
	b := newFlagSet("users roles", "-id ID -roles ROLE,... [flags]",
		"Replaces a user's roles; they apply from the user's next request.",
		stderr, "database-url", "log-level", "log-format")
	id := b.fs.String("id", "", "user id (required)")
	roles := b.fs.String("roles", "", "comma-separated roles, all of them (required): "+rolesList())
	cfg, err := parseUsersFlags(b, args, env, "id", "roles")
	if err != nil {
		return err
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
	u, err := st.UpdateUser(ctx, *id, store.UserPatch{Roles: &rs})
	if err != nil {
		return userError(err)
	}
	fmt.Fprintf(stdout, "user %s (%s): roles %s\n", u.ID, u.Name, joinRoles(u.Roles))
	return nil
}

func runUsersTokens(ctx context.Context, args []string, env lookupEnvFunc, stdout, stderr io.Writer) error {
	b := newFlagSet("users tokens", "-id ID [flags]", "Lists a user's API tokens, oldest first (never their secrets).",
		stderr, "database-url", "log-level", "log-format")
	id := b.fs.String("id", "", "user id (required)")
	cfg, err := parseUsersFlags(b, args, env, "id")
	if err != nil {
		return err
	}
	st, err := openUsersStore(ctx, cfg, b)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.GetUser(ctx, *id); err != nil {
		return userError(err)
	}
	tokens, err := st.ListTokens(ctx, *id)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tCREATED\tBY\tLAST USED\tEXPIRES\tSTATUS")
	for _, t := range tokens {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, orDash(t.Name), t.CreatedAt.UTC().Format(time.RFC3339), orDash(t.CreatedBy),
			timeOrDash(t.LastUsedAt), timeOrDash(t.ExpiresAt), t.Status)
	}
	return tw.Flush()
}

func runUsersRevoke(ctx context.Context, args []string, env lookupEnvFunc, stdout, stderr io.Writer) error {
	b := newFlagSet("users revoke", "-token TOKEN_ID [flags]", "Revokes an API token by its id (see users tokens).",
		stderr, "database-url", "log-level", "log-format")
	id := b.fs.String("token", "", "the token's id, tok_… (required)")
	cfg, err := parseUsersFlags(b, args, env, "token")
	if err != nil {
		return err
	}
	st, err := openUsersStore(ctx, cfg, b)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.RevokeToken(ctx, *id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no such token: %w", err)
		}
		return err
	}
	fmt.Fprintf(stdout, "token %s is revoked\n", *id)
	return nil
}

func userStatus(u *store.User) string {
	if u.Disabled() {
		return "disabled"
	}
	return "active"
}

func timeOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.ID, u.Name, orDash(u.Email), joinRoles(u.Roles), userStatus(&u))
	}
	return tw.Flush()
}

// openUsersStore checks the common arguments and opens the store.
// parseUsersFlags parses a users subcommand's flags and checks that each
// flag named in required is set.
func parseUsersFlags(b *binding, args []string, env lookupEnvFunc, required ...string) (*Config, error) {
	cfg, err := b.parse(args, env)
	if err != nil {
		return nil, err
	}
	for _, name := range required {
		if strings.TrimSpace(b.fs.Lookup(name).Value.String()) == "" {
			b.fs.Usage()
			return nil, usageErrorf("%s: -%s is required", strings.TrimPrefix(b.fs.Name(), "dealflow "), name)
		}
	}
	return cfg, nil
}

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
	var (
		ie *store.InputError
		pe *problem.Error
	)
	switch {
	case errors.As(err, &ie):
		return usageErrorf("%s", ie.Message)
	case errors.As(err, &pe):
		return usageErrorf("%s", pe.Error())
	case errors.Is(err, store.ErrDuplicate):
		return fmt.Errorf("that user id or email is taken: %w", err)
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("no such user: %w", err)
	}
	return err
}
