package proxy

import (
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"nave/internal/web"
)

// balancer chooses a server for each request. Its tables are built once
// and read-only after, so that choosing takes no lock.
type balancer struct {
	servers   []*server
	method    Balance
	slowStart time.Duration
	// order is a smooth weighted round-robin sequence of server indexes
	// (nginx's: weights 5,1,1 give a a b a c a a), walked by next.
	order []int
	// ring holds each server's points for consistent hashing, sorted.
	ring    []point
	hashKey string // "" for the client address, else a header or cookie name
	cookie  bool
}

type point struct {
	hash uint64
	idx  int
}

// pointsPerWeight is how many ring points one unit of weight gets:
// enough that removing one of a few servers moves ~1/n of the keys.
const pointsPerWeight = 160

func newBalancer(servers []*server, method Balance, hashKey string, slowStart time.Duration) *balancer {
	b := &balancer{servers: servers, method: method, slowStart: slowStart}
	b.order = smoothOrder(servers)
	switch {
	case len(hashKey) > 7 && hashKey[:7] == "header:":
		b.hashKey = hashKey[7:]
	case len(hashKey) > 7 && hashKey[:7] == "cookie:":
		b.hashKey, b.cookie = hashKey[7:], true
	}
	if method == Hash {
		for i, s := range servers {
			for p := range pointsPerWeight * s.weight {
				h := fnv.New64a()
				h.Write([]byte(s.addr + "#" + strconv.Itoa(p)))
				b.ring = append(b.ring, point{mix(h.Sum64()), i})
			}
		}
		slices.SortFunc(b.ring, func(x, y point) int {
			switch {
			case x.hash < y.hash:
				return -1
			case x.hash > y.hash:
				return 1
			}
			return x.idx - y.idx
		})
	}
	return b
}

// smoothOrder is one period of nginx's smooth weighted round robin.
func smoothOrder(servers []*server) []int {
	total := 0
	for _, s := range servers {
		total += s.weight
	}
	current := make([]int, len(servers))
	order := make([]int, 0, total)
	for range total {
		best := 0
		for i, s := range servers {
			current[i] += s.weight
			if current[i] > current[best] {
				best = i
			}
		}
		current[best] -= total
		order = append(order, best)
	}
	return order
}

// pick chooses a server not in tried (a bit per index), preferring
// available ones; with none available it picks any untried one, since
// trying beats refusing. It returns -1 when every server was tried.
func (b *balancer) pick(r *web.Request, tried uint64, seq uint64, now int64) int {
	var i int
	switch b.method {
	case LeastConn:
		i = b.leastConn(tried, seq, now)
	case Random2:
		i = b.random2(tried, now)
	case Hash:
		i = b.hash(r, tried, now)
	default:
		i = b.roundRobin(tried, seq, now)
	}
	if i >= 0 {
		return i
	}
	for j := range b.servers {
		if tried&bit(j) == 0 {
			return j
		}
	}
	return -1
}

func bit(i int) uint64 {
	if i >= 64 {
		return 0 // past 64 servers, retries may repeat one
	}
	return 1 << i
}

// usable reports whether server i may be chosen; a server being eased in
// is passed over with the probability of the share it has not got yet.
func (b *balancer) usable(i int, tried uint64, now int64) bool {
	s := b.servers[i]
	if tried&bit(i) != 0 || !s.available(now) {
		return false
	}
	if f := s.share(now, b.slowStart); f < 1 && rand.Float64() > f {
		return false
	}
	return true
}

func (b *balancer) roundRobin(tried, seq uint64, now int64) int {
	n := uint64(len(b.order))
	for k := range n {
		if i := b.order[(seq+k)%n]; b.usable(i, tried, now) {
			return i
		}
	}
	return -1
}

// load is s's requests in flight per unit of its current share.
func (b *balancer) load(i int, now int64) float64 {
	s := b.servers[i]
	return float64(s.inflight.Load()+1) / (float64(s.weight) * s.share(now, b.slowStart))
}

func (b *balancer) leastConn(tried, seq uint64, now int64) int {
	best, bestLoad := -1, 0.0
	n := len(b.servers)
	for k := range n {
		i := int((seq + uint64(k)) % uint64(n)) // ties go round
		s := b.servers[i]
		if tried&bit(i) != 0 || !s.available(now) {
			continue
		}
		if l := b.load(i, now); best < 0 || l < bestLoad {
			best, bestLoad = i, l
		}
	}
	return best
}

// random2 draws two servers by weight and takes the less loaded (the
// power of two choices).
func (b *balancer) random2(tried uint64, now int64) int {
	n := len(b.order)
	best := -1
	for range 2 * 4 { // a few draws to find two usable servers
		i := b.order[rand.IntN(n)]
		if tried&bit(i) != 0 || !b.servers[i].available(now) || i == best {
			continue
		}
		if best < 0 {
			best = i
			continue
		}
		if b.load(i, now) < b.load(best, now) {
			best = i
		}
		return best
	}
	if best < 0 {
		return b.leastConn(tried, 0, now)
	}
	return best
}

// hash walks the ring from the request's key to the first usable server.
func (b *balancer) hash(r *web.Request, tried uint64, now int64) int {
	key := b.key(r)
	lo, hi := 0, len(b.ring)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if b.ring[m].hash < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	for k := range b.ring {
		p := b.ring[(lo+k)%len(b.ring)]
		if tried&bit(p.idx) == 0 && b.servers[p.idx].available(now) {
			return p.idx
		}
	}
	return -1
}

// key hashes the request's hash key (FNV-1a, then mixed).
func (b *balancer) key(r *web.Request) uint64 {
	h := uint64(14695981039346656037)
	add := func(p []byte) {
		for _, c := range p {
			h ^= uint64(c)
			h *= 1099511628211
		}
	}
	switch {
	case b.hashKey == "":
		a := r.RemoteAddr.Addr().As16()
		add(a[:])
	case b.cookie:
		for v := range r.Header.Values("Cookie") {
			if c := cookieValue(v, b.hashKey); c != nil {
				add(c)
				break
			}
		}
	default:
		add(r.Header.Get(b.hashKey))
	}
	return mix(h)
}

// mix spreads a hash's bits (the finaliser of MurmurHash3), so that close
// keys land far apart on the ring.
func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	return h ^ h>>33
}

// cookieValue finds name's value in a Cookie field (RFC 6265 §4.2.1:
// "a=1; b=2").
func cookieValue(v []byte, name string) []byte {
	for len(v) > 0 {
		end := 0
		for end < len(v) && v[end] != ';' {
			end++
		}
		pair := web.TrimOWS(v[:end])
		if len(pair) > len(name) && pair[len(name)] == '=' && string(pair[:len(name)]) == name {
			return pair[len(name)+1:]
		}
		if end == len(v) {
			break
		}
		v = v[end+1:]
	}
	return nil
}
