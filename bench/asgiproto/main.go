//go:build ignore

// Serves one ASGI app with the prototype gateway (internal/asgi), for wrk.
//
//	go run bench/asgiproto/main.go -app hello:app -dir internal/asgi/testdata/apps -addr 127.0.0.1:8200
//
// It prints "ready PID WORKER_PID" once the worker is up, and stops on
// SIGINT or SIGTERM. Adapter switches go in the environment (NAVE_ASGI_*,
// see adapter.py); -nobatch and -noyield are Config.Experiment's.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"nave/internal/asgi"
	"nave/internal/server"
	"nave/internal/web"
)

func main() {
	app := flag.String("app", "hello:app", "module:callable")
	dir := flag.String("dir", ".", "the app's folder")
	addr := flag.String("addr", "127.0.0.1:8200", "listen address")
	python := flag.String("python", "/usr/bin/python3", "interpreter")
	noBatch := flag.Bool("nobatch", false, "write each request to the worker at once")
	noYield := flag.Bool("noyield", false, "the writer does not yield before a batch")
	cpuprofile := flag.String("cpuprofile", "", "write a Go CPU profile here")
	floor := flag.Bool("floor", false, "answer from Go, without the worker: the HTTP side's floor")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h := asgi.New(asgi.Config{App: *app, Dir: *dir, Python: *python, Logger: log, Workers: 1,
		Experiment: asgi.Experiment{NoBatch: *noBatch, NoYield: *noYield}})
	if err := h.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if se, ok := err.(*asgi.StartError); ok {
			fmt.Fprintln(os.Stderr, se.Output)
		}
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	var handler web.Handler = h
	if *floor {
		handler = web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) {
			w.Header().Set("content-type", "text/plain")
			w.Header().Set("content-length", "13")
			w.WriteString("Hello, World!")
		})
	}
	srv := server.New(server.Config{Handler: handler, Logger: log})
	go srv.Serve(ln)
	fmt.Printf("ready %d %d\n", os.Getpid(), h.Pids()[0])
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
	h.Stop(ctx)
}
