package deploy

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// manifest is the part of the Kubernetes objects the consistency checks read.
type manifest struct {
	Kind     string
	Metadata struct{ Name string }
	Spec     struct {
		Selector struct{ MatchLabels map[string]string }
		Template struct {
			Spec struct {
				TerminationGracePeriodSeconds int
				Containers                    []struct {
					Args  []string
					Ports []struct {
						Name          string
						ContainerPort int
					}
					LivenessProbe, ReadinessProbe *probe
					Lifecycle                     struct {
						PreStop struct{ Sleep struct{ Seconds int } }
					}
				}
			}
		}
		ScaleTargetRef struct{ Kind, Name string }
		Metrics        []struct {
			Type string
			Pods struct{ Metric struct{ Name string } }
		}
	}
}

type probe struct {
	HTTPGet struct {
		Path string
		Port any
	} `json:"httpGet"`
}

// validateManifests runs the offline schema check on files and returns the
// documents it printed, or its complaint.
func validateManifests(t *testing.T, files ...string) ([]manifest, string, bool) {
	t.Helper()
	cmd := exec.Command("node", append([]string{filepath.Join("kubernetes", "check", "validate.mjs")}, files...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, stderr.String(), false
	}
	var docs []manifest
	if err := json.Unmarshal(stdout.Bytes(), &docs); err != nil {
		t.Fatalf("validate.mjs output: %v", err)
	}
	return docs, "", true
}

// TestKubernetesManifests checks deploy/kubernetes against the Kubernetes
// API schemas (offline: kubernetes-models' compiled OpenAPI schemas, see
// scripts/k8s-tools.sh) and against the API's Go types with unknown fields
// refused, then that the objects agree with each other: the
// probes ask /livez and /readyz on the metrics port, the grace period
// covers preStop, --drain-delay and --drain-timeout, the HPA scales the
// Deployment on the queue-wait metric.
func TestKubernetesManifests(t *testing.T) {
	tools := exec.Command(filepath.Join(repoRoot(t), "scripts", "k8s-tools.sh"))
	if out, err := tools.CombinedOutput(); err != nil {
		t.Fatalf("scripts/k8s-tools.sh: %v\n%s", err, out)
	}
	files, err := filepath.Glob(filepath.Join("kubernetes", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in deploy/kubernetes: %v", err)
	}
	docs, complaint, ok := validateManifests(t, files...)
	if !ok {
		t.Fatalf("schema check failed:\n%s", complaint)
	}
	if complaint, ok := strictCheck(t, files...); !ok {
		t.Fatalf("strict check (unknown fields) failed:\n%s", complaint)
	}
	byKind := map[string]manifest{}
	for _, d := range docs {
		byKind[d.Kind] = d
	}
	for _, k := range []string{"Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"} {
		if _, ok := byKind[k]; !ok {
			t.Errorf("no %s in deploy/kubernetes", k)
		}
	}
	dep := byKind["Deployment"]
	pod := dep.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("Deployment: got %d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	for _, p := range []struct {
		name  string
		probe *probe
		path  string
	}{{"livenessProbe", c.LivenessProbe, "/livez"}, {"readinessProbe", c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port != "metrics" {
			t.Errorf("%s: got %+v, want GET %s on port metrics", p.name, p.probe, p.path)
		}
	}
	drain := time.Duration(c.Lifecycle.PreStop.Sleep.Seconds)*time.Second +
		durationFlag(t, c.Args, "drain-delay") + durationFlag(t, c.Args, "drain-timeout")
	if grace := time.Duration(pod.TerminationGracePeriodSeconds) * time.Second; grace <= drain {
		t.Errorf("terminationGracePeriodSeconds %v does not cover preStop + drain (%v)", grace, drain)
	}
	hpa := byKind["HorizontalPodAutoscaler"]
	if r := hpa.Spec.ScaleTargetRef; r.Kind != "Deployment" || r.Name != dep.Metadata.Name {
		t.Errorf("HPA scales %s/%s, want Deployment/%s", r.Kind, r.Name, dep.Metadata.Name)
	}
	if m := hpa.Spec.Metrics; len(m) != 1 || m[0].Type != "Pods" || !strings.Contains(m[0].Pods.Metric.Name, "queue_wait") {
		t.Errorf("HPA metrics: got %+v, want one Pods metric on the queue wait", m)
	}

	// The check can fail: a port given as a string is refused.
	data, err := os.ReadFile(filepath.Join("kubernetes", "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	broken := strings.Replace(string(data), "containerPort: 8000", `containerPort: "8000"`, 1)
	if err := os.WriteFile(bad, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, complaint, ok := validateManifests(t, bad); ok || !strings.Contains(complaint, "containerPort") {
		t.Fatalf("schema check of a string containerPort: got ok=%v %q, want a complaint naming containerPort", ok, complaint)
	}
	// And a misspelt field, which the schemas let pass, is refused.
	typo := strings.Replace(string(data), "readinessProbe:", "readinesProbe:", 1)
	if err := os.WriteFile(bad, []byte(typo), 0o644); err != nil {
		t.Fatal(err)
	}
	if complaint, ok := strictCheck(t, bad); ok || !strings.Contains(complaint, "readinesProbe") {
		t.Fatalf("strict check of a misspelt field: got ok=%v %q, want a complaint naming readinesProbe", ok, complaint)
	}
}

// strictCheck decodes files into the Kubernetes API's Go types with
// unknown fields refused (deploy/kubernetes/check/strict), and returns its
// complaint.
func strictCheck(t *testing.T, files ...string) (string, bool) {
	t.Helper()
	abs := make([]string, len(files))
	for i, f := range files {
		var err error
		if abs[i], err = filepath.Abs(f); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", append([]string{"run", "."}, abs...)...)
	cmd.Dir = filepath.Join("kubernetes", "check", "strict")
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}
