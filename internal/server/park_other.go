//go:build !linux

package server

import "errors"

// parker is Linux-only; elsewhere idle connections keep their goroutine.
type parker struct{}

func newParker() (*parker, error) { return nil, errors.New("server: parking needs epoll") }

func (p *parker) park(*conn) bool                 { return false }
func (p *parker) run(func(*conn))                 {}
func (p *parker) takeIf(func(*conn) bool) []*conn { return nil }
func (p *parker) count() int                      { return 0 }
func (p *parker) close() []*conn                  { return nil }
