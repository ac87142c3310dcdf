// Package metrics counts what the server does and renders it for
// Prometheus: the text exposition format 0.0.4, and OpenMetrics 1.0.0
// when the scraper asks for it.
//
// It imports web and the standard library only, and no other nave
// package: the server and the gateways import it.
package metrics
