package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// The files in deploy/ (Dockerfile, compose.yaml, k8s/) run this binary, so
// they must speak its language: every environment variable they give a
// dealflow container is a setting of the settings list, every subcommand
// exists, the probes ask /healthz and /readyz on the port the process
// listens on, and the grace periods outlast the shutdown. These tests check
// that, and TestDeployChecksCatchMistakes shows each check failing on a
// broken copy.

const deployDir = "../../deploy"

// deployImages are the image names the compose file and the manifests give
// dealflow (kustomize sets the registry and tag).
var deployImages = []string{"dealflow", "dealflow:dev"}

func settingByEnv(env string) *setting {
	for i := range settings {
		if settings[i].env == env {
			return &settings[i]
		}
	}
	return nil
}

func isSubcommand(name string) bool {
	for _, c := range commands() {
		if c.name == name && c.run != nil {
			return true
		}
	}
	return false
}

// dealflowEnvRE finds the names in the DEALFLOW_ family wherever they
// appear (keys, interpolations, comments): each must be a setting.
var dealflowEnvRE = regexp.MustCompile(`\bDEALFLOW_[A-Z0-9_]+\b`)

func checkDealflowNames(file, text string) []string {
	var problems []string
	seen := map[string]bool{}
	for _, name := range dealflowEnvRE.FindAllString(text, -1) {
		if !seen[name] && settingByEnv(name) == nil {
			problems = append(problems, fmt.Sprintf("%s: %s is not a dealflow setting", file, name))
		}
		seen[name] = true
	}
	return problems
}

// checkContainer checks one dealflow container: its subcommand, its
// environment (env: the effective environment, names and values, without
// the image's defaults) and, for worker and api, its listen port.
// listenPort is the port the orchestrator sends traffic and probes to, or
// 0 for none.
func checkContainer(where string, args []string, env map[string]string, imageEnv map[string]string) (problems []string, listenPort int) {
	if len(args) == 0 {
		return []string{where + ": no subcommand (the image's default is api; say it)"}, 0
	}
	sub := args[0]
	if !isSubcommand(sub) {
		problems = append(problems, fmt.Sprintf("%s: %q is not a dealflow subcommand", where, sub))
	}
	for name, v := range env {
		s := settingByEnv(name)
		if s == nil {
			problems = append(problems, fmt.Sprintf("%s: %s is not a dealflow setting", where, name))
			continue
		}
		if (v == "" && !s.allowEmpty) || strings.Contains(v, "CHANGE-ME") {
			continue // a placeholder to replace; dealflow refuses it
		}
		var c Config
		if err := s.set(&c, v); err != nil && !strings.Contains(v, "$") {
			if s.secret {
				v = "…" // not repeated, as dealflow does not
			}
			problems = append(problems, fmt.Sprintf("%s: %s=%q: %v", where, name, v, err))
		}
	}
	if (sub == "worker" || sub == "api" || sub == "migrate" || sub == "users") && env["DATABASE_URL"] == "" {
		problems = append(problems, fmt.Sprintf("%s: dealflow %s needs DATABASE_URL", where, sub))
	}
	listenEnv := map[string]string{"api": "DEALFLOW_LISTEN", "worker": "DEALFLOW_WORKER_LISTEN"}[sub]
	if listenEnv == "" {
		return problems, 0
	}
	addr, ok := env[listenEnv]
	if !ok {
		addr, ok = imageEnv[listenEnv]
	}
	if !ok {
		addr = settingByEnv(listenEnv).def
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return append(problems, fmt.Sprintf("%s: %s=%q: %v", where, listenEnv, addr, err)), 0
	}
	if host == "127.0.0.1" || host == "localhost" || host == "::1" {
		problems = append(problems, fmt.Sprintf("%s: %s=%s listens on loopback only; nothing outside the container reaches it", where, listenEnv, addr))
	}
	listenPort, _ = strconv.Atoi(port)
	return problems, listenPort
}

// gracePeriod is how long a dealflow subcommand may take to stop after
// SIGTERM with env.
func gracePeriod(sub string, env map[string]string) time.Duration {
	var c Config
	for _, name := range []string{"DEALFLOW_SHUTDOWN_TIMEOUT", "DEALFLOW_DRAIN_DELAY"} {
		s := settingByEnv(name)
		v, ok := env[name]
		if !ok {
			v = s.def
		}
		_ = s.set(&c, v)
	}
	if sub == "api" {
		return c.DrainDelay + c.ShutdownTimeout
	}
	return c.ShutdownTimeout
}

// ---- Dockerfile ------------------------------------------------------------

// dockerfileImage is what the Dockerfile's final stage says about the
// image: its environment, entrypoint, default command and exposed ports.
type dockerfileImage struct {
	env        map[string]string
	user       string
	entrypoint []string
	cmd        []string
	expose     []int
}

func checkDockerfile(text string) (img dockerfileImage, problems []string) {
	problems = checkDealflowNames("Dockerfile", text)
	// Join continued lines, drop comments.
	var lines []string
	var cur strings.Builder
	for _, l := range strings.Split(text, "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "#") || (t == "" && cur.Len() == 0) {
			continue
		}
		if strings.HasSuffix(t, "\\") {
			cur.WriteString(strings.TrimSuffix(t, "\\") + " ")
			continue
		}
		cur.WriteString(t)
		lines = append(lines, cur.String())
		cur.Reset()
	}
	img.env = map[string]string{}
	stages, builds := 0, 0
	for _, l := range lines {
		instr, rest, _ := strings.Cut(l, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(instr) {
		case "FROM":
			stages++
			img = dockerfileImage{env: map[string]string{}} // only the final stage counts
		case "ENV":
			for _, kv := range strings.Fields(rest) {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					problems = append(problems, "Dockerfile: write ENV as NAME=value: "+l)
					continue
				}
				img.env[k] = strings.Trim(v, `"`)
			}
		case "ENTRYPOINT", "CMD":
			var arr []string
			if err := yaml.Unmarshal([]byte(rest), &arr); err != nil {
				problems = append(problems, fmt.Sprintf("Dockerfile: %s must be a JSON array: %s", instr, rest))
			}
			if strings.ToUpper(instr) == "ENTRYPOINT" {
				img.entrypoint = arr
			} else {
				img.cmd = arr
			}
		case "USER":
			img.user = rest
		case "EXPOSE":
			for _, p := range strings.Fields(rest) {
				n, err := strconv.Atoi(strings.TrimSuffix(p, "/tcp"))
				if err != nil {
					problems = append(problems, "Dockerfile: EXPOSE "+p)
				}
				img.expose = append(img.expose, n)
			}
		case "RUN":
			if strings.Contains(rest, "go build") {
				builds++
				if !strings.Contains(rest, "./cmd/dealflow") {
					problems = append(problems, "Dockerfile: the go build does not build ./cmd/dealflow: "+l)
				}
			}
		}
	}
	if stages < 2 || builds != 1 {
		problems = append(problems, fmt.Sprintf("Dockerfile: want a build stage and a final stage with one go build, have %d stages and %d builds", stages, builds))
	}
	if !slices.Equal(img.entrypoint, []string{"dealflow"}) {
		problems = append(problems, fmt.Sprintf("Dockerfile: ENTRYPOINT is %q, want [\"dealflow\"]", img.entrypoint))
	}
	// The manifests set runAsNonRoot, which the kubelet can verify only
	// against a numeric user.
	if uid, _, _ := strings.Cut(img.user, ":"); uid == "" || uid == "0" || strings.Trim(uid, "0123456789") != "" {
		problems = append(problems, fmt.Sprintf("Dockerfile: USER %q: want a numeric user other than root (runAsNonRoot)", img.user))
	}
	for k := range img.env {
		if settingByEnv(k) == nil {
			problems = append(problems, fmt.Sprintf("Dockerfile: ENV %s in the final image is not a dealflow setting", k))
		}
	}
	// The default command, and the listen ports of worker and api, exposed.
	p, _ := checkContainer("Dockerfile CMD", img.cmd, map[string]string{"DATABASE_URL": "postgres://set-at-run-time"}, img.env)
	problems = append(problems, p...)
	for _, sub := range []string{"api", "worker"} {
		_, port := checkContainer("Dockerfile", []string{sub}, map[string]string{"DATABASE_URL": "postgres://x"}, img.env)
		if !slices.Contains(img.expose, port) {
			problems = append(problems, fmt.Sprintf("Dockerfile: dealflow %s listens on %d, which is not in EXPOSE %v", sub, port, img.expose))
		}
	}
	return img, problems
}

func readDeployFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func dockerfileEnv(t *testing.T) map[string]string {
	t.Helper()
	img, _ := checkDockerfile(string(readDeployFile(t, "Dockerfile")))
	return img.env
}

func TestDeployDockerfile(t *testing.T) {
	t.Parallel()
	img, problems := checkDockerfile(string(readDeployFile(t, "Dockerfile")))
	for _, p := range problems {
		t.Error(p)
	}
	if len(img.cmd) == 0 {
		t.Error("Dockerfile: no CMD")
	}
	// The build context is the repository root; .dockerignore must keep
	// the sources in it.
	ignore, err := os.ReadFile("../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(ignore), "\n") {
		l = strings.TrimSpace(l)
		for _, kept := range []string{"go.mod", "go.sum", "cmd", "cmd/dealflow", "api", "activities", "workflows", "console", "deploy"} {
			if l == kept || l == kept+"/" || l == "*" {
				t.Errorf(".dockerignore leaves %s out of the build", kept)
			}
		}
	}
}

// ---- compose ---------------------------------------------------------------

// loadCompose loads a compose file the way `docker compose config` does
// (compose-go: schema validation, interpolation with the defaults in the
// file, extensions and merge keys, consistency of references).
func loadCompose(ctx context.Context, content []byte) (*types.Project, error) {
	abs, err := filepath.Abs(deployDir)
	if err != nil {
		return nil, err
	}
	return loader.LoadWithContext(ctx, types.ConfigDetails{
		WorkingDir:  abs,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(abs, "compose.yaml"), Content: content}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) { o.SetProjectName("dealflow", true) })
}

func checkCompose(ctx context.Context, content []byte, imageEnv map[string]string) []string {
	problems := checkDealflowNames("compose.yaml", string(content))
	p, err := loadCompose(ctx, content)
	if err != nil {
		return append(problems, "compose.yaml does not load: "+err.Error())
	}
	subs := map[string]int{}
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		if !slices.Contains(deployImages, s.Image) {
			continue
		}
		if s.Build == nil || filepath.Clean(s.Build.Dockerfile) != "deploy/Dockerfile" {
			problems = append(problems, fmt.Sprintf("compose service %s: built from %+v, want deploy/Dockerfile", name, s.Build))
		} else if ctxDir := s.Build.Context; filepath.Base(ctxDir) == "deploy" {
			problems = append(problems, fmt.Sprintf("compose service %s: build context %s is deploy/, want the repository root", name, ctxDir))
		}
		env := map[string]string{}
		for k, v := range s.Environment {
			env[k] = ""
			if v != nil {
				env[k] = *v
			}
		}
		where := "compose service " + name
		cp, port := checkContainer(where, s.Command, env, imageEnv)
		problems = append(problems, cp...)
		if len(s.Command) == 0 {
			continue
		}
		sub := s.Command[0]
		replicas := 1
		if s.Deploy != nil && s.Deploy.Replicas != nil {
			replicas = *s.Deploy.Replicas
		}
		subs[sub] += replicas
		if sub == "api" && !slices.ContainsFunc(s.Ports, func(pc types.ServicePortConfig) bool { return int(pc.Target) == port }) {
			problems = append(problems, fmt.Sprintf("%s: listens on %d, which is not published (%+v)", where, port, s.Ports))
		}
		if sub == "api" || sub == "worker" {
			need := gracePeriod(sub, env)
			if s.StopGracePeriod == nil || time.Duration(*s.StopGracePeriod) <= need {
				problems = append(problems, fmt.Sprintf("%s: stop_grace_period must exceed %s (drain delay + shutdown timeout), is %v", where, need, s.StopGracePeriod))
			}
		}
	}
	for _, sub := range []string{"migrate", "register-search-attributes", "api"} {
		if subs[sub] != 1 {
			problems = append(problems, fmt.Sprintf("compose: want one service running dealflow %s, have %d", sub, subs[sub]))
		}
	}
	if subs["worker"] < 2 {
		problems = append(problems, fmt.Sprintf("compose: want two workers, have %d", subs["worker"]))
	}
	return problems
}

// TestDeployCompose loads deploy/compose.yaml with the compose spec's own
// loader, as `docker compose config` does, and checks the dealflow services
// against the binary.
func TestDeployCompose(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, p := range checkCompose(ctx, readDeployFile(t, "compose.yaml"), dockerfileEnv(t)) {
		t.Error(p)
	}
	p, err := loadCompose(ctx, readDeployFile(t, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"api", "migrate", "postgres", "register-search-attributes", "temporal", "temporal-namespace", "temporal-schema", "temporal-ui", "worker"}
	if got := p.ServiceNames(); !slices.Equal(got, want) {
		t.Errorf("services %v, want %v", got, want)
	}
	// The servers' versions are the ones the tests and the benchmark run.
	for svc, image := range map[string]string{"temporal": "temporalio/server:1.29.1", "postgres": "postgres:15"} {
		if got := p.Services[svc].Image; got != image {
			t.Errorf("service %s runs %s, want %s", svc, got, image)
		}
	}
	// Where a compose client is installed, it must agree.
	if compose := composeClient(); compose != nil {
		cmd := exec.Command(compose[0], append(compose[1:], "-f", filepath.Join(deployDir, "compose.yaml"), "config", "--quiet")...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s config: %v\n%s", strings.Join(compose, " "), err, out)
		}
	} else {
		t.Log("no compose client (docker compose, or docker-compose v2) on PATH: checked with the loader only")
	}
	// The init script the postgres service mounts exists.
	if _, err := os.Stat(filepath.Join(deployDir, "compose", "postgres-init.sh")); err != nil {
		t.Error(err)
	}
}

// composeClient finds `docker compose` or a v2 `docker-compose` (v1, a
// different loader, does not count).
func composeClient() []string {
	if out, err := exec.Command("docker", "compose", "version").CombinedOutput(); err == nil && strings.Contains(string(out), "Docker Compose version") {
		return []string{"docker", "compose"}
	}
	if out, err := exec.Command("docker-compose", "version").CombinedOutput(); err == nil && strings.Contains(string(out), "Docker Compose version") {
		return []string{"docker-compose"}
	}
	return nil
}

// ---- Kubernetes --------------------------------------------------------------

// k8sObject is the part of a manifest these checks read.
type k8sObject struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Data       map[string]string `json:"data"`
	StringData map[string]string `json:"stringData"`
	Spec       struct {
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		Template struct {
			Metadata struct {
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
			Spec k8sPodSpec `json:"spec"`
		} `json:"template"`
		ScaleTargetRef struct {
			Kind string `json:"kind"`
			Name string `json:"name"`
		} `json:"scaleTargetRef"`
		Replicas    *int `json:"replicas"`
		MinReplicas *int `json:"minReplicas"`
		Ports       []struct {
			TargetPort any `json:"targetPort"`
		} `json:"ports"`
	} `json:"spec"`
}

type k8sPodSpec struct {
	TerminationGracePeriodSeconds *int           `json:"terminationGracePeriodSeconds"`
	InitContainers                []k8sContainer `json:"initContainers"`
	Containers                    []k8sContainer `json:"containers"`
}

type k8sContainer struct {
	Name    string   `json:"name"`
	Image   string   `json:"image"`
	Command []string `json:"command"`
	Args    []string `json:"args"`
	Env     []struct {
		Name      string `json:"name"`
		Value     string `json:"value"`
		ValueFrom any    `json:"valueFrom"`
	} `json:"env"`
	EnvFrom []struct {
		ConfigMapRef *struct{ Name string } `json:"configMapRef"`
		SecretRef    *struct{ Name string } `json:"secretRef"`
	} `json:"envFrom"`
	Ports []struct {
		Name          string `json:"name"`
		ContainerPort int    `json:"containerPort"`
	} `json:"ports"`
	LivenessProbe  *k8sProbe `json:"livenessProbe"`
	ReadinessProbe *k8sProbe `json:"readinessProbe"`
}

type k8sProbe struct {
	HTTPGet *struct {
		Path string `json:"path"`
		Port any    `json:"port"`
	} `json:"httpGet"`
}

var yamlDocSep = regexp.MustCompile(`(?m)^---\s*$`)

// knownKinds are the kinds deploy/k8s may hold, with their API versions.
var knownKinds = map[string]string{
	"ConfigMap": "v1", "Secret": "v1", "Service": "v1", "Job": "batch/v1", "Deployment": "apps/v1",
	"HorizontalPodAutoscaler": "autoscaling/v2", "PodDisruptionBudget": "policy/v1",
}

// k8sTypes gives each kind its Kubernetes API type, which a manifest must
// decode into strictly: a misspelt or misplaced field is an error, as
// `kubectl apply --validate=strict` would make it.
var k8sTypes = map[string]func() any{
	"ConfigMap": func() any { return &corev1.ConfigMap{} }, "Secret": func() any { return &corev1.Secret{} },
	"Service": func() any { return &corev1.Service{} }, "Job": func() any { return &batchv1.Job{} },
	"Deployment":              func() any { return &appsv1.Deployment{} },
	"HorizontalPodAutoscaler": func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"PodDisruptionBudget":     func() any { return &policyv1.PodDisruptionBudget{} },
}

// checkKubernetes checks the manifests (file name → content) that
// kustomization.yaml lists.
func checkKubernetes(files map[string][]byte, imageEnv map[string]string) []string {
	var problems []string
	var kust struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(files["kustomization.yaml"], &kust); err != nil {
		return []string{"kustomization.yaml: " + err.Error()}
	}
	for name := range files {
		if name != "kustomization.yaml" && !slices.Contains(kust.Resources, name) {
			problems = append(problems, "kustomization.yaml does not list "+name)
		}
	}
	var objs []k8sObject
	byKind := map[string]map[string]*k8sObject{}
	for _, res := range kust.Resources {
		content, ok := files[res]
		if !ok {
			problems = append(problems, "kustomization.yaml lists "+res+", which does not exist")
			continue
		}
		problems = append(problems, checkDealflowNames(res, string(content))...)
		for i, doc := range yamlDocSep.Split(string(content), -1) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			var o k8sObject
			if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
				problems = append(problems, fmt.Sprintf("%s, document %d: %v", res, i+1, err))
				continue
			}
			if v, ok := knownKinds[o.Kind]; !ok || v != o.APIVersion || o.Metadata.Name == "" {
				problems = append(problems, fmt.Sprintf("%s, document %d: %s %s %q is not a kind these manifests use, or has no name", res, i+1, o.APIVersion, o.Kind, o.Metadata.Name))
				continue
			}
			if err := yaml.UnmarshalStrict([]byte(doc), k8sTypes[o.Kind]()); err != nil {
				problems = append(problems, fmt.Sprintf("%s, %s %s: %v", res, o.Kind, o.Metadata.Name, err))
			}
			objs = append(objs, o)
		}
	}
	for i, o := range objs {
		if byKind[o.Kind] == nil {
			byKind[o.Kind] = map[string]*k8sObject{}
		}
		byKind[o.Kind][o.Metadata.Name] = &objs[i]
	}
	for _, cm := range byKind["ConfigMap"] {
		for k := range cm.Data {
			if settingByEnv(k) == nil {
				problems = append(problems, fmt.Sprintf("ConfigMap %s: %s is not a dealflow setting", cm.Metadata.Name, k))
			}
		}
	}
	for _, s := range byKind["Secret"] {
		for k := range s.StringData {
			if settingByEnv(k) == nil {
				problems = append(problems, fmt.Sprintf("Secret %s: %s is not a dealflow setting", s.Metadata.Name, k))
			}
		}
	}
	subs := map[string]string{} // subcommand → Deployment or Job
	for _, o := range objs {
		if o.Kind != "Deployment" && o.Kind != "Job" {
			continue
		}
		for k, v := range o.Spec.Selector.MatchLabels {
			if o.Spec.Template.Metadata.Labels[k] != v {
				problems = append(problems, fmt.Sprintf("%s %s: selector %s=%s does not match its pods", o.Kind, o.Metadata.Name, k, v))
			}
		}
		pod := o.Spec.Template.Spec
		for _, c := range slices.Concat(pod.InitContainers, pod.Containers) {
			where := fmt.Sprintf("%s %s, container %s", o.Kind, o.Metadata.Name, c.Name)
			if !slices.Contains(deployImages, c.Image) {
				problems = append(problems, fmt.Sprintf("%s: image %q, want dealflow (kustomization.yaml sets the tag)", where, c.Image))
				continue
			}
			if len(c.Command) > 0 {
				problems = append(problems, where+": command replaces the image's entrypoint (dealflow); give the subcommand in args")
			}
			env := map[string]string{}
			for _, ef := range c.EnvFrom {
				var src map[string]string
				switch {
				case ef.ConfigMapRef != nil && byKind["ConfigMap"][ef.ConfigMapRef.Name] != nil:
					src = byKind["ConfigMap"][ef.ConfigMapRef.Name].Data
				case ef.SecretRef != nil && byKind["Secret"][ef.SecretRef.Name] != nil:
					src = byKind["Secret"][ef.SecretRef.Name].StringData
				default:
					problems = append(problems, fmt.Sprintf("%s: envFrom names no ConfigMap or Secret of these manifests", where))
				}
				for k, v := range src {
					env[k] = v
				}
			}
			for _, e := range c.Env {
				env[e.Name] = e.Value
			}
			cp, port := checkContainer(where, c.Args, env, imageEnv)
			problems = append(problems, cp...)
			if len(c.Args) == 0 {
				continue
			}
			sub := c.Args[0]
			if prev, dup := subs[sub]; dup && (sub == "api" || sub == "worker") {
				problems = append(problems, fmt.Sprintf("%s: dealflow %s also runs in %s", where, sub, prev))
			}
			subs[sub] = o.Kind + " " + o.Metadata.Name
			if port == 0 {
				continue
			}
			if o.Kind != "Deployment" {
				problems = append(problems, fmt.Sprintf("%s: dealflow %s belongs in a Deployment", where, sub))
			}
			portName := ""
			for _, p := range c.Ports {
				if p.ContainerPort == port {
					portName = p.Name
				}
			}
			if portName == "" {
				problems = append(problems, fmt.Sprintf("%s: dealflow %s listens on %d, which is not a containerPort", where, sub, port))
			}
			for _, pr := range []struct {
				kind, path string
				probe      *k8sProbe
			}{{"liveness", "/healthz", c.LivenessProbe}, {"readiness", "/readyz", c.ReadinessProbe}} {
				if pr.probe == nil || pr.probe.HTTPGet == nil {
					problems = append(problems, fmt.Sprintf("%s: no %s probe (httpGet %s)", where, pr.kind, pr.path))
					continue
				}
				if pr.probe.HTTPGet.Path != pr.path {
					problems = append(problems, fmt.Sprintf("%s: %s probe asks %s, want %s", where, pr.kind, pr.probe.HTTPGet.Path, pr.path))
				}
				if p := fmt.Sprint(pr.probe.HTTPGet.Port); p != portName && p != strconv.Itoa(port) {
					problems = append(problems, fmt.Sprintf("%s: %s probe on port %s, but dealflow %s listens on %d (%s)", where, pr.kind, p, sub, port, portName))
				}
			}
			if sub == "api" && (o.Spec.Replicas == nil || *o.Spec.Replicas > 1) && env["DEALFLOW_SESSION_KEY"] == "" {
				problems = append(problems, where+": API replicas need one DEALFLOW_SESSION_KEY, or a console sign-in works on one of them only")
			}
			need := gracePeriod(sub, env)
			if g := pod.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second <= need {
				problems = append(problems, fmt.Sprintf("%s: terminationGracePeriodSeconds must exceed %s (drain delay + shutdown timeout)", where, need))
			}
		}
	}
	for _, sub := range []string{"migrate", "register-search-attributes", "worker", "api"} {
		if subs[sub] == "" {
			problems = append(problems, "no container runs dealflow "+sub)
		}
	}
	if w := subs["worker"]; w != "" {
		name := strings.TrimPrefix(w, "Deployment ")
		hpaFound := false
		for _, h := range byKind["HorizontalPodAutoscaler"] {
			if h.Spec.ScaleTargetRef.Kind == "Deployment" && h.Spec.ScaleTargetRef.Name == name {
				hpaFound = true
			}
		}
		if !hpaFound {
			problems = append(problems, "no HorizontalPodAutoscaler scales the worker Deployment "+name)
		}
	}
	for _, svc := range byKind["Service"] {
		api := byKind["Deployment"][strings.TrimPrefix(subs["api"], "Deployment ")]
		if api == nil {
			continue
		}
		for _, p := range svc.Spec.Ports {
			ok := false
			for _, c := range api.Spec.Template.Spec.Containers {
				for _, cp := range c.Ports {
					ok = ok || fmt.Sprint(p.TargetPort) == cp.Name || fmt.Sprint(p.TargetPort) == strconv.Itoa(cp.ContainerPort)
				}
			}
			if !ok {
				problems = append(problems, fmt.Sprintf("Service %s: targetPort %v is none of the API's ports", svc.Metadata.Name, p.TargetPort))
			}
		}
	}
	return problems
}

func k8sFiles(t *testing.T) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(deployDir, "k8s"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".yaml") {
			files[e.Name()] = readDeployFile(t, filepath.Join("k8s", e.Name()))
		}
	}
	return files
}

func TestDeployKubernetes(t *testing.T) {
	t.Parallel()
	for _, p := range checkKubernetes(k8sFiles(t), dockerfileEnv(t)) {
		t.Error(p)
	}
}

// TestDeployChecksCatchMistakes breaks a copy of each file in one way and
// expects the checks above to say so.
func TestDeployChecksCatchMistakes(t *testing.T) {
	t.Parallel()
	dockerfile := string(readDeployFile(t, "Dockerfile"))
	compose := string(readDeployFile(t, "compose.yaml"))
	k8s := k8sFiles(t)
	imageEnv := dockerfileEnv(t)

	for _, tc := range []struct {
		name, file, old, new, want string
	}{
		{"misspelt env in compose", "compose.yaml", "DEALFLOW_LISTEN: 0.0.0.0:8080", "DEALFLOW_LISTN: 0.0.0.0:8080", "DEALFLOW_LISTN is not a dealflow setting"},
		{"unknown subcommand in compose", "compose.yaml", `command: ["worker"]`, `command: ["workers"]`, `"workers" is not a dealflow subcommand`},
		{"compose schema", "compose.yaml", "stop_grace_period: 40s", "stop_grace_period: [40s]", "compose.yaml does not load"},
		{"compose unknown key", "compose.yaml", "stop_grace_period: 40s", "stop_grace: 40s", "compose.yaml does not load"},
		{"compose dependency", "compose.yaml", "      migrate:\n        condition: service_completed_successfully", "      migrat:\n        condition: service_completed_successfully", "compose.yaml does not load"},
		{"compose grace period", "compose.yaml", "stop_grace_period: 40s", "stop_grace_period: 20s", "stop_grace_period must exceed 30s"},
		{"compose API port", "compose.yaml", `"8080:8080"`, `"8080:9999"`, "listens on 8080, which is not published"},
		{"compose bad value", "compose.yaml", "DEALFLOW_SHUTDOWN_TIMEOUT: 30s", "DEALFLOW_SHUTDOWN_TIMEOUT: soon", `DEALFLOW_SHUTDOWN_TIMEOUT="soon"`},
		{"Dockerfile entrypoint", "Dockerfile", `ENTRYPOINT ["dealflow"]`, `ENTRYPOINT ["/dealflow", "-x"]`, "ENTRYPOINT is"},
		{"Dockerfile env", "Dockerfile", "DEALFLOW_LOG_FORMAT=json", "DEALFLOW_LOGFORMAT=json", "DEALFLOW_LOGFORMAT is not a dealflow setting"},
		{"Dockerfile user by name", "Dockerfile", "USER 65532:65532", "USER nonroot:nonroot", `USER "nonroot:nonroot"`},
		{"Dockerfile expose", "Dockerfile", "EXPOSE 8080 9090", "EXPOSE 8080", "listens on 9090, which is not in EXPOSE"},
		{"Dockerfile loopback", "Dockerfile", "DEALFLOW_LISTEN=0.0.0.0:8080", "DEALFLOW_LISTEN=127.0.0.1:8080", "loopback"},
		{"k8s probe path", "api.yaml", "path: /readyz", "path: /ready", "readiness probe asks /ready, want /readyz"},
		{"k8s probe port", "worker.yaml", "value: 0.0.0.0:9090", "value: 0.0.0.0:9191", "listens on 9191, which is not a containerPort"},
		{"k8s grace period", "worker.yaml", "terminationGracePeriodSeconds: 45", "terminationGracePeriodSeconds: 30", "terminationGracePeriodSeconds must exceed 30s"},
		{"k8s API grace period with drain", "api.yaml", "terminationGracePeriodSeconds: 45", "terminationGracePeriodSeconds: 32", "must exceed 35s"},
		{"k8s config key", "configmap.yaml", "DEALFLOW_TASK_QUEUE:", "DEALFLOW_QUEUE:", "DEALFLOW_QUEUE is not a dealflow setting"},
		{"k8s secret key", "secret.yaml", "DATABASE_URL:", "DB_URL:", "Secret dealflow-secrets: DB_URL is not a dealflow setting"},
		{"k8s session key", "secret.yaml", "DEALFLOW_SESSION_KEY:", "# DEALFLOW_SESSION_KEY:", "API replicas need one DEALFLOW_SESSION_KEY"},
		{"k8s job subcommand", "setup-job.yaml", `args: ["register-search-attributes"]`, `args: ["register-attributes"]`, `"register-attributes" is not a dealflow subcommand`},
		{"k8s hpa target", "worker-hpa.yaml", "name: dealflow-worker\n  minReplicas", "name: worker\n  minReplicas", "no HorizontalPodAutoscaler scales the worker"},
		{"k8s unlisted file", "kustomization.yaml", "  - pdb.yaml\n", "", "kustomization.yaml does not list pdb.yaml"},
		{"k8s service port", "api.yaml", "targetPort: http", "targetPort: web", "targetPort web is none of the API's ports"},
		{"k8s misspelt field", "api.yaml", "readinessProbe:", "readinesProbe:", `unknown field "readinesProbe"`},
		{"k8s misplaced field", "worker.yaml", "      terminationGracePeriodSeconds: 45", "      terminationGracePeriod: 45", `unknown field "terminationGracePeriod"`},
		{"k8s YAML", "worker.yaml", "replicas: 2", "replicas: [2", "worker.yaml, document 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var orig string
			switch tc.file {
			case "compose.yaml":
				orig = compose
			case "Dockerfile":
				orig = dockerfile
			default:
				orig = string(k8s[tc.file])
			}
			if !strings.Contains(orig, tc.old) {
				t.Fatalf("%s has no %q to break", tc.file, tc.old)
			}
			broken := strings.Replace(orig, tc.old, tc.new, 1)
			var problems []string
			switch tc.file {
			case "compose.yaml":
				problems = checkCompose(context.Background(), []byte(broken), imageEnv)
			case "Dockerfile":
				_, problems = checkDockerfile(broken)
			default:
				files := map[string][]byte{}
				for k, v := range k8s {
					files[k] = v
				}
				files[tc.file] = []byte(broken)
				problems = checkKubernetes(files, imageEnv)
			}
			all := strings.Join(problems, "\n")
			if !strings.Contains(all, tc.want) {
				t.Errorf("breaking %s (%q → %q) was not reported as %q; problems:\n%s", tc.file, tc.old, tc.new, tc.want, all)
			}
		})
	}
}

// TestDocsListEverySetting keeps the configuration table of
// docs/operations.md in step with the settings list.
func TestDocsListEverySetting(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings {
		row := fmt.Sprintf("| `%s` | `-%s` | ", s.env, s.flag)
		if !strings.Contains(string(b), row) {
			t.Errorf("docs/operations.md's Configuration table has no row starting %q", row)
		}
	}
}

// TestDocsLinksResolve: every relative link in README.md and docs/*.md
// names a file that exists and, with an anchor, a heading of that file
// (anchors as GitHub makes them: lower case, punctuation dropped, spaces
// to hyphens, -1, -2 … for repeats). Links inside code are not links.
func TestDocsLinksResolve(t *testing.T) {
	t.Parallel()
	docs, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	files := append([]string{"../../README.md"}, docs...)
	fence := regexp.MustCompile("(?s)```.*?```")
	code := regexp.MustCompile("`[^`\n]*`")
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	heading := regexp.MustCompile(`(?m)^#{1,6}[ \t]+(.*?)[ \t]*$`)
	punct := regexp.MustCompile(`[^\p{L}\p{N}_\- ]`)
	scheme := regexp.MustCompile(`^[a-z]+:`)
	anchors := func(path string) (map[string]bool, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		seen, out := map[string]int{}, map[string]bool{}
		for _, m := range heading.FindAllStringSubmatch(fence.ReplaceAllString(string(b), ""), -1) {
			a := strings.ReplaceAll(punct.ReplaceAllString(strings.ToLower(m[1]), ""), " ", "-")
			if n := seen[a]; n > 0 {
				out[fmt.Sprintf("%s-%d", a, n)] = true
			} else {
				out[a] = true
			}
			seen[a]++
		}
		return out, nil
	}
	checked := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := code.ReplaceAllString(fence.ReplaceAllString(string(b), ""), "")
		for _, m := range link.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if scheme.MatchString(target) {
				continue // http:, https:, mailto:
			}
			checked++
			path, anchor, _ := strings.Cut(target, "#")
			full := f
			if path != "" {
				full = filepath.Join(filepath.Dir(f), path)
			}
			if _, err := os.Stat(full); err != nil {
				t.Errorf("%s links to %s: no such file", f, target)
				continue
			}
			if anchor == "" {
				continue
			}
			as, err := anchors(full)
			if err != nil {
				t.Fatal(err)
			}
			if !as[anchor] {
				t.Errorf("%s links to %s: %s has no heading #%s", f, target, full, anchor)
			}
		}
	}
	if checked == 0 {
		t.Error("no relative links found: are the docs where this test looks?")
	}
}
