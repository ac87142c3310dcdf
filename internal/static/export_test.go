package static

import "time"

// SetRacyWindow changes how long after its last change a file's content
// is kept out of the cache: tests set 0 to cache files they just wrote.
func SetRacyWindow(h *Handler, d time.Duration) { h.racyWindow = d }

// CacheStats reports the cache's entries and bytes.
func CacheStats(h *Handler) (entries int, bytes int64) { return h.cache.stats() }

// Dir is the folder h serves.
func Dir(h *Handler) string { return h.dir.dir }

// ExpireChecks makes every cached entry due for its next check, as if
// CacheValid had passed since each was last checked.
func ExpireChecks(h *Handler) {
	h.cache.mu.RLock()
	defer h.cache.mu.RUnlock()
	for _, e := range h.cache.m {
		e.checked.Store(0)
	}
}
