package static

import "testing"

func TestTypeOf(t *testing.T) {
	types := mediaTypes()
	tests := []struct{ name, want string }{
		{"index.html", "text/html; charset=utf-8"},
		{"a/b/STYLE.CSS", "text/css; charset=utf-8"},
		{"app.mjs", "text/javascript; charset=utf-8"},
		{"data.json", "application/json"},
		{"logo.svg", "image/svg+xml"},
		{"photo.JPG", "image/jpeg"},
		{"font.woff2", "font/woff2"},
		{"module.wasm", "application/wasm"},
		{"archive.tar.gz", "application/gzip"},
		{"README", "application/octet-stream"},
		{"dir.d/README", "application/octet-stream"},
		{"trailing.", "application/octet-stream"},
		{"x.averyveryverylongextension", "application/octet-stream"},
	}
	for _, tt := range tests {
		if got := typeOf(types, tt.name).value; got != tt.want {
			t.Errorf("typeOf(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	if !typeOf(types, "a.js").compressible || typeOf(types, "a.png").compressible {
		t.Error("compressible: want js yes, png no")
	}
	for ext, mt := range types {
		if mt.value == "" || ext == "" {
			t.Errorf("empty entry %q: %q", ext, mt.value)
		}
	}
}
