// Command strict checks Kubernetes manifests for fields the API does not
// know: each document is decoded into the API's own Go types (k8s.io/api)
// with unknown and duplicate fields refused, as `kubectl apply` with
// server-side field validation does. It complements validate.mjs, whose
// schemas check types and required fields but let unknown fields pass, so
// a misspelt field (readinesProbe) would silently do nothing.
//
//	go run . FILE...
//
// It is its own module so that the Kubernetes libraries stay out of
// nave's go.mod; only deploy's tests run it.
package main

import (
	"bytes"
	"fmt"
	"os"
	"regexp"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// kinds maps apiVersion/kind to a new object of its Go type.
var kinds = map[string]func() any{
	"apps/v1/Deployment":                     func() any { return &appsv1.Deployment{} },
	"v1/Service":                             func() any { return &corev1.Service{} },
	"v1/ConfigMap":                           func() any { return &corev1.ConfigMap{} },
	"policy/v1/PodDisruptionBudget":          func() any { return &policyv1.PodDisruptionBudget{} },
	"autoscaling/v2/HorizontalPodAutoscaler": func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
}

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

func main() {
	failed := false
	for _, file := range os.Args[1:] {
		data, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			failed = true
			continue
		}
		for i, doc := range docSep.Split(string(data), -1) {
			if err := check([]byte(doc)); err != nil {
				fmt.Fprintf(os.Stderr, "%s document %d: %v\n", file, i+1, err)
				failed = true
			}
		}
	}
	if failed {
		os.Exit(1)
	}
}

// check decodes one YAML document strictly into the type its apiVersion
// and kind name; an empty document passes.
func check(doc []byte) error {
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &meta); err != nil {
		return err
	}
	if meta.APIVersion == "" && meta.Kind == "" && len(bytes.TrimSpace(stripComments(doc))) == 0 {
		return nil
	}
	newObj, ok := kinds[meta.APIVersion+"/"+meta.Kind]
	if !ok {
		return fmt.Errorf("no Go type for %s %s here: add it to kinds", meta.APIVersion, meta.Kind)
	}
	return yaml.UnmarshalStrict(doc, newObj())
}

var comment = regexp.MustCompile(`(?m)^\s*#.*$`)

func stripComments(doc []byte) []byte { return comment.ReplaceAll(doc, nil) }
