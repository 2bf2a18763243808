package cluster

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"text/template"
)

// Service names, as `temporal-server start --service` takes them.
const (
	Frontend = "frontend"
	History  = "history"
	Matching = "matching"
	Worker   = "worker"
)

// Services are the cluster's services in the order they are started.
var Services = []string{History, Matching, Frontend, Worker}

// Ports are one service's listening ports on 127.0.0.1.
type Ports struct {
	GRPC       int
	Membership int
}

// Config is what the server's configuration file is rendered from.
type Config struct {
	// Postgres holds both stores: databases PersistenceDB and VisibilityDB.
	PostgresHost  string
	PostgresPort  int
	PostgresUser  string
	PersistenceDB string
	VisibilityDB  string
	// MaxConns caps each store's connection pool in each service process.
	MaxConns int
	// NumHistoryShards is fixed for the life of the persistence store.
	NumHistoryShards int
	Ports            map[string]Ports
	// LogLevel of the services: debug, info, warn, error.
	LogLevel string
}

//go:embed server.yaml.tmpl
var serverConfigTemplate string

var serverConfig = template.Must(template.New("server.yaml").Option("missingkey=error").Parse(serverConfigTemplate))

// Render returns the server configuration file.
func (c Config) Render() ([]byte, error) {
	for _, s := range Services {
		if p := c.Ports[s]; p.GRPC == 0 || p.Membership == 0 {
			return nil, fmt.Errorf("cluster: no ports for the %s service", s)
		}
	}
	var b bytes.Buffer
	if err := serverConfig.Execute(&b, c); err != nil {
		return nil, fmt.Errorf("cluster: rendering the server config: %w", err)
	}
	return b.Bytes(), nil
}

// writeConfig writes <dir>/config/development.yaml, the file the server
// loads for --env development. There is no dynamic config: the cluster runs
// with the server's defaults.
func writeConfig(dir string, c Config) (configDir string, err error) {
	configDir = filepath.Join(dir, "config")
	if err := os.MkdirAll(configDir, 0o755); err != nil {
		return "", fmt.Errorf("cluster: %w", err)
	}
	b, err := c.Render()
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(configDir, "development.yaml"), b, 0o644); err != nil {
		return "", fmt.Errorf("cluster: %w", err)
	}
	return configDir, nil
}
